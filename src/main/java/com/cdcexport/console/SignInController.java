package com.cdcexport.console;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;
import org.apache.catalina.session.TooManyActiveSessionsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.http.HttpStatus;
import org.springframework.security.core.context.SecurityContext;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.security.web.csrf.CsrfToken;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;

import com.cdcexport.auth.SessionSignIn;
import com.cdcexport.config.CdcProperties;

/**
 * Trades the admin token or a consumer's key for a console session. The token travels once, in a POST body (never
 * a URL), is checked like the API's bearer keys, and is not kept: the session holds only who signed in.
 */
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
@Controller
class SignInController {

    private static final Logger log = LoggerFactory.getLogger(SignInController.class);

    private final SessionSignIn signIn;
    private final int sessionTimeoutSeconds;
    private final int maxSessions;

    SignInController(SessionSignIn signIn, CdcProperties properties) {
        this.signIn = signIn;
        this.sessionTimeoutSeconds = (int) properties.console().sessionTimeout().toSeconds();
        this.maxSessions = properties.console().maxSessions();
    }

    @GetMapping({"/console", "/console/"})
    String home() {
        return "redirect:/console/jobs";
    }

    /** Any other console path: an HTML 404 (the API's paths keep their problem+json one); assets excluded. */
    @GetMapping("/console/{section:(?!assets$).+}/**")
    String unknown() {
        throw new ConsoleErrors.NotFound("There is no such page in the console.");
    }

    @GetMapping(ConsoleSecurity.SIGN_IN)
    String page(@RequestParam(name = "signed-out", required = false) String signedOut,
                @RequestParam(name = "ended", required = false) String ended, HttpServletRequest request,
                Model model) {
        // Made now, not while the page is written: its cookie (ConsoleCsrfTokens) must go out before the body.
        CsrfToken csrf = (CsrfToken) request.getAttribute(CsrfToken.class.getName());
        if (csrf != null) {
            csrf.getToken();
        }
        if (signedOut != null) {
            model.addAttribute("notice", "You have signed out.");
        } else if (ended != null) {
            model.addAttribute("notice", "Your session ended: the key you signed in with was revoked or has expired.");
        }
        return "console/sign-in";
    }

    @PostMapping(ConsoleSecurity.SIGN_IN)
    String signIn(@RequestParam(name = "token", required = false) String token, HttpServletRequest request,
                  HttpServletResponse response, Model model) {
        SessionSignIn.Outcome outcome = signIn.signIn(token, request);
        if (outcome instanceof SessionSignIn.Throttled throttled) {
            response.setStatus(HttpStatus.TOO_MANY_REQUESTS.value());
            response.setHeader("Retry-After", Long.toString(throttled.retryAfterSeconds()));
            model.addAttribute("error", "Too many sign-in attempts with tokens that are not valid from this "
                    + "address. Try again in " + throttled.retryAfterSeconds() + " s.");
            return "console/sign-in";
        }
        if (!(outcome instanceof SessionSignIn.SignedIn signedIn)) {
            response.setStatus(HttpStatus.UNAUTHORIZED.value());
            model.addAttribute("error", "That token is not valid: it is unknown, revoked or expired.");
            return "console/sign-in";
        }
        // A new session id at sign-in: an id planted before it (session fixation) opens nothing.
        HttpSession previous = request.getSession(false);
        if (previous != null) {
            previous.invalidate();
        }
        HttpSession session;
        try {
            session = request.getSession(true);
        } catch (TooManyActiveSessionsException e) {
            // The sessions in use are kept; this sign-in waits until some end (sign-out, timeout).
            log.warn("Console sign-in refused: this instance holds CONSOLE_MAX_SESSIONS={} sessions", maxSessions);
            response.setStatus(HttpStatus.SERVICE_UNAVAILABLE.value());
            response.setHeader("Retry-After", "60");
            model.addAttribute("error", "The console has as many sessions as it allows right now. Try again in a "
                    + "minute, or sign out of a session you no longer use.");
            return "console/sign-in";
        }
        session.setMaxInactiveInterval(sessionTimeoutSeconds);
        SecurityContext context = SecurityContextHolder.createEmptyContext();
        context.setAuthentication(signedIn.authentication());
        SecurityContextHolder.setContext(context);
        ConsoleSecurity.SESSIONS.saveContext(context, request, response);
        return "redirect:/console/jobs";
    }
}
