package com.cdcexport.auth;

import java.io.IOException;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.security.access.AccessDeniedException;
import org.springframework.security.authentication.InternalAuthenticationServiceException;
import org.springframework.security.authorization.AuthorizationDeniedException;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.AuthenticationException;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.security.web.AuthenticationEntryPoint;
import org.springframework.security.web.access.AccessDeniedHandler;
import org.springframework.security.web.authentication.AuthenticationFailureHandler;
import org.springframework.stereotype.Component;
import org.springframework.web.servlet.HandlerExceptionResolver;

import com.cdcexport.auth.ApiKeyAuthenticationProvider.RejectedKeyException;

/**
 * The 401s and 403s of the filter chain: each is audited as auth_failed, then handed to the API's problem
 * handler, so they leave as the same problem+json as every other error.
 */
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
@Component
class SecurityProblems implements AuthenticationEntryPoint, AuthenticationFailureHandler, AccessDeniedHandler {

    static final String HOW_TO_AUTHENTICATE = "send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'";

    private final HandlerExceptionResolver resolver;
    private final AuthFailures failures;

    SecurityProblems(@Qualifier("handlerExceptionResolver") HandlerExceptionResolver resolver,
                     AuthFailures failures) {
        this.resolver = resolver;
        this.failures = failures;
    }

    /** No credentials on a protected path. */
    @Override
    public void commence(HttpServletRequest request, HttpServletResponse response, AuthenticationException e) {
        failures.failed(request, "missing_key", null, null, Credentials.NONE);
        resolver.resolveException(request, response, null,
                AuthProblem.unauthenticated("This endpoint needs authentication: " + HOW_TO_AUTHENTICATE, Credentials.NONE));
    }

    /**
     * Credentials that open nothing (unknown, revoked or expired keys, a malformed Authorization header), or a key
     * that could not be checked because the database failed.
     */
    @Override
    public void onAuthenticationFailure(HttpServletRequest request, HttpServletResponse response,
                                        AuthenticationException e) throws IOException {
        SecurityContextHolder.clearContext();
        if (e instanceof InternalAuthenticationServiceException && e.getCause() instanceof Exception cause) {
            // Not an authentication failure: the problem handler makes a database outage a 503 with Retry-After.
            resolver.resolveException(request, response, null, cause);
        } else if (e instanceof RejectedKeyException rejected) {
            ConsumerService.Verification v = rejected.verification();
            failures.failed(request, v.reason(), v.consumerId(), v.keyId(), Credentials.INVALID);
            resolver.resolveException(request, response, null,
                    AuthProblem.unauthenticated("The API key is not valid: it is unknown, revoked or expired", Credentials.INVALID));
        } else {
            failures.failed(request, "malformed_credentials", null, null, Credentials.INVALID);
            resolver.resolveException(request, response, null, AuthProblem.unauthenticated(e.getMessage(), Credentials.INVALID));
        }
    }

    /** Authenticated, but not for this: another consumer's data, or an admin-only endpoint. */
    @Override
    public void handle(HttpServletRequest request, HttpServletResponse response, AccessDeniedException e) {
        Caller caller = callerOf(SecurityContextHolder.getContext().getAuthentication());
        String reason = "admin_only";
        String detail = "This endpoint needs the admin token (ADMIN_TOKEN)";
        if (e instanceof AuthorizationDeniedException denied
                && denied.getAuthorizationResult() instanceof ExportAccess.Denial denial) {
            reason = denial.reason();
            detail = denial.detail();
        }
        failures.failed(request, reason, caller == null ? null : caller.consumerId(),
                caller == null ? null : caller.keyId(), Credentials.VALID);
        resolver.resolveException(request, response, null, AuthProblem.forbidden(detail));
    }

    /**
     * Before the key is looked up: an address that presented too many bad keys gets 429 until its allowance
     * refills, whatever key it sends now.
     */
    boolean throttled(HttpServletRequest request, HttpServletResponse response) {
        long seconds = failures.secondsBlocked(request.getRemoteAddr());
        if (seconds == 0) {
            return false;
        }
        failures.throttled(request);
        resolver.resolveException(request, response, null, AuthProblem.rateLimited("Too many requests with keys "
                + "that are not valid from this address; retry after " + seconds + " s", seconds));
        return true;
    }

    static Caller callerOf(Authentication authentication) {
        return authentication instanceof ApiKeyAuthentication key && key.isAuthenticated() ? key.caller() : null;
    }
}
