package com.cdcexport.export.capture.logical;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.postgresql.replication.LogSequenceNumber;

import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Decoded source transactions waiting to be written into the change log, and the one transaction that writes them
 * with the decoder's progress (docs/capture.md, "Exactly once from the slot").
 *
 * <p>Values travel to the database in their text form, as the WAL has them, and become entries there by the same
 * SQL for every table: the row is rebuilt with the table's own row type ({@code jsonb_populate_record}, which runs
 * each column's input function), so {@code to_jsonb} of it, and the key taken from that, are exactly what the
 * triggers log for the same row. Which transactions a table's entries are taken from is decided there too, against
 * the table's mode boundaries in {@code captured_tables}.
 */
final class ChangeLogBatch {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    /** 2000-01-01T00:00:00Z, PostgreSQL's epoch for timestamps in the protocol. */
    private static final long POSTGRES_EPOCH_MICROS = 946_684_800_000_000L;
    private static final int JSON_OID = 114;
    private static final int JSONB_OID = 3802;

    private final String schema;
    /** Per table, in order of arrival: one element per change. */
    private final Map<Integer, ArrayNode> changes = new LinkedHashMap<>();
    private int size;
    private long ordinal;
    /** Every source commit ending at or before this is in the batch (or was applied before). */
    private long appliedLsn;
    private Instant lastCommit;

    ChangeLogBatch(String schema, long appliedLsn) {
        this.schema = schema;
        this.appliedLsn = appliedLsn;
    }

    long appliedLsn() {
        return appliedLsn;
    }

    int size() {
        return size;
    }

    boolean pending(long confirmedLsn) {
        return size > 0 || appliedLsn > confirmedLsn;
    }

    /** A source transaction the slot delivered; skipped when an earlier batch already wrote it. */
    void add(SourceTransaction transaction) {
        if (transaction.endLsn() <= appliedLsn) {
            return;
        }
        long xid = transaction.xid();
        String lsn = LogSequenceNumber.valueOf(transaction.commitLsn()).asString();
        String at = Instant.ofEpochSecond(0, (POSTGRES_EPOCH_MICROS + transaction.commitMicros()) * 1000).toString();
        for (SourceTransaction.Entry entry : transaction.entries()) {
            ObjectNode element = NODES.objectNode();
            element.put("n", ordinal++);
            // The 32-bit xid the WAL carries; widened to the xid8 it is when the batch is written (see write).
            element.put("xid32", xid);
            element.put("l", lsn);
            element.put("t", at);
            element.put("o", String.valueOf(entry.op()));
            if (entry.current() != null) {
                element.set("v", values(entry.relation(), entry.current()));
            }
            if (entry.old() != null) {
                element.set("w", values(entry.relation(), entry.old()));
            }
            changes.computeIfAbsent(entry.relid(), r -> NODES.arrayNode()).add(element);
            size++;
        }
        appliedLsn = transaction.endLsn();
        lastCommit = Instant.ofEpochSecond(0, (POSTGRES_EPOCH_MICROS + transaction.commitMicros()) * 1000);
    }

    /** A marker an export wrote after taking its snapshot: every transaction it can see is in this batch. */
    void passed(long markerLsn) {
        appliedLsn = Math.max(appliedLsn, markerLsn);
    }

    private static ObjectNode values(PgOutput.Relation relation, PgOutput.Tuple tuple) {
        ObjectNode values = NODES.objectNode();
        List<PgOutput.Column> columns = relation.columns();
        for (int i = 0; i < columns.size() && i < tuple.values().size(); i++) {
            String value = tuple.values().get(i);
            PgOutput.Column column = columns.get(i);
            if (value == PgOutput.UNCHANGED) {
                continue; // not in the WAL; only a key would matter, and keys come from a tuple that has them
            }
            if (value == null) {
                values.putNull(column.name());
            } else if (column.typeOid() == JSON_OID || column.typeOid() == JSONB_OID) {
                // jsonb_populate_record keeps a JSON value as it is for json columns: give it the document.
                values.set(column.name(), JSON.readTree(value));
            } else {
                values.put(column.name(), value);
            }
        }
        return values;
    }

