package com.cdcexport.export.model;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

import com.cdcexport.sql.SqlText;

/**
 * What one consumer may see of one table: some columns (the key columns always, so changes can be applied), the
 * rows matching every condition, and columns it sees only masked. Conditions are data, rendered with quoted
 * identifiers and literals; no text a client sends is ever SQL.
 *
 * @param masks      masked columns by name (never a key column)
 * @param maskingKey MASKING_KEY, present whenever a mask is {@link Mask#HMAC_SHA256}
 */
public record TableAccess(Optional<List<String>> columns, List<Condition> filter, Map<String, Mask> masks,
                          Optional<MaskingKey> maskingKey) {

    public static final TableAccess ALL = new TableAccess(Optional.empty(), List.of());

    public TableAccess {
        columns = columns.map(List::copyOf);
        filter = List.copyOf(filter);
        masks = Map.copyOf(masks);
        if (maskingKey.isEmpty() && masks.containsValue(Mask.HMAC_SHA256)) {
            throw new IllegalArgumentException("hmac-sha256 masking needs MASKING_KEY");
        }
    }

    /** Without masks. */
    public TableAccess(Optional<List<String>> columns, List<Condition> filter) {
        this(columns, filter, Map.of(), Optional.empty());
    }

    public record Condition(String column, Operator op, List<String> values) {

        public Condition {
            values = List.copyOf(values);
            if (op.arity == Arity.NONE && !values.isEmpty() || op.arity == Arity.ONE && values.size() != 1
                    || op.arity == Arity.MANY && values.isEmpty()) {
                throw new IllegalArgumentException("Operator '" + op.symbol + "' takes " + op.arity.description);
            }
            if (values.stream().anyMatch(v -> v == null || v.indexOf('\0') >= 0)) {
                throw new IllegalArgumentException("Filter values must be non-null text without NUL characters");
            }
        }
    }

    enum Arity {
        NONE("no value"), ONE("exactly one value"), MANY("one or more values");

        private final String description;

        Arity(String description) {
            this.description = description;
        }
    }

    public enum Operator {
        EQ("=", Arity.ONE), NE("<>", Arity.ONE), LT("<", Arity.ONE), LE("<=", Arity.ONE), GT(">", Arity.ONE),
        GE(">=", Arity.ONE), IN("in", Arity.MANY), NOT_IN("not in", Arity.MANY), IS_NULL("is null", Arity.NONE),
        IS_NOT_NULL("is not null", Arity.NONE);

        private final String symbol;
        private final Arity arity;

        Operator(String symbol, Arity arity) {
            this.symbol = symbol;
            this.arity = arity;
        }

        public String symbol() {
            return symbol;
        }

        public static Optional<Operator> of(String symbol) {
            String wanted = symbol == null ? "" : symbol.strip().toLowerCase(Locale.ROOT).replace("!=", "<>");
            for (Operator op : values()) {
                if (op.symbol.equals(wanted)) {
                    return Optional.of(op);
                }
            }
            return Optional.empty();
        }
    }

    /** The condition as SQL on the table alias {@code alias}, or TRUE without conditions. */
    public String predicate(String alias) {
        if (filter.isEmpty()) {
            return "TRUE";
        }
        StringBuilder sql = new StringBuilder();
        for (Condition c : filter) {
            sql.append(sql.isEmpty() ? "" : " AND ").append(alias).append('.').append(SqlText.identifier(c.column()));
            switch (c.op().arity) {
                case NONE -> sql.append(' ').append(c.op().symbol.toUpperCase(Locale.ROOT));
                case ONE -> sql.append(' ').append(c.op().symbol).append(' ').append(SqlText.literal(c.values().get(0)));
                case MANY -> sql.append(' ').append(c.op().symbol.toUpperCase(Locale.ROOT)).append(" (")
                        .append(String.join(", ", c.values().stream().map(SqlText::literal).toList())).append(')');
            }
        }
        return sql.toString();
    }
}
