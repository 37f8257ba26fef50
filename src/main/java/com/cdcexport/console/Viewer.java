package com.cdcexport.console;

import java.util.Optional;

import org.springframework.security.core.context.SecurityContextHolder;

import com.cdcexport.auth.Caller;
import com.cdcexport.auth.SessionSignIn;
import com.cdcexport.consumer.ConsumerId;

/**
 * Who is signed in to the console: the administrator (admin token), or one consumer (its key), who sees only its
 * own jobs, watermarks and keys.
 */
record Viewer(boolean signedIn, Optional<ConsumerId> consumer) {

    private static final Viewer NOBODY = new Viewer(false, Optional.empty());

    /** The current request's; nobody on the sign-in page (the chain lets nobody else past). */
    static Viewer current() {
        return SessionSignIn.callerOf(SecurityContextHolder.getContext().getAuthentication())
                .map(Viewer::of).orElse(NOBODY);
    }

    private static Viewer of(Caller caller) {
        return new Viewer(true, caller.isAdmin() ? Optional.empty() : Optional.of(new ConsumerId(caller.consumerId())));
    }

    public boolean admin() {
        return signedIn && consumer.isEmpty();
    }

    /** For templates: the consumer's id, or null for the administrator. */
    public String consumerId() {
        return consumer.map(ConsumerId::value).orElse(null);
    }

    boolean maySee(String consumerId) {
        return signedIn && consumer.map(c -> c.value().equals(consumerId)).orElse(true);
    }

    /** @throws ConsoleErrors.NotFound for another consumer's data: its existence is that consumer's business too */
    void requireMaySee(String consumerId, String what) {
        if (!maySee(consumerId)) {
            throw ConsoleErrors.NotFound.hidden(what);
        }
    }

    /** @throws ConsoleErrors.Forbidden unless the administrator is signed in */
    void requireAdmin() {
        if (!admin()) {
            throw new ConsoleErrors.Forbidden("Only the administrator (admin token) may do this");
        }
    }
}
