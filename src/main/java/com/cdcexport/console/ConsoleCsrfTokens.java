package com.cdcexport.console;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.springframework.security.web.csrf.CookieCsrfTokenRepository;
import org.springframework.security.web.csrf.CsrfToken;
import org.springframework.security.web.csrf.CsrfTokenRepository;
import org.springframework.security.web.csrf.DeferredCsrfToken;
import org.springframework.security.web.csrf.HttpSessionCsrfTokenRepository;

/**
 * Where the console's CSRF tokens live: in the session once there is one (a sign-in opened it), else in a cookie
 * for the sign-in form only (Spring Security's double-submit cookie: HttpOnly, SameSite=Strict, Path of the form).
 * So showing the sign-in page opens no server session: an anonymous visitor costs nothing that lasts. Tokens of a
 * signed-in session stay bound to it, out of reach of a cookie planted by a neighbouring subdomain.
 */
final class ConsoleCsrfTokens implements CsrfTokenRepository {

    static final String COOKIE = "CDC_CONSOLE_CSRF";

    private final HttpSessionCsrfTokenRepository sessions = new HttpSessionCsrfTokenRepository();
    private final CookieCsrfTokenRepository signInForm = new CookieCsrfTokenRepository();

    ConsoleCsrfTokens() {
        signInForm.setCookieName(COOKIE);
        // Secure follows the request (TLS, or a trusted proxy's X-Forwarded-Proto), as the session cookie does.
        signInForm.setCookieCustomizer(cookie -> cookie.path(ConsoleSecurity.SIGN_IN).sameSite("Strict"));
    }

    @Override
    public CsrfToken generateToken(HttpServletRequest request) {
        return repository(request).generateToken(request);
    }

    @Override
    public void saveToken(CsrfToken token, HttpServletRequest request, HttpServletResponse response) {
        repository(request).saveToken(token, request, response);
    }

    @Override
    public CsrfToken loadToken(HttpServletRequest request) {
        return repository(request).loadToken(request);
    }

    @Override
    public DeferredCsrfToken loadDeferredToken(HttpServletRequest request, HttpServletResponse response) {
        return repository(request).loadDeferredToken(request, response);
    }

    private CsrfTokenRepository repository(HttpServletRequest request) {
        return request.getSession(false) != null ? sessions : signInForm;
    }
}
