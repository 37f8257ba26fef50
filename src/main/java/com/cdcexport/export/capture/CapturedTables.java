package com.cdcexport.export.capture;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.context.annotation.DependsOn;
import org.springframework.dao.DataAccessException;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.config.CdcProperties.CaptureMode;
import com.cdcexport.config.InvalidSettingException;
import com.cdcexport.export.model.TableName;
import com.cdcexport.sql.SqlText;

/**
 * The tables of EXPORT_TABLES, checked and made ready at start-up: each exists, has a primary key and the capture
 * triggers (installed here, idempotently, under a lock so instances starting together do it once). The demo's
 * {@code users} table is created when it does not exist; an existing one is adopted as it is.
 */
@Component
@DependsOn("flywayInitializer")
public class CapturedTables {

    private static final Logger log = LoggerFactory.getLogger(CapturedTables.class);

    private final JdbcClient jdbc;
    private final String schema;
    /** How long a switch to the WAL waits for the decoder to pass the table's previous switch back to triggers. */
    private static final Duration SWITCH_BACK_WAIT = Duration.ofSeconds(10);
    private final Map<TableName, Boolean> tables = new LinkedHashMap<>();
    private final Map<TableName, CaptureMode> modes = new LinkedHashMap<>();
    private final LogicalSlot slot;
    /** The service's database role, for messages that say what to grant it. */
    private String role;
    private boolean switchBackPending;

    @Autowired
    public CapturedTables(JdbcClient jdbc, TransactionTemplate transactions, CdcProperties properties) {
        this(jdbc, transactions, properties.schema(), properties.exportTables(), properties.captureMode(),
                properties.logical().slotName(properties.schema()));
    }

    /** @param exportTables the EXPORT_TABLES setting; every table captured by triggers unless it says otherwise */
    public CapturedTables(JdbcClient jdbc, TransactionTemplate transactions, String schema, String exportTables) {
        this(jdbc, transactions, schema, exportTables, CaptureMode.TRIGGER, schema + "_export");
    }

    /**
     * @param captureMode CAPTURE_MODE, for entries without a {@code :mode} suffix
     * @param slotName the replication slot (and publication) of log-based capture
     */
    public CapturedTables(JdbcClient jdbc, TransactionTemplate transactions, String schema, String exportTables,
                          CaptureMode captureMode, String slotName) {
        this.jdbc = jdbc;
        this.schema = schema;
        this.slot = new LogicalSlot(jdbc, slotName);
        Map<TableName, CaptureMode> configured = parse(exportTables, captureMode);
        if (configured.containsValue(CaptureMode.LOGICAL)) {
            // Before the install transaction: creating a slot waits for every transaction holding an xid to end.
            slot.prepare();
        }
        transactions.executeWithoutResult(status -> {
            jdbc.sql("SELECT pg_advisory_xact_lock(hashtext(:lock))").param("lock", schema + ".install-capture")
                    .query().singleValue();
            role = jdbc.sql("SELECT current_user").query(String.class).single();
            configured.forEach((table, mode) -> {
                tables.put(table, install(table, mode));
                modes.put(table, mode);
            });
            warnAboutTablesLeftOut(List.copyOf(configured.keySet()));
            switchBackPending = jdbc.sql("""
                    SELECT EXISTS (SELECT 1 FROM captured_tables c, logical_capture l
                                    WHERE c.logical_until IS NOT NULL AND c.logical_until > l.applied_lsn)""")
                    .query(Boolean.class).single();
        });
    }

    static List<TableName> parse(String setting) {
        return List.copyOf(parse(setting, CaptureMode.TRIGGER).keySet());
    }

    /** EXPORT_TABLES: {@code [schema.]table[:trigger|:logical]} entries, the mode defaulting to CAPTURE_MODE. */
    static Map<TableName, CaptureMode> parse(String setting, CaptureMode defaultMode) {
        Map<TableName, CaptureMode> parsed = new LinkedHashMap<>();
        for (String entry : setting.split(",")) {
            if (entry.isBlank()) {
                continue;
            }
            String name = entry.strip();
            CaptureMode mode = defaultMode;
            int colon = name.lastIndexOf(':');
            if (colon >= 0) {
                String suffix = name.substring(colon + 1).strip();
                mode = java.util.Arrays.stream(CaptureMode.values()).filter(m -> m.slug().equals(suffix)).findFirst()
                        .orElseThrow(() -> new InvalidSettingException("Invalid configuration: EXPORT_TABLES entry '"
                                + entry.strip() + "' ends in ':" + suffix + "'; a table's mode is :trigger or :logical"));
                name = name.substring(0, colon);
            }
            TableName table = TableName.parse(name).orElseThrow(() -> new InvalidSettingException(
                    "Invalid configuration: EXPORT_TABLES entry '" + entry.strip()
                            + "' is not [schema.]table[:trigger|:logical]"));
            CaptureMode earlier = parsed.putIfAbsent(table, mode);
            if (earlier != null && earlier != mode) {
                throw new InvalidSettingException("Invalid configuration: EXPORT_TABLES names " + table
                        + " twice, once :" + earlier.slug() + " and once :" + mode.slug());
            }
        }
        if (parsed.isEmpty()) {
            throw new InvalidSettingException("Invalid configuration: EXPORT_TABLES is empty: name at least one table");
        }
        return parsed;
    }

