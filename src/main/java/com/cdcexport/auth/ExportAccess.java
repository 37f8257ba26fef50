package com.cdcexport.auth;

import java.util.function.Supplier;

import jakarta.servlet.http.HttpServletRequest;

import org.springframework.security.authorization.AuthorizationDecision;
import org.springframework.security.authorization.AuthorizationManager;
import org.springframework.security.authorization.AuthorizationResult;
import org.springframework.security.core.Authentication;
import org.springframework.security.web.access.intercept.RequestAuthorizationContext;

/**
 * /exports/** with AUTH_MODE=api-key: a consumer's key, acting for that consumer only. An X-Consumer-ID header
 * (or a consumerId filter) naming anyone else is refused, so no key can read another consumer's data or move
 * its watermark. Jobs of other consumers are hidden by the controllers (404).
 */
final class ExportAccess implements AuthorizationManager<RequestAuthorizationContext> {

    static final String CONSUMER_HEADER = "X-Consumer-ID";

    @Override
    public AuthorizationResult authorize(Supplier<? extends Authentication> authentication,
                                         RequestAuthorizationContext context) {
        Caller caller = SecurityProblems.callerOf(authentication.get());
        if (caller == null) {
            return new AuthorizationDecision(false);
        }
        if (caller.isAdmin()) {
            return new Denial("not_a_consumer",
                    "The admin token is not a consumer's key; /exports needs the key of the consumer");
        }
        HttpServletRequest request = context.getRequest();
        if (names(request.getHeader(CONSUMER_HEADER), caller) || names(request.getParameter("consumerId"), caller)) {
            return new Denial("consumer_mismatch", "This API key belongs to consumer '" + caller.consumerId()
                    + "'; it cannot act for another consumer (X-Consumer-ID may be left out)");
        }
        return new AuthorizationDecision(true);
    }

    private static boolean names(String consumer, Caller caller) {
        return consumer != null && !consumer.equals(caller.consumerId());
    }

    /** A refusal that says why, for the 403's detail and the audit event. */
    record Denial(String reason, String detail) implements AuthorizationResult {
        @Override
        public boolean isGranted() {
            return false;
        }
    }
}
