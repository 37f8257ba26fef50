package com.cdcexport.export.capture.logical;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
import org.postgresql.replication.LogSequenceNumber;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

import com.cdcexport.sql.SqlText;

/**
 * Decoded source transactions waiting to be written into the change log, and the one transaction that writes them
 * with the decoder's progress (docs/capture.md, "Exactly once from the slot").
 *
 * <p>A change travels as little as the entry needs: its key columns' values in their text form (an insert or an
 * update logs only the key), plus, for a deleted row, the values the WAL has of it. The batch is streamed with
 * COPY into a temporary table of the decoder's session, and one INSERT … SELECT per table turns it into entries
 * with the table's own types: the key is {@code jsonb_build_array} of each key value cast to its column's type (the
 * same JSON {@code to_jsonb} gives the triggers), and a deleted row's values are rebuilt with the table's row type
 * ({@code jsonb_populate_record}, each column's input function). Which transactions a table's entries are taken
 * from is decided there too, against the table's mode boundaries in {@code captured_tables}.
 */
final class ChangeLogBatch {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    /** 2000-01-01T00:00:00Z, PostgreSQL's epoch for timestamps in the protocol. */
    private static final long POSTGRES_EPOCH_MICROS = 946_684_800_000_000L;
    private static final int JSON_OID = 114;
    private static final int JSONB_OID = 3802;
    private static final String STAGING = "pg_temp.cdc_decoded";

    private final String schema;
    /** The batch as COPY text rows: n, table_oid, xid32, commit_lsn, end_lsn, op, changed_at, key, old_row. */
    private final StringBuilder rows = new StringBuilder();
    private final Set<Integer> tables = new LinkedHashSet<>();
    /** Per table: its key columns' names (in key order) and the INSERT that turns staged rows into entries. */
    private final Map<Integer, TableSql> sql = new HashMap<>();
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

    /** A relation's columns may have changed (pgoutput sends it again then): its key and SQL are looked up anew. */
    void forget(int relid) {
        sql.remove(relid);
    }

    /**
     * A source transaction the slot delivered; skipped when an earlier batch already wrote it.
     *
     * @param keys per table, its primary key's column names in key order ({@link #keyNames})
     */
    void add(SourceTransaction transaction, Map<Integer, List<String>> keys) {
        if (transaction.endLsn() <= appliedLsn) {
            return;
        }
        String common = "\t" + transaction.xid() + "\t" + LogSequenceNumber.valueOf(transaction.commitLsn()).asString()
                + "\t" + LogSequenceNumber.valueOf(transaction.endLsn()).asString() + "\t";
        Instant committed = Instant.ofEpochSecond(0, (POSTGRES_EPOCH_MICROS + transaction.commitMicros()) * 1000);
        String at = "\t" + committed + "\t";
        for (SourceTransaction.Entry entry : transaction.entries()) {
            int relid = entry.relid();
            if (entry.op() == 'T') {
                stage(relid, common, 'T', at, List.of(), null);
                continue;
            }
            List<String> key = keys.get(relid);
            PgOutput.Relation relation = entry.relation();
            List<String> newKey = entry.current() == null ? null : values(relation, entry.current(), key, entry.old());
            List<String> oldKey = entry.old() == null ? null : values(relation, entry.old(), key, null);
            switch (entry.op()) {
                case 'I' -> stage(relid, common, 'I', at, newKey, null);
                case 'D' -> stage(relid, common, 'D', at, oldKey, row(relation, entry.old()));
                default -> {
                    if (oldKey != null && !oldKey.equals(newKey)) {
                        // The key changed: the old key is gone with these values, the new one is born.
                        stage(relid, common, 'D', at, oldKey, row(relation, entry.old()));
                        stage(relid, common, 'I', at, newKey, null);
                    } else {
                        stage(relid, common, 'U', at, newKey, null);
                    }
                }
            }
        }
        appliedLsn = transaction.endLsn();
        lastCommit = committed;
    }

    /** A marker an export wrote after taking its snapshot: every transaction it can see is in this batch. */
    void passed(long markerLsn) {
        appliedLsn = Math.max(appliedLsn, markerLsn);
    }

    private void stage(int relid, String common, char op, String at, List<String> key, String oldRow) {
        rows.append(ordinal++).append('\t').append(Integer.toUnsignedLong(relid)).append(common).append(op).append(at);
        rows.append(copyText(arrayLiteral(key))).append('\t').append(oldRow == null ? "\\N" : copyText(oldRow))
                .append('\n');
        tables.add(relid);
        size++;
    }

