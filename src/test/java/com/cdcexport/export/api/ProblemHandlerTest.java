package com.cdcexport.export.api;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.postgresql.util.PSQLException;
import org.postgresql.util.PSQLState;

import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;

class ProblemHandlerTest {

    private final ProblemHandler handler = new ProblemHandler();

    @Test
    void databaseDataErrorsAreTheClientsBadRequestNotAServerError() {
        for (PSQLState state : new PSQLState[] {PSQLState.DATETIME_OVERFLOW, PSQLState.NUMERIC_VALUE_OUT_OF_RANGE,
                PSQLState.INVALID_PARAMETER_VALUE}) {
            ResponseEntity<ProblemDetail> response = handler.unexpected(new DataIntegrityViolationException(
                    "could not execute query", new PSQLException("out of range", state)));

            assertThat(response.getStatusCode().value()).as(state.getState()).isEqualTo(400);
            assertThat(response.getBody().getDetail()).doesNotContain("out of range:").isNotBlank();
        }
    }

    @Test
    void otherDatabaseErrorsStayServerErrors() {
        ResponseEntity<ProblemDetail> response = handler.unexpected(new DataIntegrityViolationException(
                "could not execute query", new PSQLException("syntax", PSQLState.SYNTAX_ERROR)));

        assertThat(response.getStatusCode().value()).isEqualTo(500);
    }
}
