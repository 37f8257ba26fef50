package com.cdcexport.export.capture.logical;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import com.zaxxer.hikari.HikariDataSource;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.postgresql.PGConnection;
import org.postgresql.PGProperty;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.export.capture.CapturedTables;
import com.cdcexport.export.capture.LogicalSlot;
import com.cdcexport.sql.SqlText;

/**
 * Log-based capture: one instance at a time (the holder of a session advisory lock; another takes over when that
 * session ends) reads the replication slot with PgJDBC's replication API and writes what it decodes into the
 * change log in batches, each in one transaction with the decoder's progress; the slot is confirmed only after that
 * commit. The argument is in docs/capture.md ("Log-based capture").
 */
@Component
public class LogicalDecoder implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(LogicalDecoder.class);
    /** The prefix of the WAL markers exports write after taking their snapshot. */
    public static final String MARKER_PREFIX = "cdc_export";
    /** A batch is written at the latest this long after its first change arrived. */
    private static final long BATCH_MILLIS = 20;
    /** How often an idle decoder confirms the server's position to the slot. */
    private static final long IDLE_CONFIRM_MILLIS = 1000;
    /** Idle confirmations between two looks at whether the slot is still needed. */
    private static final int MAINTENANCE_ROUNDS = 10;
    /** How often an instance that does not decode asks for the leadership. */
    private static final long FOLLOWER_POLL_MILLIS = 1000;

    private final CapturedTables tables;
    private final HikariDataSource dataSource;
    private final String schema;
    private final int batchSize;
    private final String leaderName;
    private volatile boolean running;
    private volatile boolean leading;
    private volatile Connection session;
    private volatile Connection replication;
    private Thread thread;

    public LogicalDecoder(CapturedTables tables, HikariDataSource dataSource, CdcProperties properties,
                          MeterRegistry registry) {
        this.tables = tables;
        this.dataSource = dataSource;
        this.schema = properties.schema();
        this.batchSize = properties.logical().batchSize();
        this.leaderName = hostname() + "/" + ProcessHandle.current().pid();
        Gauge.builder("cdc.capture.logical.leader", () -> leading ? 1 : 0)
                .description("1 while this instance decodes the WAL for log-based capture").register(registry);
    }

    /** Whether this instance decodes now. */
    public boolean leading() {
        return leading;
    }

    @Override
    public synchronized void start() {
        if (running || !tables.decoderNeeded()) {
            return;
        }
        running = true;
        thread = new Thread(this::run, "cdc-logical-decoder");
        thread.setDaemon(true);
        thread.start();
    }

    @Override
    public synchronized void stop() {
        running = false;
        if (thread == null) {
            return;
        }
        thread.interrupt();
        closeQuietly(replication);
        closeQuietly(session);
        try {
            thread.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        thread = null;
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    /** Stops before the data source closes and after the export workers (which wait for the decoder) stopped. */
    @Override
    public int getPhase() {
        return Integer.MAX_VALUE - 2048;
    }

    private void run() {
        long backoff = FOLLOWER_POLL_MILLIS;
        while (running) {
            try {
                if (lead()) {
                    backoff = FOLLOWER_POLL_MILLIS;
                }
            } catch (Exception e) {
                if (!running) {
                    break;
                }
                log.warn("Log-based capture interrupted, retrying in {} ms: {}", backoff, e.toString());
                log.debug("Log-based capture interrupted", e);
                backoff = Math.min(backoff * 2, 10_000);
            } finally {
                leading = false;
                closeQuietly(replication);
                closeQuietly(session);
            }
            sleep(backoff);
        }
    }

    /** @return false when another instance leads */
    private boolean lead() throws SQLException, InterruptedException {
        session = connect(false);
        try (Statement statement = session.createStatement()) {
            statement.execute("SET TIME ZONE 'UTC'");
            ResultSet locked = statement.executeQuery("SELECT pg_try_advisory_lock(hashtext('" + schema
                    + ".logical-decoder'))");
            locked.next();
            if (!locked.getBoolean(1)) {
                return false;
            }
        }
        leading = true;
        LogicalSlot slot = tables.slot();
        long applied = recoverIfInvalidated(slot);
        replication = connect(true);
        if (slot.lacksFailover()) {
            // Needs the slot not in use: here, before this leader streams from it (a previous leader's walsender
            // still holding it fails this round, retried as any other).
            try (Statement alter = replication.createStatement()) {
                alter.execute(String.format(Locale.ROOT, LogicalSlot.FAILOVER_COMMAND, SqlText.identifier(slot.name())));
            }
            log.info("Gave the replication slot {} failover: a standby with sync_replication_slots = on now keeps a "
                    + "copy of it that survives its promotion", slot.name());
        }
        PGReplicationStream stream = replication.unwrap(PGConnection.class).getReplicationAPI().replicationStream()
                .logical().withSlotName(slot.name()).withStartPosition(LogSequenceNumber.valueOf(applied))
                .withSlotOption("proto_version", "1").withSlotOption("publication_names", slot.name())
                .withSlotOption("messages", "true").withStatusInterval(1, TimeUnit.SECONDS).start();
        log.info("Decoding the WAL for log-based capture from slot {} (this instance leads)", slot.name());
        decode(stream, slot.name(), applied);
        return true;
    }

    private void decode(PGReplicationStream stream, String slot, long applied) throws SQLException,
            InterruptedException {
        Map<Integer, PgOutput.Relation> relations = new HashMap<>();
        Map<Integer, List<String>> keys = new HashMap<>();
        ChangeLogBatch batch = new ChangeLogBatch(schema, applied);
        long confirmed = applied;
        long firstPending = 0;
        long open = -1;
        long idleSince = System.currentTimeMillis();
        long idleRounds = 0;
        long openXid = 0;
        long openMicros = 0;
        List<ChangeLogBatch.SourceTransaction.Entry> entries = ChangeLogBatch.SourceTransaction.newEntries();
        while (running) {
            ByteBuffer buffer = stream.readPending();
            if (buffer == null) {
                if (open < 0 && batch.pending(confirmed)
                        && (batch.size() == 0 || System.currentTimeMillis() - firstPending >= BATCH_MILLIS)) {
                    confirmed = write(batch, stream, slot);
                } else if (open < 0 && !batch.pending(confirmed)
                        && System.currentTimeMillis() - idleSince >= IDLE_CONFIRM_MILLIS) {
                    // Idle: every transaction before the server's position was received and written, so the slot
                    // may move on and stop retaining the WAL that other tables' writes (and ours) produce.
                    idleSince = System.currentTimeMillis();
                    LogSequenceNumber received = stream.getLastReceiveLSN();
                    if (received.asLong() > confirmed) {
                        stream.setAppliedLSN(received);
                        stream.setFlushedLSN(received);
                        confirmed = received.asLong();
                    }
                    if (++idleRounds % MAINTENANCE_ROUNDS == 0 && maintain(batch, stream, slot, confirmed)) {
                        return;
                    }
                }
                Thread.sleep(2);
                continue;
            }
            PgOutput.Message message = PgOutput.read(buffer);
            if (message instanceof PgOutput.Begin begin) {
                open = begin.finalLsn();
                openXid = begin.xid();
                openMicros = begin.commitMicros();
                entries = ChangeLogBatch.SourceTransaction.newEntries();
            } else if (message instanceof PgOutput.Relation relation) {
                // Sent before a relation's first change in this stream and again after its columns changed.
                relations.put(relation.relid(), relation);
                keys.put(relation.relid(), ChangeLogBatch.keyNames(session, schema, relation.relid()));
                batch.forget(relation.relid());
            } else if (message instanceof PgOutput.Change change) {
                entries.add(new ChangeLogBatch.SourceTransaction.Entry(change.op(), change.relid(),
                        relations.get(change.relid()), change.old(), change.current()));
            } else if (message instanceof PgOutput.Truncate truncate) {
                for (int relid : truncate.relids()) {
                    entries.add(new ChangeLogBatch.SourceTransaction.Entry('T', relid, relations.get(relid), null,
                            null));
                }
            } else if (message instanceof PgOutput.Commit commit) {
                if (batch.size() == 0) {
                    firstPending = System.currentTimeMillis();
                }
                batch.add(new ChangeLogBatch.SourceTransaction(openXid, commit.commitLsn(), commit.endLsn(),
                        openMicros, entries), keys);
                open = -1;
                if (batch.size() >= batchSize) {
                    confirmed = write(batch, stream, slot);
                }
            } else if (message instanceof PgOutput.Marker marker && marker.prefix().equals(MARKER_PREFIX)) {
                // Every transaction an export's snapshot sees was decoded before its marker: write them now.
                batch.passed(marker.lsn());
                confirmed = write(batch, stream, slot);
            }
        }
    }

    /** Every ten idle seconds: lets a switch back to triggers see its boundary passed, or retires the slot. */
    private boolean maintain(ChangeLogBatch batch, PGReplicationStream stream, String slotName, long confirmed)
            throws SQLException {
        String s = SqlText.identifier(schema);
        boolean switchBackPending;
        boolean anyLogical;
        try (PreparedStatement state = session.prepareStatement("SELECT EXISTS (SELECT 1 FROM " + s
                + ".captured_tables c, " + s + ".logical_capture l WHERE l.slot_name = ? AND c.logical_until "
                + "IS NOT NULL AND c.logical_until > l.applied_lsn), EXISTS (SELECT 1 FROM " + s
                + ".captured_tables WHERE capture_mode = 'logical')")) {
            state.setString(1, slotName);
            try (ResultSet rs = state.executeQuery()) {
                rs.next();
                switchBackPending = rs.getBoolean(1);
                anyLogical = rs.getBoolean(2);
            }
        }
        if (switchBackPending && confirmed > batch.appliedLsn()) {
            // A table switched back to triggers waits for this progress to pass its boundary; the slot is retired
            // at a later round, once nothing waits for it any more.
            batch.passed(confirmed);
            write(batch, stream, slotName);
            return false;
        }
        return !switchBackPending && !anyLogical && retire(stream, slotName);
    }

    /**
     * Once no table is captured from the WAL any more and the decoder has passed every table's switch back to
     * triggers, the slot would only keep the server's WAL: it and the publication are dropped, and decoding stops.
     */
    private boolean retire(PGReplicationStream stream, String slot) throws SQLException {
        String s = SqlText.identifier(schema);
        stream.close();
        closeQuietly(replication);
        session.setAutoCommit(true);
        try (PreparedStatement drop = session.prepareStatement("SELECT pg_drop_replication_slot(slot_name) "
                + "FROM pg_replication_slots WHERE slot_name = ?");
             PreparedStatement forget = session.prepareStatement("DELETE FROM " + s + ".logical_capture "
                     + "WHERE slot_name = ?");
             Statement statement = session.createStatement()) {
            drop.setString(1, slot);
            // The walsender may take a moment to release the slot after its connection closed.
            for (int attempt = 0; ; attempt++) {
                try {
                    drop.execute();
                    break;
                } catch (SQLException e) {
                    if (attempt >= 50) {
                        throw e;
                    }
                    Thread.sleep(100);
                }
            }
            statement.execute("DROP PUBLICATION IF EXISTS " + SqlText.identifier(slot));
            forget.setString(1, slot);
            forget.executeUpdate();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return true;
        }
        log.info("No table is captured from the WAL any more: dropped the replication slot and publication {}", slot);
        running = false;
        return true;
    }

    /** Writes the batch with the progress, then (only then) confirms its position to the slot. */
    private long write(ChangeLogBatch batch, PGReplicationStream stream, String slot) throws SQLException {
        batch.write(session, slot, leaderName);
        LogSequenceNumber applied = LogSequenceNumber.valueOf(batch.appliedLsn());
        stream.setAppliedLSN(applied);
        stream.setFlushedLSN(applied);
        return batch.appliedLsn();
    }

    /**
     * The position to decode from. A slot the server invalidated (max_slot_wal_keep_size) lost changes nobody
     * decoded: it is created again, and a truncate marker on every logically captured table makes each consumer's
     * next incremental or delta export of it ask for a full export, never a silent gap.
     */
    private long recoverIfInvalidated(LogicalSlot slot) throws SQLException {
        if (slot.invalidated() || !slot.slotExists()) {
            log.error("The replication slot {} was invalidated or dropped: changes since the decoder's last position "
                    + "are lost to capture; consumers of the logically captured tables must run a full export",
                    slot.name());
            if (slot.slotExists()) {
                try (PreparedStatement drop = session.prepareStatement("SELECT pg_drop_replication_slot(?)")) {
                    drop.setString(1, slot.name());
                    drop.execute();
                }
            }
            slot.recreate();
            session.setAutoCommit(false);
            String s = SqlText.identifier(schema);
            try (Statement markers = session.createStatement();
                 PreparedStatement progress = session.prepareStatement("UPDATE " + s + ".logical_capture SET "
                         + "applied_lsn = (SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = ?) "
                         + "WHERE slot_name = ?")) {
                markers.executeUpdate("INSERT INTO " + s + ".change_log (table_oid, op, key) SELECT relid, 'T', '[]' "
                        + "FROM " + s + ".captured_tables WHERE capture_mode = 'logical'");
                progress.setString(1, slot.name());
                progress.setString(2, slot.name());
                progress.executeUpdate();
            }
            session.commit();
            session.setAutoCommit(true);
        }
        try (PreparedStatement applied = session.prepareStatement("SELECT applied_lsn::text FROM "
                + SqlText.identifier(schema) + ".logical_capture WHERE slot_name = ?")) {
            applied.setString(1, slot.name());
            try (ResultSet rs = applied.executeQuery()) {
                if (!rs.next()) {
                    throw new IllegalStateException("No progress row for the slot " + slot.name());
                }
                return LogSequenceNumber.valueOf(rs.getString(1)).asLong();
            }
        }
    }

    /** A connection of its own (not the pool's): it holds the leadership for as long as it lives. */
    private Connection connect(boolean forReplication) throws SQLException {
        Properties properties = new Properties();
        if (dataSource.getUsername() != null) {
            properties.setProperty("user", dataSource.getUsername());
        }
        if (dataSource.getPassword() != null) {
            properties.setProperty("password", dataSource.getPassword());
        }
        PGProperty.APPLICATION_NAME.set(properties, "cdc-export logical decoder");
        if (forReplication) {
            PGProperty.REPLICATION.set(properties, "database");
            PGProperty.ASSUME_MIN_SERVER_VERSION.set(properties, "10");
            PGProperty.PREFER_QUERY_MODE.set(properties, "simple");
        }
        return DriverManager.getConnection(dataSource.getJdbcUrl(), properties);
    }

    private static void closeQuietly(Connection connection) {
        if (connection == null) {
            return;
        }
        try {
            connection.close();
        } catch (SQLException ignored) {
            // closing after a failure: the server ends the session either way
        }
    }

    private void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            running = false;
        }
    }

    private static String hostname() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "localhost";
        }
    }
}