    /**
     * The key columns' values of a tuple, in key order. An update's new tuple lacks a TOASTed value it left
     * unchanged; a key value that large then comes from the old tuple, which the WAL has whenever the key changed.
     */
    private static List<String> values(PgOutput.Relation relation, PgOutput.Tuple tuple, List<String> key,
                                       PgOutput.Tuple fallback) {
        List<String> values = new ArrayList<>(key.size());
        for (String name : key) {
            int index = relation.index(name);
            String value = index < 0 || index >= tuple.values().size() ? null : tuple.values().get(index);
            if (value == PgOutput.UNCHANGED && fallback != null) {
                value = fallback.values().get(index);
            }
            if (value == null || value == PgOutput.UNCHANGED) {
                throw new IllegalStateException("The WAL has no value of the key column " + name + " of "
                        + relation.schema() + "." + relation.name() + " for a change (a key value stored out of line "
                        + "and left unchanged); capture this table with triggers");
            }
            values.add(value);
        }
        return values;
    }

    /** A deleted row's values as the WAL has them (the key alone under the default replica identity), as JSON. */
    private static String row(PgOutput.Relation relation, PgOutput.Tuple tuple) {
        ObjectNode values = NODES.objectNode();
        List<PgOutput.Column> columns = relation.columns();
        for (int i = 0; i < columns.size() && i < tuple.values().size(); i++) {
            String value = tuple.values().get(i);
            PgOutput.Column column = columns.get(i);
            if (value == null) {
                values.putNull(column.name());
            } else if (value == PgOutput.UNCHANGED) {
                continue;
            } else if (column.typeOid() == JSON_OID || column.typeOid() == JSONB_OID) {
                // jsonb_populate_record keeps a JSON value as it is for json columns: give it the document.
                values.set(column.name(), JSON.readTree(value));
            } else {
                values.put(column.name(), value);
            }
        }
        return JSON.writeValueAsString(values);
    }

