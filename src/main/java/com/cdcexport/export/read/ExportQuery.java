package com.cdcexport.export.read;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

import com.cdcexport.export.format.ExportFormat;
import com.cdcexport.export.format.FileColumn;
import com.cdcexport.export.model.ExportPlan.HeldRowsScope;
import com.cdcexport.export.model.ExportPlan.Read;
import com.cdcexport.export.model.ExportPlan.TablePlan;
import com.cdcexport.export.model.Mask;
import com.cdcexport.export.model.MaskingKey;
import com.cdcexport.export.model.Snapshot;
import com.cdcexport.export.model.TableAccess;
import com.cdcexport.export.model.TableShape;
import com.cdcexport.export.model.TableShape.Column;
import com.cdcexport.sql.SqlText;

/**
 * The one place that decides which rows of one table an export selects and how they look in the file.
 *
 * <p>A change window is "visible in the export's snapshot S, not visible in the consumer's previous snapshot P":
 * the keys of change_log entries in that window name the rows, and the rows' values are read from the table in S.
 * Without P (a full export, or no watermark yet) the window is the whole table as S sees it.
 */
final class ExportQuery {

    private final Read read;
    private final ExportFormat format;
    private final TableShape shape;
    private final Optional<Snapshot> since;
    private final TableAccess access;
    private final String log;
    private final List<Column> columns;
    private final boolean softDeletes;
    private final HeldRowsScope held;
    private final String schema;

    /** The temporary table of the export's session a logically captured table's window is staged in. */
    static final String STAGED_WINDOW = "pg_temp.cdc_change_window";

    private final boolean staged;

    /**
     * @param staged whether the window's entries are read from {@link #STAGED_WINDOW} (log-based capture, see
     *               {@link LogicalWindow}) rather than from the change log
     */
    ExportQuery(TablePlan table, ExportFormat format, TableShape shape, String schema, HeldRowsScope held,
                boolean staged) {
        this.read = table.read();
        this.format = format;
        this.shape = shape;
        this.since = table.window();
        this.access = table.access();
        this.schema = SqlText.identifier(schema);
        this.staged = staged && this.since.isPresent();
        this.log = this.staged ? STAGED_WINDOW : this.schema + ".change_log";
        this.softDeletes = shape.hasSoftDeleteColumns();
        this.held = held;
        this.columns = access.columns()
                .map(allowed -> shape.columns().stream().filter(c -> c.isKey() || allowed.contains(c.name())).toList())
                .orElse(shape.columns());
        // Rules refuse masked keys; a column that became the key since must not reach the file unmasked either.
        for (Column key : shape.key()) {
            if (access.masks().containsKey(key.name())) {
                throw new IllegalStateException("The rule for " + shape.name() + " masks its primary key column '"
                        + key.name() + "', which a consumer needs to apply changes; the admin must change the rule");
            }
        }
    }

    private ExportQuery(ExportQuery query, String window) {
        this.read = query.read;
        this.format = query.format;
        this.shape = query.shape;
        this.since = query.since;
        this.access = query.access;
        this.schema = query.schema;
        this.staged = true;
        this.log = window;
        this.softDeletes = query.softDeletes;
        this.held = query.held;
        this.columns = query.columns;
    }

    /**
     * The same query over a part of the window given as a relation with the change log's columns (an export on a
     * standby of a table in log-based capture, see {@link LogicalStandbyRead}).
     */
    ExportQuery over(String window) {
        if (!staged) {
            throw new IllegalStateException("Only a staged window is read in parts");
        }
        return new ExportQuery(this, window);
    }

    /** Full exports (and a first incremental or delta) read the whole table; no change log is involved. */
    private boolean readsWholeTable() {
        return !read.hasWindow();
    }

    /**
     * Whether the export reads every live row: then counting them first would be a second pass over the table,
     * so the greatest updated_at comes from its index, the count from COPY and the progress total from the planner.
     */
    boolean readsAllLiveRows() {
        return read == Read.WHOLE_TABLE;
    }

    boolean hasSoftDeleteColumns() {
        return softDeletes;
    }

    /** COPY ... TO STDOUT in the export's format: PostgreSQL renders the CSV or JSON itself, at server speed. */
    String copySql() {
        return copySql(KeyRange.ALL, /* header */ true);
    }

    /**
     * The COPY of one chunk: the rows of {@code range} in key order, with the header line only when asked (the
     * file's first chunk), so chunks joined in range order (see {@link ExportFormat#chunkOutput}) are byte for byte
     * the file {@link #copySql()} writes.
     */
    String copySql(KeyRange range, boolean header) {
        return format.copySql(selectSql(range), fileColumns(), header);
    }

    ExportFormat format() {
        return format;
    }

    /** The table's primary key columns, in key order. */
    List<String> keyColumns() {
        return shape.key().stream().map(TableShape.Column::name).toList();
    }