    /** How a captured table's changes reach the change log. */
    public CaptureMode mode(TableName table) {
        return modes.getOrDefault(table, CaptureMode.TRIGGER);
    }

    /** Whether any table is captured from the WAL, so a decoder must run somewhere. */
    public boolean anyLogical() {
        return modes.containsValue(CaptureMode.LOGICAL);
    }

    /**
     * Whether a decoder must run: a table is captured from the WAL, or one was switched back to triggers and the
     * decoder has not yet logged every transaction before that switch.
     */
    public boolean decoderNeeded() {
        return anyLogical() || switchBackPending;
    }

    /** The replication slot and publication of log-based capture. */
    public LogicalSlot slot() {
        return slot;
    }

    /** Captured tables in EXPORT_TABLES order. */
    public List<TableName> all() {
        return Collections.unmodifiableList(new ArrayList<>(tables.keySet()));
    }

    public boolean isCaptured(TableName table) {
        return tables.containsKey(table);
    }

    /** Whether the service created this table (the demo's users), so seeding it is the service's business. */
    public boolean createdByService(TableName table) {
        return tables.getOrDefault(table, false);
    }

    public String schema() {
        return schema;
    }

    /** @return whether the service created the table */
    private boolean install(TableName table, CaptureMode mode) {
        Optional<Long> found = relid(table);
        boolean created = false;
        if (found.isEmpty()) {
            if (!table.isUsers()) {
                throw new InvalidSettingException("EXPORT_TABLES names " + table + ", which does not exist: create it "
                        + "or remove it from EXPORT_TABLES");
            }
            createDemoUsers();
            created = true;
            found = relid(table);
        }
        long relid = found.orElseThrow();
        if (!jdbc.sql("SELECT has_table_privilege(:relid::oid, 'SELECT')").param("relid", relid)
                .query(Boolean.class).single()) {
            throw new InvalidSettingException("Cannot export " + table + ": the service's database role lacks the "
                    + "SELECT privilege on it (GRANT SELECT ON " + table.sql() + " TO " + role() + ")");
        }
        List<Short> key = jdbc.sql("SELECT k.attnum FROM pg_index i, unnest(i.indkey::int2[]) WITH ORDINALITY AS "
                + "k(attnum, ord) WHERE i.indrelid = :relid::oid AND i.indisprimary ORDER BY k.ord")
                .param("relid", relid).query(Short.class).list();
        if (key.isEmpty()) {
            throw new InvalidSettingException("EXPORT_TABLES names " + table + ", which has no primary key: capture "
                    + "needs one to name rows (add a primary key or remove the table from EXPORT_TABLES)");
        }
        boolean serviceOwned = register(table, relid, key, created);
        String current = jdbc.sql("SELECT capture_mode FROM captured_tables WHERE relid = :relid::oid")
                .param("relid", relid).query(String.class).single();
        if (mode == CaptureMode.LOGICAL) {
            slot.publish(table, relid, role());
            if (current.equals(CaptureMode.TRIGGER.slug()) && !switchBackPassed(relid)) {
                // Its last switch back to triggers is not decoded yet: the decoder still logs commits before that
                // boundary, by the interval a new switch would overwrite. Those commits would be logged by neither.
                log.warn("{} stays captured by triggers for now: it was switched back from the WAL and the decoder "
                        + "has not passed that point yet (is an instance decoding?); it moves to the WAL at a later "
                        + "start", table);
                installTriggers(table, relid);
            } else if (!current.equals(mode.slug()) || triggersPresent(relid)) {
                switchMode(table, relid, mode);
            }
        } else {
            if (!current.equals(mode.slug())) {
                switchMode(table, relid, mode);
            }
            installTriggers(table, relid);
        }
        if (serviceOwned) {
            installSeedTimestamps(table, relid);
        }
        return serviceOwned;
    }

    private Optional<Long> relid(TableName table) {
        List<Long> found = jdbc.sql("""
                SELECT c.oid::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = :schema AND c.relname = :table AND c.relkind IN ('r', 'p')""")
                .param("schema", table.schema()).param("table", table.table()).query(Long.class).list();
        return found.stream().findFirst();
    }

