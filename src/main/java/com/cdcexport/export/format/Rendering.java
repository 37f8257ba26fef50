package com.cdcexport.export.format;

/** The text forms both text formats share: what the seed's CSV promised, and JSON keeps for strings. */
final class Rendering {

    private static final String UTC_TIMESTAMP = "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'";
    private static final String LOCAL_TIMESTAMP = "'YYYY-MM-DD\"T\"HH24:MI:SS.US'";

    private Rendering() {
    }

    /**
     * Timestamps as ISO 8601 with microseconds (UTC with Z for timestamptz), booleans as true/false, everything
     * else in PostgreSQL's own text form (COPY's).
     */
    static String csv(FileColumn c, String value) {
        return c.type().equals("boolean") ? value + "::text" : timestamp(c, value);
    }

    /**
     * row_to_json's own forms (numbers and booleans bare, json nested, arrays as arrays, NULL as null) except
     * timestamps, which keep the CSV's ISO text rather than row_to_json's offset form.
     */
    static String json(FileColumn c, String value) {
        return timestamp(c, value);
    }

    private static String timestamp(FileColumn c, String value) {
        return switch (c.type()) {
            case "timestamp with time zone" -> finite(value, "to_char(" + value + " AT TIME ZONE 'UTC', "
                    + UTC_TIMESTAMP + ")");
            case "timestamp without time zone" -> finite(value, "to_char(" + value + ", " + LOCAL_TIMESTAMP + ")");
            default -> value;
        };
    }

    /** to_char has no text for infinity; PostgreSQL's own ('infinity', '-infinity') is what COPY reads back. */
    private static String finite(String value, String formatted) {
        return "CASE WHEN isfinite(" + value + ") THEN " + formatted + " ELSE " + value + "::text END";
    }
}