    /**
     * The file's columns: a delta's operation, then the table's columns the consumer may see. In a delta every
     * column but the key may be NULL: a DELETE carries the values the change log kept, which lack columns added
     * after the row was deleted.
     */
    List<FileColumn> fileColumns() {
        List<FileColumn> file = new ArrayList<>();
        if (read.hasOperations()) {
            file.add(FileColumn.OPERATION);
        }
        columns.forEach(c -> file.add(fileColumn(c)));
        return file;
    }

    private FileColumn fileColumn(Column c) {
        boolean nullable = !c.notNull() || (read.hasOperations() && !c.isKey());
        Mask mask = access.masks().get(c.name());
        if (mask != null) {
            // A token is text whatever the column's type (a string in parquet and JSON); a nulled column is NULL.
            return new FileColumn(c.name(), "text", "S", nullable || mask == Mask.NULL, mask.slug(), c.attnum());
        }
        return new FileColumn(c.name(), c.type(), c.category(), nullable, null, c.attnum());
    }

    /**
     * A masked column's value. The token's input is the value's text exactly as an unmasked CSV export carries it
     * (the type's output function under the capture's pinned settings, with the CSV's timestamp and boolean
     * forms), so anyone holding the key can compute the token of a known value. num_nulls, not IS NULL: a
     * composite value whose fields are all NULL is not NULL itself.
     */
    private String masked(Column c, Mask mask, String value) {
        if (mask == Mask.NULL) {
            return "NULL::text";
        }
        MaskingKey key = access.maskingKey().orElseThrow();
        String text = "format('%s', " + ExportFormat.CSV.render(new FileColumn(c.name(), c.type(), c.category(), true),
                value) + ")";
        return "CASE WHEN num_nulls(" + value + ") = 0 THEN " + key.sql(text) + " END";
    }

    /**
     * Whether the export can be read in key-range chunks: a whole table and an incremental window are (their
     * SELECT filters rows of the table and orders them by key, so a key range is one more filter); a delta's
     * window is not, as its rows come from a join of the change log (deleted rows have no table row to range on).
     */
    boolean chunkable() {
        if (staged) {
            return false; // parallel readers are other sessions: they cannot see the export's staged window
        }
        return read != Read.CHANGES;
    }

    /** The table read: {@link ChunkPlan} splits it on its first key column. */
    TableShape shape() {
        return shape;
    }

    /** Whether a change window contains a TRUNCATE (or a key change): its removed rows cannot be named. */
    String truncatedSql() {
        return "SELECT EXISTS (SELECT 1 FROM " + log + " l WHERE l.table_oid = " + shape.relid() + " AND l.op = 'T' AND "
                + window("l") + ")";
    }

    /**
     * The greatest updated_at of the export (tables with soft-delete columns), and its row count: for a whole table the updated_at
     * index's maximum and no count (COPY counts), otherwise one pass over the change window; a delta's also
     * counts its rows by operation.
     */
    String summarySql() {
        if (readsAllLiveRows()) {
            return softDeletes ? "SELECT max(t.updated_at), NULL FROM " + shape.name().sql() + " t WHERE " + liveFilter("t")
                    + " AND " + access.predicate("t") : "SELECT NULL::timestamptz, NULL";
        }
        String operations = !read.hasOperations() ? ""
                : ", count(*) FILTER (WHERE operation = 'INSERT'), count(*) FILTER (WHERE operation = 'UPDATE'), "
                + "count(*) FILTER (WHERE operation = 'DELETE')";
        return "SELECT max(updated_at_raw), count(*)" + operations + " FROM (" + rowsSql(true) + ") AS summary";
    }

    /** The planner's row estimate, in EXPLAIN's JSON ("Plan Rows"). */
    String estimateSql() {
        return "EXPLAIN (FORMAT JSON) " + selectSql();
    }

    private String selectSql() {
        return selectSql(KeyRange.ALL);
    }

    private String selectSql(KeyRange range) {
        return rowsSql(false, range);
    }

    private String rowsSql(boolean summary) {
        return rowsSql(summary, KeyRange.ALL);
    }