    /** The seed's data model, exactly: names, types, constraints, index. */
    private void createDemoUsers() {
        jdbc.sql("""
                CREATE TABLE public.users (
                    id          BIGSERIAL PRIMARY KEY,
                    name        VARCHAR(255) NOT NULL,
                    email       VARCHAR(255) NOT NULL UNIQUE,
                    created_at  TIMESTAMPTZ  NOT NULL,
                    updated_at  TIMESTAMPTZ  NOT NULL,
                    is_deleted  BOOLEAN      NOT NULL DEFAULT FALSE
                )""").update();
        jdbc.sql("CREATE INDEX idx_users_updated_at ON public.users (updated_at)").update();
        log.info("Created the demo table public.users (the seed's data model)");
    }

    /**
     * Records the table by OID. A primary key different from the one capture was installed with means older
     * change entries name rows by another key: a truncate marker makes every consumer re-sync that table.
     *
     * @return whether the service created the table (now or on an earlier start)
     */
    private boolean register(TableName table, long relid, List<Short> key, boolean created) {
        String attnums = pgArray(key.toArray(Short[]::new));
        List<Map<String, Object>> existing = jdbc.sql("""
                SELECT relid::bigint AS relid, key_attnums::text AS key, created_by_service FROM captured_tables
                 WHERE relid = :relid::oid OR (schema_name = :schema AND table_name = :table)""")
                .param("relid", relid).param("schema", table.schema()).param("table", table.table())
                .query().listOfRows();
        if (existing.isEmpty()) {
            insertRow(table, relid, attnums, created);
            // Captured before, then uninstalled: what changed meanwhile is unknown to consumers that exported it.
            if (jdbc.sql("SELECT EXISTS (SELECT 1 FROM watermarks WHERE table_name = :name)")
                    .param("name", table.qualified()).query(Boolean.class).single()) {
                insertResyncMarker(relid);
            }
            log.info("Capturing changes of {}", table);
            return created;
        }
        Map<String, Object> row = existing.get(0);
        boolean serviceOwned = created || (Boolean) row.get("created_by_service");
        if (!attnums.equals(row.get("key")) || ((Number) row.get("relid")).longValue() != relid) {
            jdbc.sql("DELETE FROM captured_tables WHERE relid = :old::oid OR (schema_name = :schema AND table_name = :table)")
                    .param("old", row.get("relid")).param("schema", table.schema()).param("table", table.table())
                    .update();
            insertRow(table, relid, attnums, serviceOwned);
            insertResyncMarker(relid);
            log.warn("{} was re-created or its primary key changed since capture was installed; consumers of it "
                    + "must run a full export", table);
        }
        return serviceOwned;
    }

    private void insertRow(TableName table, long relid, String keyAttnums, boolean createdByService) {
        jdbc.sql("""
                INSERT INTO captured_tables (relid, schema_name, table_name, key_attnums, created_by_service)
                VALUES (:relid::oid, :schema, :table, :key::int2[], :created)""")
                .param("relid", relid).param("schema", table.schema()).param("table", table.table())
                .param("key", keyAttnums).param("created", createdByService).update();
    }

    /** The truncate marker: windows that span it are refused until a full export (see the read package's SnapshotReader). */
    private void insertResyncMarker(long relid) {
        jdbc.sql("INSERT INTO change_log (table_oid, op, key) VALUES (:relid::oid, 'T', '[]')").param("relid", relid)
                .update();
    }

    /**
     * Another instance may still export a table this one no longer lists (a rolling change of EXPORT_TABLES), so
     * capture is never removed behind its back; the operator removes it once no instance lists the table.
     */
    private void warnAboutTablesLeftOut(List<TableName> configured) {
        List<String> leftOut = jdbc.sql("SELECT schema_name || '.' || table_name FROM captured_tables ORDER BY 1")
                .query(String.class).list().stream()
                .filter(name -> configured.stream().noneMatch(t -> t.qualified().equals(name))).toList();
        for (String table : leftOut) {
            log.warn("{} is still captured but not in EXPORT_TABLES; once no instance lists it, stop its capture "
                    + "with SELECT {}.uninstall_capture('{}')", table, schema, table);
        }
    }

