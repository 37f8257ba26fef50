package com.cdcexport.auth;

import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.web.ErrorResponseException;

/**
 * What the security layer and consumer management answer with: an HTTP status, a detail and headers. It carries
 * its own status, so Spring MVC renders it as problem+json like every other error without knowing this package.
 */
public final class AuthProblem extends ErrorResponseException {

    private AuthProblem(HttpStatus status, String detail, HttpHeaders headers) {
        super(status, ProblemDetail.forStatusAndDetail(status, detail), null);
        getHeaders().putAll(headers);
    }

    @Override
    public String getMessage() {
        return getBody().getDetail();
    }

    /** 401; RFC 6750's error="invalid_token" when a key was sent but opens nothing. */
    static AuthProblem unauthenticated(String detail, Credentials presented) {
        HttpHeaders headers = new HttpHeaders();
        headers.set(HttpHeaders.WWW_AUTHENTICATE,
                "Bearer realm=\"cdc-export\"" + (presented == Credentials.INVALID ? ", error=\"invalid_token\"" : ""));
        return new AuthProblem(HttpStatus.UNAUTHORIZED, detail, headers);
    }

    static AuthProblem forbidden(String detail) {
        return new AuthProblem(HttpStatus.FORBIDDEN, detail, HttpHeaders.EMPTY);
    }

    static AuthProblem rateLimited(String detail, long retryAfterSeconds) {
        HttpHeaders headers = new HttpHeaders();
        headers.set(HttpHeaders.RETRY_AFTER, Long.toString(retryAfterSeconds));
        return new AuthProblem(HttpStatus.TOO_MANY_REQUESTS, detail, headers);
    }

    static AuthProblem badRequest(String detail) {
        return new AuthProblem(HttpStatus.BAD_REQUEST, detail, HttpHeaders.EMPTY);
    }
}