    private String rowsSql(boolean summary, KeyRange range) {
        if (read == Read.CHANGES) {
            return deltaSql(summary);
        }
        StringBuilder sql = new StringBuilder("SELECT ");
        if (read == Read.WHOLE_TABLE_AS_CHANGES) {
            // No previous export: every row is new to this consumer. A filtered consumer gets the rows it may see
            // and holds from now on, each an INSERT; the soft-delete rule would also list deleted rows it never had.
            sql.append(softDeletes && !tracksHeldRows() ? softDeleteOperation("t") : "'INSERT'").append(" AS operation, ");
        }
        sql.append(summary ? (softDeletes ? "t.updated_at" : "NULL::timestamptz") + " AS updated_at_raw"
                : rendered("t", columns, null))
                .append(" FROM ").append(shape.name().sql()).append(" t WHERE ").append(access.predicate("t"));
        if (read != Read.WHOLE_TABLE_AS_CHANGES || tracksHeldRows()) {
            sql.append(" AND ").append(liveFilter("t"));
        }
        if (!readsWholeTable()) {
            sql.append(" AND (").append(keyList("t")).append(") IN (SELECT ").append(keyFromLog("l"))
                    .append(" FROM ").append(log).append(" l WHERE l.table_oid = ").append(shape.relid())
                    .append(" AND ").append(window("l")).append(')');
        }
        if (!range.isAll()) {
            Column first = shape.key().get(0);
            sql.append(" AND ").append(range.predicate("t." + first.sql(), first.type()));
        }
        return summary ? sql.toString() : sql.append(" ORDER BY ").append(keyList("t")).toString();
    }

    /**
     * Whether what the consumer holds is kept in held_rows: for a consumer that sees the table through a row
     * filter, "was the row inside the filter at P" is not "did the row exist at P", and only held_rows knows it.
     */
    boolean tracksHeldRows() {
        return !access.filter().isEmpty();
    }

    /**
     * Stages, in S, what the consumer holds of this table once the export commits: for a whole-table read every
     * row it may see (the held rows are replaced), for a window every changed key with whether it may see the row
     * now. The commit applies them (see HeldRows), so the held rows move with the watermark or not at all.
     */
    String stageHeldRowsSql() {
        return "INSERT INTO " + heldRowsPending() + " " + heldRowsSql();
    }

    /** held_rows_pending and its columns, as {@link #heldRowsSql()} lists them. */
    private String heldRowsPending() {
        return schema + ".held_rows_pending (job_id, attempt, table_name, key, held)";
    }

    /** The COPY that takes {@link #heldRowsSql()}'s rows, read on a standby, into the primary's staging. */
    String heldRowsCopyInSql() {
        return "COPY " + heldRowsPending() + " FROM STDIN";
    }

    /** The rows {@link #stageHeldRowsSql()} stages: job, attempt, table, key, and whether the consumer holds it. */
    String heldRowsSql() {
        String staged = "SELECT " + SqlText.literal(held.jobId().toString()) + "::uuid, " + held.attempt() + ", "
                + SqlText.literal(shape.name().qualified()) + ", ";
        String table = shape.name().sql();
        if (readsWholeTable()) {
            return staged + "jsonb_build_array(" + keyList("t") + "), TRUE FROM " + table + " t WHERE "
                    + access.predicate("t") + " AND " + liveFilter("t");
        }
        return staged + heldKey("f") + ", EXISTS (SELECT 1 FROM " + table + " t WHERE " + keyJoin("t", "f") + " AND "
                + access.predicate("t") + " AND " + liveFilter("t") + ") FROM (SELECT DISTINCT l.key FROM " + log
                + " l WHERE l.table_oid = " + shape.relid() + " AND " + window("l") + ") f";
    }

    /** A change entry's key as held_rows keeps it: the typed key values, as JSON, in the export's session. */
    private String heldKey(String entry) {
        return "jsonb_build_array(" + keyFromLog(entry) + ")";
    }

