package com.cdcexport.export.capture;

import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.dao.DataAccessException;
import org.springframework.jdbc.core.simple.JdbcClient;

import com.cdcexport.config.InvalidSettingException;
import com.cdcexport.export.model.TableName;
import com.cdcexport.sql.SqlText;

/**
 * The server-side objects of log-based capture, all named after the slot: the replication slot (pgoutput), the
 * publication of the logically captured tables, and the decoder's progress row. Checks what the server must allow
 * before anything is created, so a missing setting or privilege is one start-up line naming what to change.
 */
public class LogicalSlot {

    /**
     * The replication command (PostgreSQL 17; no SQL function does it) that gives an existing slot {@code failover}.
     */
    public static final String FAILOVER_COMMAND = "ALTER_REPLICATION_SLOT %s ( FAILOVER true )";

    private static final Logger log = LoggerFactory.getLogger(LogicalSlot.class);

    private final JdbcClient jdbc;
    private final String name;

    LogicalSlot(JdbcClient jdbc, String name) {
        this.jdbc = jdbc;
        this.name = name;
    }

    /** The slot's name, which the publication shares. */
    public String name() {
        return name;
    }

    /**
     * Checks the server and creates the slot and the publication when missing. Runs outside any transaction: a
     * logical slot is created at a point no running transaction with an xid precedes, so its creation waits for
     * those to end, the service's own included.
     */
    void prepare() {
        String walLevel = jdbc.sql("SHOW wal_level").query(String.class).single();
        if (!walLevel.equals("logical")) {
            throw new InvalidSettingException("CAPTURE_MODE=logical needs wal_level=logical on the database server "
                    + "(it is " + walLevel + "): ALTER SYSTEM SET wal_level = logical, then restart PostgreSQL; or "
                    + "capture these tables with triggers (CAPTURE_MODE=trigger)");
        }
        String role = jdbc.sql("SELECT current_user").query(String.class).single();
        boolean replication = jdbc.sql("SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user")
                .query(Boolean.class).single();
        if (!replication) {
            throw new InvalidSettingException("CAPTURE_MODE=logical needs the REPLICATION attribute for the service's "
                    + "database role: ALTER ROLE " + SqlText.identifier(role) + " REPLICATION");
        }
        if (!jdbc.sql("SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = :name)").param("name", name)
                .query(Boolean.class).single()) {
            try {
                jdbc.sql("CREATE PUBLICATION " + SqlText.identifier(name)).update();
                log.info("Created the publication {} for log-based capture", name);
            } catch (DataAccessException e) {
                if (!"42710".equals(sqlState(e))) {
                    String database = jdbc.sql("SELECT current_database()").query(String.class).single();
                    throw problem(e, "create the publication " + name, "GRANT CREATE ON DATABASE "
                            + SqlText.identifier(database) + " TO " + SqlText.identifier(role)
                            + ", or have a DBA run CREATE PUBLICATION " + name);
                }
            }
        }
        // A progress row without its slot: the slot was there and is gone (dropped, or this server is a promoted
        // standby that had no copy of it). Created here, it would start at today's position and the decoder would
        // go on from its old one as if nothing were missing; the decoder's recovery creates it instead, with the
        // truncate markers that make every consumer of the logical tables take a full export.
        boolean decodedBefore = jdbc.sql("SELECT EXISTS (SELECT 1 FROM logical_capture WHERE slot_name = :name)")
                .param("name", name).query(Boolean.class).single();
        if (!decodedBefore && !slotExists()) {
            create();
        }
        jdbc.sql("""
                INSERT INTO logical_capture (slot_name, publication, applied_lsn, applied_at)
                VALUES (:slot, :slot, '0/0', now()) ON CONFLICT (slot_name) DO NOTHING""").param("slot", name).update();
    }

    public boolean slotExists() {
        return jdbc.sql("SELECT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = :name)")
                .param("name", name).query(Boolean.class).single();
    }

