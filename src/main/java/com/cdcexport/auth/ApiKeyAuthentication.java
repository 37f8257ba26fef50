package com.cdcexport.auth;

import java.util.List;

import org.springframework.security.authentication.AbstractAuthenticationToken;
import org.springframework.security.core.authority.AuthorityUtils;

/** A presented key before authentication; the {@link Caller} it belongs to after. */
final class ApiKeyAuthentication extends AbstractAuthenticationToken {

    static final String CONSUMER = "ROLE_CONSUMER";
    static final String ADMIN = "ROLE_ADMIN";

    private transient String presentedKey;
    private final Caller caller;

    private ApiKeyAuthentication(String presentedKey) {
        super(List.of());
        this.presentedKey = presentedKey;
        this.caller = null;
    }

    private ApiKeyAuthentication(Caller caller) {
        super(AuthorityUtils.createAuthorityList(caller.isAdmin() ? ADMIN : CONSUMER));
        this.caller = caller;
        setAuthenticated(true);
    }

    static ApiKeyAuthentication presented(String key) {
        return new ApiKeyAuthentication(key);
    }

    static ApiKeyAuthentication authenticated(Caller caller) {
        return new ApiKeyAuthentication(caller);
    }

    Caller caller() {
        return caller;
    }

    @Override
    public Object getCredentials() {
        return presentedKey;
    }

    @Override
    public Object getPrincipal() {
        return caller;
    }

    @Override
    public void eraseCredentials() {
        presentedKey = null;
        super.eraseCredentials();
    }

    @Override
    public String toString() {
        // The default toString lists the credentials; this one never shows a key.
        return "ApiKeyAuthentication[" + (caller == null ? "unauthenticated" : caller) + "]";
    }
}