    /**
     * Moves a table between trigger and log-based capture so that every source transaction is logged by exactly one
     * of them: under a lock that waits for the table's writers and holds new ones back, the triggers go (or come),
     * and the WAL position read then is the boundary the decoder keeps to (docs/capture.md, "Switching a table").
     */
    private void switchMode(TableName table, long relid, CaptureMode mode) {
        jdbc.sql("LOCK TABLE " + table.sql() + " IN SHARE ROW EXCLUSIVE MODE").update();
        if (mode == CaptureMode.LOGICAL) {
            if (triggersPresent(relid)) {
                for (String operation : List.of("insert", "update", "key_change", "delete", "truncate")) {
                    jdbc.sql("DROP TRIGGER IF EXISTS " + SqlText.identifier(schema + "_capture_" + operation) + " ON " + table.sql())
                            .update();
                }
            }
            jdbc.sql("""
                    UPDATE captured_tables SET capture_mode = 'logical', logical_from = pg_current_wal_insert_lsn(),
                           logical_until = NULL WHERE relid = :relid::oid""").param("relid", relid).update();
        } else {
            installTriggers(table, relid);
            jdbc.sql("""
                    UPDATE captured_tables SET capture_mode = 'trigger', logical_until = pg_current_wal_insert_lsn()
                     WHERE relid = :relid::oid""").param("relid", relid).update();
        }
        log.info("{} is now captured by {}", table, mode == CaptureMode.LOGICAL ? "decoding the WAL" : "triggers");
    }

    /**
     * Whether the decoder has passed the table's last switch back to triggers (or there was none), waiting a few
     * seconds for it: a decoding instance passes it within a second.
     */
    private boolean switchBackPassed(long relid) {
        long deadline = System.nanoTime() + SWITCH_BACK_WAIT.toNanos();
        while (true) {
            boolean passed = jdbc.sql("""
                    SELECT c.logical_until IS NULL OR coalesce(l.applied_lsn >= c.logical_until, false)
                      FROM captured_tables c LEFT JOIN logical_capture l ON l.slot_name = :slot
                     WHERE c.relid = :relid::oid""")
                    .param("slot", slot.name()).param("relid", relid).query(Boolean.class).single();
            if (passed || System.nanoTime() > deadline) {
                return passed;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
    }

    private boolean triggersPresent(long relid) {
        return jdbc.sql("SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = :relid::oid AND tgname LIKE :prefix)")
                .param("relid", relid).param("prefix", schema.replace("_", "\\_") + "\\_capture\\_%")
                .query(Boolean.class).single();
    }

    private void installTriggers(TableName table, long relid) {
        boolean current = jdbc.sql("SELECT " + SqlText.identifier(schema) + ".capture_installed(:relid::oid::regclass)")
                .param("relid", relid).query(Boolean.class).single();
        try {
            if (!current) {
                jdbc.sql("SELECT " + SqlText.identifier(schema) + ".install_capture(:relid::oid::regclass)")
                        .param("relid", relid).query().singleValue();
                log.info("Installed change capture on {}", table);
            }
        } catch (DataAccessException e) {
            if (isInsufficientPrivilege(e)) {
                throw new InvalidSettingException("Cannot install change capture on " + table + ": the role " + role()
                        + " lacks the TRIGGER privilege on it; GRANT TRIGGER ON " + table.sql() + " TO " + role()
                        + ", or have its owner run SELECT " + schema + ".install_capture('" + table + "')", e);
            }
            throw e;
        }
    }

    /**
     * The seed's semantics on the demo's own users table: a writer that omits the timestamps gets them, and an
     * update that forgets updated_at still moves it. The WHEN conditions run without calling the function, so the
     * seed's writer, which sets updated_at itself, pays for no trigger call at all.
     */
    private void installSeedTimestamps(TableName table, long relid) {
        List<String> present = jdbc.sql("SELECT tgname FROM pg_trigger WHERE tgrelid = :relid::oid")
                .param("relid", relid).query(String.class).list();
        String function = SqlText.identifier(schema) + ".users_timestamps()";
        if (!present.contains(schema + "_users_created")) {
            jdbc.sql("CREATE TRIGGER " + SqlText.identifier(schema + "_users_created") + " BEFORE INSERT ON " + table.sql()
                    + " FOR EACH ROW WHEN (NEW.created_at IS NULL OR NEW.updated_at IS NULL) EXECUTE FUNCTION "
                    + function).update();
        }
        if (!present.contains(schema + "_users_touched")) {
            jdbc.sql("CREATE TRIGGER " + SqlText.identifier(schema + "_users_touched") + " BEFORE UPDATE ON " + table.sql()
                    + " FOR EACH ROW WHEN (NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at) EXECUTE FUNCTION "
                    + function).update();
        }
    }

    private String role() {
        return role;
    }

    private static boolean isInsufficientPrivilege(DataAccessException e) {
        return e.getMostSpecificCause() instanceof java.sql.SQLException sql && "42501".equals(sql.getSQLState());
    }

    private static String pgArray(Short[] values) {
        StringBuilder text = new StringBuilder("{");
        for (int i = 0; i < values.length; i++) {
            text.append(i == 0 ? "" : ",").append(values[i]);
        }
        return text.append('}').toString();
    }

}
