package com.cdcexport.console;

import java.io.IOException;
import java.sql.SQLTransientConnectionException;
import java.util.Locale;
import java.util.Map;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpStatus;
import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.security.access.AccessDeniedException;
import org.springframework.security.authentication.InternalAuthenticationServiceException;
import org.springframework.security.web.access.AccessDeniedHandler;
import org.springframework.security.web.csrf.CsrfException;
import org.springframework.ui.Model;
import org.springframework.web.ErrorResponseException;
import org.springframework.web.bind.MissingServletRequestParameterException;
import org.springframework.web.bind.annotation.ControllerAdvice;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.ModelAttribute;
import org.springframework.web.method.annotation.MethodArgumentTypeMismatchException;
import org.springframework.web.servlet.View;
import org.springframework.web.servlet.ViewResolver;


/**
 * The console's errors as HTML pages (the API keeps answering problem+json): refusals of the filter chain (a
 * missing or stale CSRF token, a consumer on an administrator's page) and exceptions of the console's
 * controllers. Also puts who is signed in into every console page's model.
 */
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
@ControllerAdvice(basePackageClasses = ConsoleErrors.class)
@Order(Ordered.HIGHEST_PRECEDENCE)
class ConsoleErrors implements AccessDeniedHandler {

    private static final Logger log = LoggerFactory.getLogger(ConsoleErrors.class);
    static final String VIEW = "console/error";
    private static final String DATABASE_DOWN_TITLE = "Database unavailable";
    private static final String DATABASE_DOWN = "The database cannot be reached right now; try again in a few seconds.";

    private final ViewResolver views;

    ConsoleErrors(@Qualifier("thymeleafViewResolver") ViewResolver views) {
        this.views = views;
    }

    @ModelAttribute("viewer")
    Viewer viewer() {
        return Viewer.current();
    }

    /** Refused by the filter chain, before any controller: rendered here, as the chain has no view machinery. */
    @Override
    public void handle(HttpServletRequest request, HttpServletResponse response, AccessDeniedException e)
            throws IOException {
        String message = e instanceof CsrfException
                ? "The form's security token was missing or has expired, so nothing was changed. "
                + "Go back, reload the page and try again."
                : "This page is for the administrator (admin token) only.";
        render(request, response, HttpStatus.FORBIDDEN, "Refused", message);
    }

    /** The database failed while the filter chain checked a session: the page would have failed the same way. */
    void databaseDown(HttpServletRequest request, HttpServletResponse response, RuntimeException e)
            throws IOException {
        log.warn("Console request failed: the database is unreachable: {}", e.toString());
        response.setHeader("Retry-After", "5");
        render(request, response, HttpStatus.SERVICE_UNAVAILABLE, DATABASE_DOWN_TITLE, DATABASE_DOWN);
    }

    /** Beyond CONSOLE_SIGN_IN_PER_MINUTE requests to the sign-in page from one address (SignInThrottle). */
    void tooManySignInRequests(HttpServletRequest request, HttpServletResponse response, long retryAfterSeconds)
            throws IOException {
        response.setHeader("Retry-After", Long.toString(retryAfterSeconds));
        render(request, response, HttpStatus.TOO_MANY_REQUESTS, "Too many requests",
                "Too many requests to the sign-in page from this address. Try again in " + retryAfterSeconds + " s.");
    }

    /** A token or CSRF token in a URL (TokensInUrls): said without repeating the URL. */
    void tokenInUrl(HttpServletRequest request, HttpServletResponse response) throws IOException {
        render(request, response, HttpStatus.BAD_REQUEST, "Not understood", "Tokens are accepted only in the body "
                + "of a form's POST, never in a URL, so this request was refused. A URL is kept in the browser's "
                + "history and in proxies' logs: if it held a real token or key, replace it.");
    }

    private void render(HttpServletRequest request, HttpServletResponse response, HttpStatus status, String title,
                        String message) throws IOException {
        response.setStatus(status.value());
        try {
            View view = views.resolveViewName(VIEW, Locale.ROOT);
            view.render(Map.of("status", status.value(), "title", title, "message", message,
                    "viewer", Viewer.current()), request, response);
        } catch (Exception renderingFailed) {
            log.warn("Cannot render the console's {} page: {}", status.value(), renderingFailed.toString());
            response.sendError(status.value());
        }
    }

    @ExceptionHandler(NotFound.class)
    String notFound(NotFound e, Model model, HttpServletResponse response) {
        return page(HttpStatus.NOT_FOUND, "Not found", e.getMessage(), model, response);
    }

    @ExceptionHandler(MethodArgumentTypeMismatchException.class)
    String badPath(MethodArgumentTypeMismatchException e, Model model, HttpServletResponse response) {
        return page(HttpStatus.NOT_FOUND, "Not found", "There is no such page.", model, response);
    }

    @ExceptionHandler(Forbidden.class)
    String forbidden(Forbidden e, Model model, HttpServletResponse response) {
        return page(HttpStatus.FORBIDDEN, "Refused", e.getMessage(), model, response);
    }

    @ExceptionHandler({BadInput.class, MissingServletRequestParameterException.class, IllegalArgumentException.class})
    String badInput(Exception e, Model model, HttpServletResponse response) {
        return page(HttpStatus.BAD_REQUEST, "Not understood", e.getMessage(), model, response);
    }

    /** The services' own refusals (no such consumer, a table the consumer may not export) keep their status. */
    @ExceptionHandler(ErrorResponseException.class)
    String refused(ErrorResponseException e, Model model, HttpServletResponse response) {
        HttpStatus status = HttpStatus.resolve(e.getStatusCode().value());
        return page(status == null ? HttpStatus.BAD_REQUEST : status, "Refused", e.getBody().getDetail(), model,
                response);
    }

    /** Includes a sign-in whose token could not be checked because the database failed (not a bad token). */
    @ExceptionHandler({DataAccessResourceFailureException.class, SQLTransientConnectionException.class,
            InternalAuthenticationServiceException.class})
    String databaseDown(Exception e, Model model, HttpServletResponse response) {
        log.warn("Console request failed: the database is unreachable: {}", e.toString());
        response.setHeader("Retry-After", "5");
        return page(HttpStatus.SERVICE_UNAVAILABLE, DATABASE_DOWN_TITLE, DATABASE_DOWN, model, response);
    }

    @ExceptionHandler(Exception.class)
    String unexpected(Exception e, Model model, HttpServletResponse response) {
        log.error("Console request failed", e);
        return page(HttpStatus.INTERNAL_SERVER_ERROR, "Something went wrong",
                "The console could not show this page; the service's log has the details.", model, response);
    }

    private static String page(HttpStatus status, String title, String message, Model model,
                               HttpServletResponse response) {
        response.setStatus(status.value());
        model.addAttribute("status", status.value());
        model.addAttribute("title", title);
        model.addAttribute("message", message);
        // Exception handlers get a fresh model, without the @ModelAttribute above: the header needs it.
        model.addAttribute("viewer", Viewer.current());
        return VIEW;
    }

    static final class NotFound extends RuntimeException {
        NotFound(String message) {
            super(message);
        }

        /** Said the same for what does not exist and what belongs to another consumer, so neither leaks. */
        static NotFound hidden(String what) {
            return new NotFound("There is no " + what + " here, or it is not yours to see.");
        }
    }

    static final class Forbidden extends RuntimeException {
        Forbidden(String message) {
            super(message);
        }
    }

    static final class BadInput extends RuntimeException {
        BadInput(String message) {
            super(message);
        }
    }
}
