package com.cdcexport.export.model;

import java.util.regex.Pattern;

/**
 * A PostgreSQL snapshot in its text form {@code xmin:xmax:xip,...}. The strict format is what makes it safe
 * to place into COPY statements, which take no bind parameters.
 */
public record Snapshot(String text) {

    private static final Pattern FORMAT = Pattern.compile("\\d{1,20}:\\d{1,20}:(\\d{1,20}(,\\d{1,20})*)?");

    public Snapshot {
        if (text == null || !FORMAT.matcher(text).matches()) {
            throw new IllegalArgumentException("Not a pg_snapshot: " + text);
        }
    }

    public String sqlLiteral() {
        return "'" + text + "'::pg_snapshot";
    }
}