    /**
     * Writes the batch and the decoder's progress in one transaction of {@code session}. An entry's change_xid is
     * its source transaction's, widened to xid8 against this transaction's own (newer) full xid.
     */
    void write(Connection session, String slot, String leader) throws SQLException {
        session.setAutoCommit(false);
        try {
            if (size > 0) {
                try (Statement statement = session.createStatement()) {
                    statement.execute("CREATE TEMP TABLE IF NOT EXISTS cdc_decoded (n BIGINT, table_oid OID, "
                            + "xid32 BIGINT, commit_lsn PG_LSN, end_lsn PG_LSN, op \"char\", changed_at TIMESTAMPTZ, "
                            + "key TEXT[], old_row JSONB) ON COMMIT DELETE ROWS");
                }
                CopyIn copy = session.unwrap(PGConnection.class).getCopyAPI().copyIn("COPY " + STAGING
                        + " FROM STDIN");
                try {
                    byte[] bytes = rows.toString().getBytes(StandardCharsets.UTF_8);
                    copy.writeToCopy(bytes, 0, bytes.length);
                    copy.endCopy();
                } finally {
                    if (copy.isActive()) {
                        copy.cancelCopy();
                    }
                }
                for (int relid : tables) {
                    TableSql table = sql.get(relid);
                    if (table == null) {
                        table = TableSql.of(session, schema, relid);
                        sql.put(relid, table);
                    }
                    if (table.insert() == null) {
                        continue; // dropped since: nothing can be exported of it, start-up re-registers a new one
                    }
                    try (PreparedStatement insert = session.prepareStatement(table.insert())) {
                        insert.setLong(1, Integer.toUnsignedLong(relid));
                        insert.executeUpdate();
                    }
                }
            }
            try (PreparedStatement progress = session.prepareStatement("UPDATE " + SqlText.identifier(schema)
                    + ".logical_capture SET applied_lsn = greatest(applied_lsn, ?::pg_lsn), applied_at = now(), "
                    + "source_commit_at = coalesce(?, source_commit_at), leader = ? WHERE slot_name = ?")) {
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
            sql.clear(); // a table's shape may be what failed
            throw e;
        } finally {
            // Between batches the session holds no transaction, so no snapshot of it holds the server's xmin back.
            session.setAutoCommit(true);
        }
        rows.setLength(0);
        tables.clear();
        size = 0;
    }

    /** A table's primary-key column names in key order, or an empty list when it has none (or is gone). */
    static List<String> keyNames(Connection session, String schema, int relid) throws SQLException {
        try (PreparedStatement names = session.prepareStatement("SELECT unnest(" + SqlText.identifier(schema)
                + ".key_names(?::oid))")) {
            names.setLong(1, Integer.toUnsignedLong(relid));
            try (ResultSet rs = names.executeQuery()) {
                List<String> key = new ArrayList<>();
                while (rs.next()) {
                    key.add(rs.getString(1));
                }
                return key;
            }
        }
    }

    /**
     * One table's entries from the staged rows: the xid widened to xid8 in the epoch of the writing transaction's
     * own xid (or the one before), entries outside the table's (logical_from, logical_until) left to the triggers,
     * seq in the order of arrival.
     *
     * @param insert null when the table no longer exists
     */
    private record TableSql(String insert) {

        static TableSql of(Connection session, String schema, int relid) throws SQLException {
            String type;
            List<String> casts = new ArrayList<>();
            try (PreparedStatement lookup = session.prepareStatement("""
                    SELECT c.oid::regclass::text, format_type(a.atttypid, a.atttypmod)
                      FROM pg_class c
                      JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
                     CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
                     WHERE c.oid = ?::oid ORDER BY k.ord""")) {
                lookup.setLong(1, Integer.toUnsignedLong(relid));
                try (ResultSet rs = lookup.executeQuery()) {
                    type = null;
                    while (rs.next()) {
                        type = rs.getString(1);
                        casts.add("(d.key[" + (casts.size() + 1) + "])::" + rs.getString(2));
                    }
                }
            }
            if (type == null) {
                return new TableSql(null);
            }
            String s = SqlText.identifier(schema);
            return new TableSql("""
                    WITH bounds AS (SELECT relid, logical_from, logical_until FROM %1$s.captured_tables
                                     WHERE relid = ?::oid AND logical_from IS NOT NULL),
                         epoch AS (SELECT pg_current_xact_id()::text::bigint AS current)
                    INSERT INTO %1$s.change_log (table_oid, change_xid, op, key, old_row, changed_at, commit_lsn,
                                                commit_end_lsn)
                    SELECT d.table_oid,
                           (CASE WHEN ((epoch.current >> 32) << 32 | d.xid32) > epoch.current
                                 THEN ((epoch.current >> 32) << 32 | d.xid32) - 4294967296
                                 ELSE (epoch.current >> 32) << 32 | d.xid32 END)::text::xid8,
                           d.op,
                           CASE WHEN d.op = 'T' THEN '[]'::jsonb ELSE jsonb_build_array(%2$s) END,
                           CASE WHEN d.old_row IS NOT NULL THEN to_jsonb(jsonb_populate_record(NULL::%3$s, d.old_row)) END,
                           d.changed_at, d.commit_lsn, d.end_lsn
                      FROM pg_temp.cdc_decoded d, bounds, epoch
                     WHERE d.table_oid = bounds.relid
                       AND d.commit_lsn > bounds.logical_from
                       AND (bounds.logical_until IS NULL OR d.commit_lsn < bounds.logical_until)
                     ORDER BY d.n""".replace("%1$s", s).replace("%2$s", String.join(", ", casts))
                    .replace("%3$s", type));
        }
    }

    /** A PostgreSQL array literal of texts: every element quoted, with its quotes and backslashes escaped. */
    private static String arrayLiteral(List<String> values) {
        StringBuilder literal = new StringBuilder("{");
        for (int i = 0; i < values.size(); i++) {
            literal.append(i == 0 ? "\"" : ",\"");
            String value = values.get(i);
            for (int c = 0; c < value.length(); c++) {
                char ch = value.charAt(c);
                if (ch == '"' || ch == '\\') {
                    literal.append('\\');
                }
                literal.append(ch);
            }
            literal.append('"');
        }
        return literal.append('}').toString();
    }

    /** A value in COPY's text format: backslashes and the delimiter, newline and carriage return escaped. */
    private static String copyText(String value) {
        StringBuilder text = new StringBuilder(value.length() + 8);
        for (int i = 0; i < value.length(); i++) {
            char ch = value.charAt(i);
            switch (ch) {
                case '\\' -> text.append("\\\\");
                case '\t' -> text.append("\\t");
                case '\n' -> text.append("\\n");
                case '\r' -> text.append("\\r");
                default -> text.append(ch);
            }
        }
        return text.toString();
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
