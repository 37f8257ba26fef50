package com.cdcexport.export.access;

import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.swagger.v3.oas.annotations.media.Schema;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.dao.DataAccessException;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Propagation;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.web.ErrorResponseException;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.consumer.ConsumerId;
import com.cdcexport.export.capture.CapturedTables;
import com.cdcexport.export.model.Mask;
import com.cdcexport.export.model.MaskingKey;
import com.cdcexport.export.model.TableAccess;
import com.cdcexport.export.model.TableAccess.Condition;
import com.cdcexport.export.model.TableAccess.Operator;
import com.cdcexport.export.model.TableName;
import com.cdcexport.export.watermark.HeldRows;
import com.cdcexport.export.watermark.WatermarkService;

/**
 * Which tables a consumer may export and what it sees of each. A consumer without any entry sees every captured
 * table whole; once the admin sets one table for it, it may export only the tables it has entries for.
 */
@Service
public class TableAccessStore {

    /**
     * Values in one rule's filter, all conditions together. Every export of the consumer renders them into its
     * query: 1.5 million of them made each export take 23 s.
     */
    public static final int MAX_VALUES = 1_000;
    /** Conditions in one rule's filter. */
    public static final int MAX_CONDITIONS = 100;
    /** Entries of a rule's column list: PostgreSQL's own limit of columns in a table. */
    public static final int MAX_COLUMNS = 1_600;

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final JdbcClient jdbc;
    private final CapturedTables captured;
    private final Clock clock;
    private final WatermarkService watermarks;
    private final HeldRows held;
    private final Optional<MaskingKey> maskingKey;

    TableAccessStore(JdbcClient jdbc, CapturedTables captured, Clock clock, WatermarkService watermarks,
                     HeldRows held, CdcProperties properties) {
        this.jdbc = jdbc;
        this.captured = captured;
        this.clock = clock;
        this.watermarks = watermarks;
        this.held = held;
        String key = properties.masking().key();
        this.maskingKey = key.isEmpty() ? Optional.empty() : Optional.of(MaskingKey.of(key));
    }

    /** A condition as the API carries it: {@code value} for one-value operators, {@code values} for in/not in. */
    public record FilterCondition(String column, String op, @Schema(nullable = true) String value,
                                  @Schema(nullable = true) List<String> values) {
    }

    /** One table's rule as the API shows it; {@code masks} only when it has some. */
    public record TableRule(String table, @Schema(nullable = true, description = "null: every column")
                            List<String> columns, List<FilterCondition> filter,
                            @JsonInclude(JsonInclude.Include.NON_EMPTY) @Schema(description = "masked columns: "
                                    + "column -> hmac-sha256 or null") Map<String, String> masks) {

        public TableRule {
            masks = masks == null ? Map.of() : masks;
        }
    }

    /**
     * What {@code consumer} sees of {@code table}.
     *
     * @throws TableNotAllowedException when the consumer is restricted to other tables
     */
    public TableAccess accessOf(ConsumerId consumer, TableName table) {
        List<TableRule> rules = list(consumer);
        if (rules.isEmpty()) {
            return TableAccess.ALL;
        }
        return rules.stream().filter(r -> r.table().equals(table.qualified())).findFirst()
                .map(this::toAccess)
                .orElseThrow(() -> new TableNotAllowedException(consumer, table));
    }

    /**
     * What {@code consumer} sees of {@code table} now, with the table's rule locked until the caller's transaction
     * ends: the commit of an export reads it so, to refuse a watermark taken under a row filter that has changed
     * since the export read its rows (see {@link #put}).
     */
    @Transactional(propagation = Propagation.MANDATORY)
    public TableAccess lockedAccessOf(ConsumerId consumer, TableName table) {
        lock(consumer, table);
        return accessOf(consumer, table);
    }