    /**
     * Creates the slot; on PostgreSQL 17 and later with {@code failover}, so that it survives a promotion of a
     * standby that synchronises slots. Another instance creating it at the same moment is no failure.
     */
    public void recreate() {
        create();
    }

    private void create() {
        int version = jdbc.sql("SHOW server_version_num").query(Integer.class).single();
        String call = version >= 170000
                ? "SELECT lsn::text FROM pg_create_logical_replication_slot(:name, 'pgoutput', false, false, true)"
                : "SELECT lsn::text FROM pg_create_logical_replication_slot(:name, 'pgoutput')";
        try {
            String at = jdbc.sql(call).param("name", name).query(String.class).single();
            log.info("Created the replication slot {} (pgoutput) at {}", name, at);
        } catch (DataAccessException e) {
            if (!"42710".equals(sqlState(e))) {
                throw problem(e, "create the replication slot " + name, "raise max_replication_slots on the server "
                        + "or drop an unused slot");
            }
        }
    }

    /**
     * Whether the slot lacks {@code failover} on a server that has it (PostgreSQL 17 and later): a slot created by
     * an earlier version of the service, by hand, or on a server since upgraded. A standby does not synchronise
     * such a slot, so a promotion would lose it; {@link #FAILOVER_COMMAND} on a replication connection sets it.
     */
    public boolean lacksFailover() {
        int version = jdbc.sql("SHOW server_version_num").query(Integer.class).single();
        return version >= 170000 && jdbc.sql("SELECT NOT failover FROM pg_replication_slots WHERE slot_name = :name")
                .param("name", name).query(Boolean.class).optional().orElse(false);
    }

    /** Adds a table to the publication, inside the transaction that switches it to log-based capture. */
    void publish(TableName table, long relid, String role) {
        boolean member = jdbc.sql("""
                SELECT EXISTS (SELECT 1 FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid
                                WHERE p.pubname = :name AND r.prrelid = :relid::oid)""")
                .param("name", name).param("relid", relid).query(Boolean.class).single();
        if (member) {
            return;
        }
        try {
            jdbc.sql("ALTER PUBLICATION " + SqlText.identifier(name) + " ADD TABLE " + table.sql()).update();
        } catch (DataAccessException e) {
            throw problem(e, "add " + table + " to the publication " + name, "only the table's owner may: have it run "
                    + "ALTER PUBLICATION " + name + " ADD TABLE " + table + ", or capture " + table + " with triggers ("
                    + table + ":trigger in EXPORT_TABLES)");
        }
        String identity = jdbc.sql("SELECT relreplident::text FROM pg_class WHERE oid = :relid::oid")
                .param("relid", relid).query(String.class).single();
        if (!identity.equals("f")) {
            log.info("{} has the default replica identity: a delta's DELETE of it carries the key alone; ALTER TABLE {} "
                    + "REPLICA IDENTITY FULL makes it carry the row's last values (and the WAL carry every updated "
                    + "and deleted row's old values)", table, table);
        }
    }

    /** Bytes of WAL the slot keeps the server from removing, or empty when there is no such slot. */
    public Optional<Long> retainedBytes() {
        return jdbc.sql("""
                SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint FROM pg_replication_slots
                 WHERE slot_name = :name""").param("name", name).query(Long.class).optional();
    }

    /** Whether the server gave up the WAL the slot needed ({@code max_slot_wal_keep_size}). */
    public boolean invalidated() {
        return jdbc.sql("SELECT wal_status = 'lost' FROM pg_replication_slots WHERE slot_name = :name")
                .param("name", name).query(Boolean.class).optional().orElse(false);
    }

    private static String sqlState(DataAccessException e) {
        return e.getMostSpecificCause() instanceof java.sql.SQLException sql ? sql.getSQLState() : null;
    }

    private static InvalidSettingException problem(DataAccessException e, String what, String remedy) {
        return new InvalidSettingException("Log-based capture cannot " + what + " ("
                + e.getMostSpecificCause().getMessage().lines().findFirst().orElse("") + "): " + remedy, e);
    }
}
