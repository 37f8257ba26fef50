package com.cdcexport.config;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import org.springframework.boot.diagnostics.FailureAnalysis;

class LogFormatTest {

    @ParameterizedTest
    @CsvSource({
            "auto, true, text",
            "auto, false, json",
            "AUTO, false, json",
            "text, false, text",
            "json, true, json",
            "' Text ', false, text"})
    void logFormatIsTextForAPersonJsonOtherwiseUnlessLogFormatSaysSo(String setting, boolean forAPerson,
                                                                    String expected) {
        assertThat(LogFormat.resolve(setting, forAPerson)).isEqualTo(expected);
    }

    @Test
    void aStartupFailureIsOneLineWithWhatToDo() {
        FailureAnalysis analysis = new FailureAnalysis("Connection to 127.0.0.1:1 refused.\nCheck the host.",
                "check that PostgreSQL is running", new IllegalStateException());

        assertThat(OneLineFailureReporter.line(analysis)).isEqualTo(
                "Cannot start: Connection to 127.0.0.1:1 refused. Check the host; check that PostgreSQL is running");
    }

    @Test
    void aStartupFailureWhoseMessageSaysWhatToDoNeedsNoAction() {
        FailureAnalysis analysis = new FailureAnalysis("DATABASE_URL is not set: set DATABASE_URL=…", "",
                new IllegalStateException());

        assertThat(OneLineFailureReporter.line(analysis)).isEqualTo("Cannot start: DATABASE_URL is not set: set DATABASE_URL=…");
    }
}
