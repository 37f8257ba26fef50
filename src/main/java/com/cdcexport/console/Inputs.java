package com.cdcexport.console;

import com.cdcexport.consumer.ConsumerId;

/** What the console's forms and links send, checked once for every page. */
final class Inputs {

    private Inputs() {
    }

    static boolean blank(String value) {
        return value == null || value.isBlank();
    }

    /** For echoing a value back in a message without echoing a page of it. */
    static String shorten(String value) {
        return value.length() > 64 ? value.substring(0, 64) + "…" : value;
    }

    static ConsumerId consumerId(String value) {
        try {
            return new ConsumerId(value == null ? "" : value.strip());
        } catch (IllegalArgumentException e) {
            throw new ConsoleErrors.BadInput("A consumer id must be " + ConsumerId.RULE);
        }
    }
}
