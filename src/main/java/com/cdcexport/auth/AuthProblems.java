package com.cdcexport.auth;

/** What the security layer answers, as exceptions the API's problem handler renders as problem+json. */
public final class AuthProblems {

    private AuthProblems() {
    }

    /** 401 with WWW-Authenticate. */
    public static final class Unauthenticated extends RuntimeException {
        private final boolean keyPresented;

        Unauthenticated(String detail, boolean keyPresented) {
            super(detail);
            this.keyPresented = keyPresented;
        }

        /** RFC 6750: error="invalid_token" when a key was sent but does not open anything. */
        public String wwwAuthenticate() {
            return "Bearer realm=\"cdc-export\"" + (keyPresented ? ", error=\"invalid_token\"" : "");
        }
    }

    /** 403. */
    public static final class Forbidden extends RuntimeException {
        Forbidden(String detail) {
            super(detail);
        }
    }

    /** 429 with Retry-After. */
    public static final class RateLimited extends RuntimeException {
        private final long retryAfterSeconds;

        RateLimited(String detail, long retryAfterSeconds) {
            super(detail);
            this.retryAfterSeconds = retryAfterSeconds;
        }

        public long retryAfterSeconds() {
            return retryAfterSeconds;
        }
    }

    /** 400 for consumer management input. */
    public static final class BadRequest extends IllegalArgumentException {
        BadRequest(String detail) {
            super(detail);
        }
    }
}
