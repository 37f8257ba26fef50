package com.cdcexport.auth;

import org.springframework.security.authentication.AuthenticationProvider;
import org.springframework.security.authentication.BadCredentialsException;
import org.springframework.security.authentication.InternalAuthenticationServiceException;
import org.springframework.security.core.Authentication;
import org.springframework.stereotype.Component;

import com.cdcexport.config.CdcProperties;

/** Turns a presented key into a {@link Caller}: the admin token, or a live key of a consumer. */
@Component
class ApiKeyAuthenticationProvider implements AuthenticationProvider {

    private final ConsumerService consumers;
    private final byte[] adminTokenHash;

    ApiKeyAuthenticationProvider(ConsumerService consumers, CdcProperties properties) {
        this.consumers = consumers;
        String adminToken = properties.auth().adminToken();
        this.adminTokenHash = adminToken.isEmpty() ? null : ApiKeys.hash(adminToken);
    }

    @Override
    public Authentication authenticate(Authentication authentication) {
        byte[] presented = ApiKeys.hash((String) authentication.getCredentials());
        if (adminTokenHash != null && ApiKeys.matches(presented, adminTokenHash)) {
            return ApiKeyAuthentication.authenticated(Caller.ADMIN);
        }
        ConsumerService.Verification verification;
        try {
            verification = consumers.verify(presented);
        } catch (RuntimeException e) {
            // The database, not the key, failed: the failure handler answers 503 (or 500), never 401.
            throw new InternalAuthenticationServiceException("Could not check the API key", e);
        }
        if (!verification.valid()) {
            throw new RejectedKeyException(verification);
        }
        return ApiKeyAuthentication.authenticated(new Caller(verification.consumerId(), verification.keyId()));
    }

    @Override
    public boolean supports(Class<?> authentication) {
        return ApiKeyAuthentication.class.isAssignableFrom(authentication);
    }

    /** Carries why a key was refused to the audit event; the client only learns that it was. */
    static final class RejectedKeyException extends BadCredentialsException {
        private final transient ConsumerService.Verification verification;

        RejectedKeyException(ConsumerService.Verification verification) {
            super("The API key is not valid");
            this.verification = verification;
        }

        ConsumerService.Verification verification() {
            return verification;
        }
    }
}