    /** Serializes changes of one consumer's rule on one table with the commits of its exports of that table. */
    private void lock(ConsumerId consumer, TableName table) {
        jdbc.sql("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
                .param("key", "cdc.consumer_tables:" + consumer.value() + ":" + table.qualified()).query().listOfRows();
    }

    /**
     * A consumer's watermark of a table holds only for the row filter it was taken under: which rows the consumer
     * holds, and so whether a later change is an INSERT, an UPDATE, a DELETE or nothing to it, depends on the
     * filter. When the filter changes, the consumer's next export of the table starts over, as its first did.
     */
    private void startOverIfFilterChanges(ConsumerId consumer, TableName table, List<Condition> filter) {
        List<Condition> before = list(consumer).stream().filter(r -> r.table().equals(table.qualified())).findFirst()
                .map(r -> conditions(r.filter())).orElse(List.of());
        if (!before.equals(filter)) {
            watermarks.forget(consumer, table);
            held.forget(consumer, table);
        }
    }

    public List<TableRule> list(ConsumerId consumer) {
        return jdbc.sql("SELECT table_name, columns, row_filter::text, masks::text FROM consumer_tables"
                        + " WHERE consumer_id = :c ORDER BY table_name")
                .param("c", consumer.value()).query(TableAccessStore::rule).list();
    }

    /**
     * Validates the rule against the table as it is now, then stores it. A changed row filter makes the consumer's
     * next export of the table start over (see {@link #startOverIfFilterChanges}).
     */
    @Transactional
    public TableRule put(ConsumerId consumer, TableName table, List<String> columns, List<FilterCondition> filter,
                         Map<String, String> masks) {
        if (!captured.isCaptured(table)) {
            throw new UnknownTableException(table);
        }
        List<FilterCondition> conditions = filter == null ? List.of() : filter;
        requireWithinLimits(columns, conditions);
        Map<String, String> masked = masks == null ? Map.of() : masks;
        if (masked.size() > MAX_COLUMNS) {
            throw badRule("A rule masks at most " + String.format(Locale.ROOT, "%,d", MAX_COLUMNS) + " columns");
        }
        List<String> existing = jdbc.sql("""
                SELECT a.attname FROM pg_attribute a
                 WHERE a.attrelid = to_regclass(:table) AND a.attnum > 0 AND NOT a.attisdropped""")
                .param("table", table.sql()).query(String.class).list();
        for (String column : columns == null ? List.<String>of() : columns) {
            requireColumn(existing, column, table);
        }
        requireMaskable(masked.keySet(), existing, columns, table);
        TableAccess access = toAccess(new TableRule(table.qualified(), columns, conditions, masked));
        for (Condition condition : access.filter()) {
            requireColumn(existing, condition.column(), table);
        }
        try {
            // Planning the filter checks every literal against its column's type (an invalid date, a non-number).
            jdbc.sql("EXPLAIN SELECT 1 FROM " + table.sql() + " t WHERE " + access.predicate("t")).query().listOfRows();
        } catch (DataAccessException e) {
            if (isDataError(e)) {
                throw badRule("The filter does not fit the columns' types: " + rootMessage(e));
            }
            throw e;
        }
        lock(consumer, table);
        startOverIfFilterChanges(consumer, table, access.filter());
        jdbc.sql("""
                INSERT INTO consumer_tables (consumer_id, table_name, columns, row_filter, masks, updated_at)
                VALUES (:c, :t, :columns::text[], CAST(:filter AS jsonb), CAST(:masks AS jsonb), :now)
                ON CONFLICT (consumer_id, table_name) DO UPDATE
                   SET columns = EXCLUDED.columns, row_filter = EXCLUDED.row_filter, masks = EXCLUDED.masks,
                       updated_at = EXCLUDED.updated_at""")
                .param("c", consumer.value()).param("t", table.qualified())
                .param("columns", columns == null ? null : pgTextArray(columns))
                .param("filter", conditions.isEmpty() ? null : json(conditions))
                .param("masks", masked.isEmpty() ? null : JSON.writeValueAsString(masked))
                .param("now", java.sql.Timestamp.from(clock.instant())).update();
        return new TableRule(table.qualified(), columns, conditions, masked);
    }

    /**
     * A masked column must exist and be one the consumer receives, and never be part of the primary key: the
     * consumer needs the key to apply changes, and a token of it would still single out the row.
     */
    private void requireMaskable(java.util.Set<String> masked, List<String> existing, List<String> columns,
                                 TableName table) {
        if (masked.isEmpty()) {
            return;
        }
        List<String> key = jdbc.sql("""
                SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid
                   AND a.attnum = ANY (i.indkey::int2[])
                 WHERE i.indrelid = to_regclass(:table) AND i.indisprimary""")
                .param("table", table.sql()).query(String.class).list();
        for (String column : masked) {
            requireColumn(existing, column, table);
            if (key.contains(column)) {
                throw badRule("Column '" + column + "' is part of the primary key of " + table + ", which a consumer "
                        + "always receives as it is (it needs the key to apply changes); it cannot be masked");
            }
            if (columns != null && !columns.contains(column)) {
                throw badRule("Column '" + column + "' is masked but not among the rule's columns: add it to "
                        + "columns, or remove its mask");
            }
        }
    }

    /** @return whether there was a rule */
    @Transactional
    public boolean remove(ConsumerId consumer, TableName table) {
        lock(consumer, table);
        startOverIfFilterChanges(consumer, table, List.of());
        return jdbc.sql("DELETE FROM consumer_tables WHERE consumer_id = :c AND table_name = :t")
                .param("c", consumer.value()).param("t", table.qualified()).update() == 1;
    }

    /** Refuses nulls where names and values belong, and rules beyond the limits, before anything reads them. */
    private static void requireWithinLimits(List<String> columns, List<FilterCondition> conditions) {
        if (columns != null) {
            if (columns.size() > MAX_COLUMNS) {
                throw badRule("A rule names at most " + String.format(Locale.ROOT, "%,d", MAX_COLUMNS) + " columns");
            }
            if (columns.contains(null)) {
                throw badRule("columns must be column names; null is not one");
            }
        }
        if (conditions.size() > MAX_CONDITIONS) {
            throw badRule("A rule's filter has at most " + MAX_CONDITIONS + " conditions");
        }
        long values = 0;
        for (FilterCondition c : conditions) {
            if (c != null && c.values() != null) {
                if (c.values().contains(null)) {
                    throw badRule("Filter values must be text; null is not a value (use the operators is null "
                            + "and is not null)");
                }
                values += c.values().size();
            }
        }
        if (values > MAX_VALUES) {
            throw badRule("A rule's filter holds at most " + String.format(Locale.ROOT, "%,d", MAX_VALUES)
                    + " values in all its conditions; this one has " + String.format(Locale.ROOT, "%,d", values));
        }
    }

    private TableAccess toAccess(TableRule rule) {
        List<Condition> conditions = conditions(rule.filter());
        Map<String, Mask> masks = new LinkedHashMap<>();
        rule.masks().forEach((column, name) -> masks.put(column, Mask.of(name).orElseThrow(() -> badRule(
                "The mask of column '" + column + "' must be one of " + Mask.names() + " (as a string)"))));
        if (masks.containsValue(Mask.HMAC_SHA256) && maskingKey.isEmpty()) {
            throw new MaskingKeyMissingException(rule.table());
        }
        return new TableAccess(Optional.ofNullable(rule.columns()), conditions, masks, maskingKey);
    }

    private static List<Condition> conditions(List<FilterCondition> filter) {
        List<Condition> conditions = new ArrayList<>();
        for (FilterCondition c : filter == null ? List.<FilterCondition>of() : filter) {
            if (c == null || c.column() == null) {
                throw badRule("Every filter condition needs a column");
            }
            Operator op = Operator.of(c.op()).orElseThrow(() -> badRule("Unknown filter operator '" + c.op()
                    + "': use =, <>, <, <=, >, >=, in, not in, is null or is not null"));
            List<String> values = c.values() != null ? c.values() : c.value() != null ? List.of(c.value()) : List.of();
            try {
                conditions.add(new Condition(c.column(), op, values));
            } catch (IllegalArgumentException e) {
                throw badRule(e.getMessage());
            }
        }
        return conditions;
    }

    private static void requireColumn(List<String> existing, String column, TableName table) {
        if (!existing.contains(column)) {
            throw badRule("Table " + table + " has no column '" + (column == null ? "" : column.length() > 64
                    ? column.substring(0, 64) + "..." : column) + "'");
        }
    }

    private static boolean isDataError(DataAccessException e) {
        return e.getMostSpecificCause() instanceof SQLException sql && sql.getSQLState() != null
                && (sql.getSQLState().startsWith("22") || sql.getSQLState().startsWith("42"));
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        String message = root.getMessage() == null ? root.toString() : root.getMessage();
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }

    private static TableRule rule(ResultSet rs, int row) throws SQLException {
        Array columns = rs.getArray(2);
        String filter = rs.getString(3);
        String masks = rs.getString(4);
        return new TableRule(rs.getString(1), columns == null ? null : Arrays.asList((String[]) columns.getArray()),
                filter == null ? List.of() : JSON.readValue(filter, new TypeReference<List<FilterCondition>>() { }),
                masks == null ? Map.of() : JSON.readValue(masks, new TypeReference<LinkedHashMap<String, String>>() { }));
    }

    private static String json(List<FilterCondition> conditions) {
        return JSON.writeValueAsString(conditions);
    }

    private static String pgTextArray(List<String> values) {
        StringBuilder text = new StringBuilder("{");
        for (int i = 0; i < values.size(); i++) {
            String v = values.get(i) == null ? "" : values.get(i);
            text.append(i == 0 ? "" : ",").append('"').append(v.replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
        }
        return text.append('}').toString();
    }

    static ErrorResponseException badRule(String detail) {
        return new ErrorResponseException(HttpStatus.BAD_REQUEST, ProblemDetail.forStatusAndDetail(
                HttpStatus.BAD_REQUEST, detail), null);
    }

    /** 404: the table is not among EXPORT_TABLES. */
    public static final class UnknownTableException extends ErrorResponseException {
        public UnknownTableException(TableName table) {
            super(HttpStatus.NOT_FOUND, ProblemDetail.forStatusAndDetail(HttpStatus.NOT_FOUND, "Table " + table
                    + " is not captured by this service (EXPORT_TABLES)"), null);
        }
    }

    /**
     * 409: a rule masks with hmac-sha256 but the service has no MASKING_KEY. Refused rather than exported unmasked:
     * when setting the rule, and for every export of it (a key removed since) before anything is queued.
     */
    public static final class MaskingKeyMissingException extends ErrorResponseException {
        MaskingKeyMissingException(String table) {
            super(HttpStatus.CONFLICT, ProblemDetail.forStatusAndDetail(HttpStatus.CONFLICT, "The rule for " + table
                    + " masks columns with hmac-sha256, which needs MASKING_KEY, and this service has none: set "
                    + "MASKING_KEY (at least " + CdcProperties.Masking.MIN_LENGTH + " characters, the same on every "
                    + "instance) and restart it"), null);
        }
    }

    /** 403: the admin restricted this consumer to other tables. */
    public static final class TableNotAllowedException extends ErrorResponseException {
        TableNotAllowedException(ConsumerId consumer, TableName table) {
            super(HttpStatus.FORBIDDEN, ProblemDetail.forStatusAndDetail(HttpStatus.FORBIDDEN, "Consumer " + consumer
                    + " may not export " + table), null);
        }
    }
}
