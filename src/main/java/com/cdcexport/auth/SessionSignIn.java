package com.cdcexport.auth;

import java.util.Optional;

import jakarta.servlet.http.HttpServletRequest;

import org.springframework.security.core.Authentication;
import org.springframework.stereotype.Component;

import com.cdcexport.auth.ApiKeyAuthenticationProvider.RejectedKeyException;
import com.cdcexport.consumer.ConsumerId;

/**
 * Sign-in for the browser console: the admin token or a consumer's key, checked exactly as the API checks a bearer
 * key (same provider, same per-address allowance of bad keys, same auth_failed audit lines), traded by the console
 * for a session. The token itself is never kept: the session holds the authenticated caller only.
 */
@Component
public class SessionSignIn {

    private final ApiKeyAuthenticationProvider provider;
    private final AuthFailures failures;
    private final ConsumerService consumers;

    SessionSignIn(ApiKeyAuthenticationProvider provider, AuthFailures failures, ConsumerService consumers) {
        this.provider = provider;
        this.failures = failures;
        this.consumers = consumers;
    }

    /** What a sign-in attempt came to. */
    public sealed interface Outcome permits SignedIn, Refused, Throttled {
    }

    /** @param authentication what the console stores in the session's security context */
    public record SignedIn(Authentication authentication, Caller caller) implements Outcome {
    }

    public record Refused() implements Outcome {
    }

    public record Throttled(long retryAfterSeconds) implements Outcome {
    }

    /**
     * Checks a presented token. An address that presented too many bad keys (to the API or here) is refused before
     * any lookup; a token that opens nothing spends one of its allowance. A database failure while checking is
     * thrown, not taken for a bad token.
     */
    public Outcome signIn(String token, HttpServletRequest request) {
        long blocked = failures.secondsBlocked(request.getRemoteAddr());
        if (blocked > 0) {
            failures.throttled(request);
            return new Throttled(blocked);
        }
        if (token == null || token.isBlank()) {
            failures.failed(request, "missing_key", null, null, Credentials.NONE);
            return new Refused();
        }
        try {
            // A new authentication that holds the caller only, never the presented token.
            Authentication authenticated = provider.authenticate(ApiKeyAuthentication.presented(token.strip()));
            return new SignedIn(authenticated, SecurityProblems.callerOf(authenticated));
        } catch (RejectedKeyException e) {
            ConsumerService.Verification v = e.verification();
            failures.failed(request, v.reason(), v.consumerId(), v.keyId(), Credentials.INVALID);
            return new Refused();
        }
    }

    /** The caller a session signed in as; empty for anything else. */
    public static Optional<Caller> callerOf(Authentication authentication) {
        return Optional.ofNullable(SecurityProblems.callerOf(authentication));
    }

    /**
     * Whether a session's sign-in still holds: a consumer's key may have been revoked, or expired after a
     * rotation, since the session began; the session must not outlive it. The admin token changes only with a
     * restart, which ends every session.
     */
    public boolean stillValid(Caller caller) {
        if (caller.isAdmin()) {
            return true;
        }
        try {
            return consumers.find(new ConsumerId(caller.consumerId())).keys().stream()
                    .anyMatch(k -> k.keyId().equals(caller.keyId()) && k.active());
        } catch (ConsumerService.NotFoundException e) {
            return false;
        }
    }
}
