package com.cdcexport.export;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import com.cdcexport.support.IntegrationTest;

/** Whatever a name holds, a standard RFC 4180 parser reads back exactly what the table holds. */
class CsvRoundTripTest extends IntegrationTest {

    private static final List<String> AWKWARD_NAMES = List.of(
            "Smith, John",
            "The \"Boss\"",
            "Line one\nline two",
            "Carriage\r\nreturn",
            "  padded  ",
            "",
            "Back\\slash",
            "Ünïcødé 名前 😀",
            "'single'",
            "\"",
            ",",
            "tab\there");

    @Test
    void awkwardNamesSurviveTheRoundTrip() {
        for (int i = 0; i < AWKWARD_NAMES.size(); i++) {
            insertUser(AWKWARD_NAMES.get(i), "user" + i + "@example.com");
        }

        List<String[]> full = export("full", "roundtrip");
        List<String[]> delta = export("delta", "roundtrip-delta");

        assertThat(column(full, "name")).containsExactlyElementsOf(AWKWARD_NAMES);
        assertThat(column(delta, "name")).containsExactlyElementsOf(AWKWARD_NAMES);
        assertThat(column(full, "email")).allMatch(e -> e.matches("user\\d+@example.com"));
    }

    @Test
    void timestampsAreUtcWithMicrosecondsAndBooleansAreWords() {
        jdbc.execute("SET TIME ZONE 'America/New_York'");
        jdbc.update("INSERT INTO users (name, email, created_at, updated_at) VALUES "
                + "('Ada', 'ada@example.com', '2026-02-26 04:30:00.5+02', '2026-02-26 04:30:00.5+02')");

        List<String[]> rows = export("full", "tz");

        assertThat(column(rows, "created_at")).containsExactly("2026-02-26T02:30:00.500000Z");
        assertThat(column(rows, "is_deleted")).containsExactly("false");
    }
}