    /**
     * One row per key changed in the window, decided by what the consumer held at P and may see in S:
     * held and visible: UPDATE; visible only: INSERT; held only: DELETE; neither: nothing, ever. "Visible" is the
     * row existing in S and passing the consumer's row filter. "Held" is read from held_rows for a consumer with a
     * row filter; without one it held every row that existed at P, which the first change in the window tells (a
     * row born in the window starts with an I). A row that is visible carries its state in S; a DELETE carries the
     * row's last values (its state in S, or the change log's values of a deleted row) only where the consumer may
     * see them, i.e. they pass its filter, and the key alone otherwise, so a filter never leaks the values it hides.
     */
    private String deltaSql(boolean summary) {
        String table = shape.name().sql();
        boolean filtered = tracksHeldRows();
        String present = "t." + shape.key().get(0).sql() + " IS NOT NULL";
        String visible = filtered ? access.predicate("t") + " AND " + liveFilter("t") : access.predicate("t");
        String heldAtP = filtered ? "EXISTS (SELECT 1 FROM " + schema + ".held_rows h WHERE h.consumer_id = "
                + SqlText.literal(held.consumerId()) + " AND h.table_name = "
                + SqlText.literal(shape.name().qualified()) + " AND h.key = " + heldKey("f") + ")"
                : "f.first_op <> 'I'";
        String changes = "WITH w AS (SELECT key, op, old_row, changed_at, change_xid, seq FROM " + log + " l"
                + " WHERE l.table_oid = " + shape.relid() + " AND " + window("l") + "),"
                + " firsts AS (SELECT DISTINCT ON (key) key, op AS first_op FROM w ORDER BY key, change_xid, seq),"
                + " lasts AS (SELECT DISTINCT ON (key) key, old_row, changed_at FROM w WHERE op = 'D'"
                + " ORDER BY key, change_xid DESC, seq DESC),"
                + " changed AS (SELECT " + present + " AS present, coalesce(" + present + " AND " + visible
                + ", FALSE) AS visible, " + heldAtP + " AS held, l.changed_at AS deleted_at,"
                + " CASE WHEN " + present + " THEN t ELSE jsonb_populate_record(NULL::" + table + ", l.old_row) END AS r"
                + " FROM firsts f LEFT JOIN " + table + " t ON " + keyJoin("t", "f")
                + " LEFT JOIN lasts l ON l.key = f.key OFFSET 0),"
                + " decided AS (SELECT c.*, " + (filtered ? "c.visible OR coalesce(" + access.predicate("(c.r)")
                + ", FALSE)" : "TRUE") + " AS shown FROM changed c WHERE c.visible OR c.held)"
                + " SELECT ";
        String operation = "CASE WHEN NOT c.visible THEN 'DELETE' ELSE "
                + (softDeletes && !filtered ? softDeleteOperation("(c.r)") : "CASE WHEN c.held THEN 'UPDATE' ELSE 'INSERT' END")
                + " END";
        if (summary) {
            return changes + operation + " AS operation, " + (softDeletes ? "CASE WHEN NOT c.shown THEN NULL"
                    + " WHEN c.present THEN (c.r).updated_at ELSE c.deleted_at END" : "NULL::timestamptz")
                    + " AS updated_at_raw FROM decided c";
        }
        return changes + operation + " AS operation, " + rendered("(c.r)", columns, "c") + " FROM decided c"
                + " ORDER BY " + keyList("(c.r)");
    }

    /** The soft-delete rule: rows with is_deleted are DELETE, rows never updated INSERT, others UPDATE. */
    private static String softDeleteOperation(String row) {
        return "CASE WHEN " + row + ".is_deleted THEN 'DELETE' WHEN " + row + ".created_at = " + row + ".updated_at"
                + " THEN 'INSERT' ELSE 'UPDATE' END";
    }

    /** Full and incremental exports carry live rows only; in tables with soft-delete columns, rows with is_deleted are not live. */
    private String liveFilter(String alias) {
        return softDeletes ? "NOT " + alias + ".is_deleted" : "TRUE";
    }

    /**
     * The columns in the file's form (the format renders each). In a delta, a hard-deleted row of a table with soft-delete columns
     * carries is_deleted=true and its deletion time as updated_at.
     */
    private String rendered(String row, List<Column> shown, String changeAlias) {
        List<String> out = new ArrayList<>();
        for (Column c : shown) {
            String value = row + "." + c.sql();
            if (changeAlias != null && softDeletes && c.name().equals("is_deleted")) {
                value = "(" + value + " OR NOT " + changeAlias + ".present)";
            } else if (changeAlias != null && softDeletes && c.name().equals("updated_at")) {
                value = "CASE WHEN " + changeAlias + ".present THEN " + value + " ELSE " + changeAlias + ".deleted_at END";
            }
            if (changeAlias != null && tracksHeldRows() && !c.isKey()) {
                // A DELETE of values the filter hides carries the key alone (with soft-delete columns it still says is_deleted).
                value = "CASE WHEN " + changeAlias + ".shown THEN " + value + " ELSE "
                        + (softDeletes && c.name().equals("is_deleted") ? "TRUE" : "NULL") + " END";
            }
            Mask mask = access.masks().get(c.name());
            if (mask != null) {
                value = masked(c, mask, value);
            }
            out.add(format.render(fileColumn(c), value) + " AS " + c.sql());
        }
        return String.join(", ", out);
    }

    private String keyList(String row) {
        return shape.key().stream().map(k -> row + "." + k.sql()).collect(Collectors.joining(", "));
    }

    /** The key of a change entry, typed like the table's key columns. */
    private String keyFromLog(String entry) {
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < shape.key().size(); i++) {
            parts.add("(" + entry + ".key ->> " + i + ")::" + shape.key().get(i).type());
        }
        return String.join(", ", parts);
    }

    private String keyJoin(String row, String entry) {
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < shape.key().size(); i++) {
            Column k = shape.key().get(i);
            parts.add(row + "." + k.sql() + " = (" + entry + ".key ->> " + i + ")::" + k.type());
        }
        return String.join(" AND ", parts);
    }

    private String window(String entry) {
        Snapshot p = since.orElseThrow();
        return entry + ".change_xid >= pg_snapshot_xmin(" + p.sqlLiteral() + ") AND NOT pg_visible_in_snapshot("
                + entry + ".change_xid, " + p.sqlLiteral() + ")";
    }
}