    /**
     * Writes the batch and the decoder's progress in one transaction of {@code session}. An entry's change_xid is
     * its source transaction's, widened to xid8 against this transaction's own (newer) full xid.
     */
    void write(Connection session, String slot, String leader) throws SQLException {
        session.setAutoCommit(false);
        try {
            long current = 0;
            if (size > 0) {
                try (PreparedStatement xid = session.prepareStatement("SELECT pg_current_xact_id()::text::bigint");
                     ResultSet rs = xid.executeQuery()) {
                    rs.next();
                    current = rs.getLong(1);
                }
            }
            for (Map.Entry<Integer, ArrayNode> table : changes.entrySet()) {
                String type = tableType(session, table.getKey());
                if (type == null) {
                    continue; // dropped since: nothing can be exported of it, start-up re-registers a new one
                }
                for (var element : table.getValue()) {
                    ObjectNode change = (ObjectNode) element;
                    change.put("x", Long.toString(fullXid(change.remove("xid32").asLong(), current)));
                }
                try (PreparedStatement insert = session.prepareStatement(insertSql(type))) {
                    insert.setLong(1, Integer.toUnsignedLong(table.getKey()));
                    insert.setString(2, JSON.writeValueAsString(table.getValue()));
                    insert.setLong(3, Integer.toUnsignedLong(table.getKey()));
                    insert.executeUpdate();
                }
            }
            try (PreparedStatement progress = session.prepareStatement("""
                    UPDATE %s.logical_capture SET applied_lsn = greatest(applied_lsn, ?::pg_lsn), applied_at = now(),
                           source_commit_at = coalesce(?, source_commit_at), leader = ?
                     WHERE slot_name = ?""".replace("%s", quote(schema)))) {
                progress.setString(1, LogSequenceNumber.valueOf(appliedLsn).asString());
                progress.setObject(2, lastCommit == null ? null : java.sql.Timestamp.from(lastCommit));
                progress.setString(3, leader);
                progress.setString(4, slot);
                if (progress.executeUpdate() != 1) {
                    throw new IllegalStateException("The decoder's progress row for slot " + slot + " is gone "
                            + "(capture uninstalled?)");
                }
            }
            session.commit();
        } catch (SQLException | RuntimeException e) {
            session.rollback();
            throw e;
        }
        changes.clear();
        size = 0;
    }

    /** The 32-bit xid of a source transaction as the xid8 it had: in the epoch of {@code current} or the one before. */
    static long fullXid(long xid32, long current) {
        long full = (current & 0xFFFF_FFFF_0000_0000L) | xid32;
        return full > current ? full - (1L << 32) : full;
    }

    private static String tableType(Connection session, int relid) throws SQLException {
        try (PreparedStatement name = session.prepareStatement("SELECT c.oid::regclass::text FROM pg_class c "
                + "WHERE c.oid = ?::oid")) {
            name.setLong(1, Integer.toUnsignedLong(relid));
            try (ResultSet rs = name.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    /**
     * One table's entries: an update whose key changed becomes D (old key, old values) and I (new key), as the
     * key-change trigger logs it; entries outside the table's (logical_from, logical_until) are left to the
     * triggers; seq follows the order of arrival.
     */
    private String insertSql(String type) {
        String s = quote(schema);
        return """
                WITH bounds AS (SELECT logical_from, logical_until, %1$s.key_names(relid) AS names
                                  FROM %1$s.captured_tables WHERE relid = ?::oid AND logical_from IS NOT NULL),
                     elements AS (SELECT e, (e->>'n')::bigint AS n FROM jsonb_array_elements(?::jsonb) AS a(e)),
                     rows AS (SELECT e, n, names,
                                     CASE WHEN e->'v' IS NOT NULL THEN to_jsonb(jsonb_populate_record(NULL::%2$s, e->'v')) END AS new_row,
                                     CASE WHEN e->'w' IS NOT NULL THEN to_jsonb(jsonb_populate_record(NULL::%2$s, e->'w')) END AS old_row
                                FROM elements, bounds
                               WHERE (e->>'l')::pg_lsn > bounds.logical_from
                                 AND (bounds.logical_until IS NULL OR (e->>'l')::pg_lsn < bounds.logical_until)),
                     keyed AS (SELECT e, n, old_row,
                                      CASE WHEN new_row IS NOT NULL THEN %1$s.key_of(new_row, names) END AS new_key,
                                      CASE WHEN old_row IS NOT NULL THEN %1$s.key_of(old_row, names) END AS old_key
                                 FROM rows),
                     logged AS (SELECT n, 0 AS part, e,
                                       CASE WHEN e->>'o' = 'U' AND old_key IS DISTINCT FROM new_key AND old_key IS NOT NULL
                                            THEN 'D' ELSE e->>'o' END AS op,
                                       CASE e->>'o' WHEN 'T' THEN '[]'::jsonb WHEN 'D' THEN old_key
                                            ELSE coalesce(CASE WHEN old_key IS DISTINCT FROM new_key THEN old_key END, new_key)
                                       END AS key,
                                       CASE WHEN e->>'o' = 'D' OR (e->>'o' = 'U' AND old_key IS DISTINCT FROM new_key
                                                                  AND old_key IS NOT NULL) THEN old_row END AS old_row
                                  FROM keyed
                                UNION ALL
                                SELECT n, 1, e, 'I', new_key, NULL FROM keyed
                                 WHERE e->>'o' = 'U' AND old_key IS NOT NULL AND old_key IS DISTINCT FROM new_key)
                INSERT INTO %1$s.change_log (table_oid, change_xid, op, key, old_row, changed_at)
                SELECT ?::oid, (e->>'x')::xid8, op::"char", key, old_row, (e->>'t')::timestamptz
                  FROM logged ORDER BY n, part""".replace("%1$s", s).replace("%2$s", type);
    }

    static String quote(String identifier) {
        return "\"" + identifier.replace("\"", "\"\"") + "\"";
    }

    /** Changes of one source transaction, between its Begin and its Commit. */
    record SourceTransaction(long xid, long commitLsn, long endLsn, long commitMicros, List<Entry> entries) {

        record Entry(char op, int relid, PgOutput.Relation relation, PgOutput.Tuple old, PgOutput.Tuple current) {
        }

        static List<Entry> newEntries() {
            return new ArrayList<>();
        }
    }
}
