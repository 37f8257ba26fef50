package com.cdcexport.export.api;

import java.net.URI;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.http.HttpHeaders;
import org.springframework.jdbc.CannotGetJdbcConnectionException;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.web.context.request.WebRequest;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;

import com.cdcexport.consumer.ConsumerId.InvalidConsumerIdException;
import com.cdcexport.export.api.ExportController.NoWatermarkException;
import com.cdcexport.export.api.ExportController.UnknownExportTypeException;
import com.cdcexport.export.api.JobController.FileGoneException;
import com.cdcexport.export.api.JobController.InvalidParameterException;
import com.cdcexport.export.api.JobController.JobNotCompletedException;
import com.cdcexport.export.api.JobController.JobNotFoundException;
import com.cdcexport.export.api.JobController.NoFileException;
import com.cdcexport.export.job.ExportJobService.ConsumerBusyException;
import com.cdcexport.export.job.ExportJobService.ExportRateLimitedException;
import com.cdcexport.export.job.ExportJobService.JobFinishedException;
import com.cdcexport.export.job.ExportJobService.QueueFullException;

/**
 * Every error leaves as application/problem+json, the security layer's 401/403/429 included; the seed's
 * {@code detail} field carries the message.
 * Spring MVC's own errors (404 for unknown paths, 405, ...) come from the inherited handlers.
 */
@RestControllerAdvice
class ProblemHandler extends ResponseEntityExceptionHandler {

    private static final Logger log = LoggerFactory.getLogger(ProblemHandler.class);
    static final int RETRY_AFTER_SECONDS = 5;

    @ExceptionHandler({InvalidConsumerIdException.class, InvalidParameterException.class})
    ResponseEntity<ProblemDetail> badRequest(IllegalArgumentException e) {
        return problem(HttpStatus.BAD_REQUEST, e.getMessage(), HttpHeaders.EMPTY);
    }

    @ExceptionHandler({NoWatermarkException.class, UnknownExportTypeException.class, JobNotFoundException.class})
    ResponseEntity<ProblemDetail> notFound(RuntimeException e) {
        return problem(HttpStatus.NOT_FOUND, e.getMessage(), HttpHeaders.EMPTY);
    }

    @ExceptionHandler(ConsumerBusyException.class)
    ResponseEntity<ProblemDetail> busy(ConsumerBusyException e) {
        ResponseEntity<ProblemDetail> response = problem(HttpStatus.CONFLICT, e.getMessage(), HttpHeaders.EMPTY);
        response.getBody().setProperty("activeJobId", e.activeJobId().toString());
        return response;
    }

    @ExceptionHandler({JobFinishedException.class, JobNotCompletedException.class, NoFileException.class})
    ResponseEntity<ProblemDetail> conflict(RuntimeException e) {
        return problem(HttpStatus.CONFLICT, e.getMessage(), HttpHeaders.EMPTY);
    }

    @ExceptionHandler(FileGoneException.class)
    ResponseEntity<ProblemDetail> gone(FileGoneException e) {
        return problem(HttpStatus.GONE, e.getMessage(), HttpHeaders.EMPTY);
    }

    @ExceptionHandler(ExportRateLimitedException.class)
    ResponseEntity<ProblemDetail> exportRateLimited(ExportRateLimitedException e) {
        HttpHeaders headers = new HttpHeaders();
        headers.set(HttpHeaders.RETRY_AFTER, String.valueOf(e.retryAfterSeconds()));
        return problem(HttpStatus.TOO_MANY_REQUESTS, e.getMessage(), headers);
    }

    @ExceptionHandler(QueueFullException.class)
    ResponseEntity<ProblemDetail> queueFull(QueueFullException e) {
        return problem(HttpStatus.TOO_MANY_REQUESTS, e.getMessage(), retryAfter());
    }

    /** A body that passed {@link RequestBodyLimit} while it was read (chunked): 413, else Spring's 400. */
    @Override
    protected ResponseEntity<Object> handleHttpMessageNotReadable(HttpMessageNotReadableException e,
                                                                  HttpHeaders headers, HttpStatusCode status,
                                                                  WebRequest request) {
        if (tooLarge(e)) {
            return ResponseEntity.status(HttpStatus.CONTENT_TOO_LARGE)
                    .body(problem(HttpStatus.CONTENT_TOO_LARGE, RequestBodyLimit.TOO_LARGE, HttpHeaders.EMPTY).getBody());
        }
        return super.handleHttpMessageNotReadable(e, headers, status, request);
    }

    private static boolean tooLarge(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof RequestBodyLimit.BodyTooLargeException) {
                return true;
            }
        }
        return false;
    }

    /** Only our own faults reach here, and database outages; the client gets no internals. */
    @ExceptionHandler(Exception.class)
    ResponseEntity<ProblemDetail> unexpected(Exception e) {
        if (tooLarge(e)) {
            return problem(HttpStatus.CONTENT_TOO_LARGE, RequestBodyLimit.TOO_LARGE, HttpHeaders.EMPTY);
        }
        String dataError = sqlState(e, "22");
        if (dataError != null) {
            // A data exception (value out of range, bad encoding, ...): request values are the only data a request
            // hands the database, so the client sent something the database cannot take.
            log.info("Request refused by the database with SQLSTATE {}: {}", dataError, e.toString());
            return problem(HttpStatus.BAD_REQUEST, "A value in the request is out of range or malformed",
                    HttpHeaders.EMPTY);
        }
        if (isDatabaseUnavailable(e)) {
            log.warn("Database unavailable: {}", e.toString());
            return problem(HttpStatus.SERVICE_UNAVAILABLE, "The database is unavailable; retry later", retryAfter());
        }
        log.error("Unhandled error", e);
        return problem(HttpStatus.INTERNAL_SERVER_ERROR, "Internal error; see the service log", HttpHeaders.EMPTY);
    }

    /** Connection failures (SQLSTATE 08…) and server shutdown or restart (57P…), whatever wrapped them. */
    private static boolean isDatabaseUnavailable(Throwable e) {
        if (sqlState(e, "08") != null || sqlState(e, "57P") != null) {
            return true;
        }
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof CannotGetJdbcConnectionException || t instanceof SQLTransientConnectionException) {
                return true;
            }
        }
        return false;
    }

    /** The SQLSTATE starting with {@code prefix} of an SQLException in e's causes, else null. */
    private static String sqlState(Throwable e, String prefix) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && sql.getSQLState() != null && sql.getSQLState().startsWith(prefix)) {
                return sql.getSQLState();
            }
        }
        return null;
    }

    private static HttpHeaders retryAfter() {
        HttpHeaders headers = new HttpHeaders();
        headers.set(HttpHeaders.RETRY_AFTER, String.valueOf(RETRY_AFTER_SECONDS));
        return headers;
    }

    static ResponseEntity<ProblemDetail> problem(HttpStatus status, String detail, HttpHeaders headers) {
        ProblemDetail body = ProblemDetail.forStatusAndDetail(status, detail);
        body.setType(URI.create("about:blank"));
        return ResponseEntity.status(status).headers(headers).body(body);
    }
}
