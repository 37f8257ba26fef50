package com.cdcexport.console;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;

import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.http.HttpStatus;
import org.springframework.security.core.context.SecurityContext;
import org.springframework.security.core.context.SecurityContextHolder;
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

    private final SessionSignIn signIn;
    private final int sessionTimeoutSeconds;

    SignInController(SessionSignIn signIn, CdcProperties properties) {
        this.signIn = signIn;
        this.sessionTimeoutSeconds = (int) properties.console().sessionTimeout().toSeconds();
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
                @RequestParam(name = "ended", required = false) String ended, Model model) {
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
        HttpSession session = request.getSession(true);
        session.setMaxInactiveInterval(sessionTimeoutSeconds);
        SecurityContext context = SecurityContextHolder.createEmptyContext();
        context.setAuthentication(signedIn.authentication());
        SecurityContextHolder.setContext(context);
        ConsoleSecurity.SESSIONS.saveContext(context, request, response);
        return "redirect:/console/jobs";
    }
}
