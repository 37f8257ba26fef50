package com.cdcexport.console;

import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Set;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Refuses (400) any console request whose query string carries a token or a CSRF token: both are accepted only in
 * the body of a POST, since a URL ends up in the browser's history, in proxies' logs and in Referer headers.
 * Servlet parameters mix the query string with the form body, so without this a token in the URL would be taken.
 * It runs ahead of Spring Security, whose debug log writes every request line, so such a URL is never logged.
 */
final class TokensInUrls extends OncePerRequestFilter {

    /** The sign-in form's token and the CSRF token of every console form. */
    private static final Set<String> SECRETS = Set.of("token", "_csrf");

    private final ConsoleErrors errors;

    TokensInUrls(ConsoleErrors errors) {
        this.errors = errors;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        if (carriesSecret(request.getQueryString())) {
            // Nothing of the URL is echoed, logged, or sent on as a Referer from this page.
            response.setHeader("Referrer-Policy", "no-referrer");
            response.setHeader("Cache-Control", "no-store");
            response.setHeader("Content-Security-Policy", ConsoleSecurity.CONTENT_SECURITY_POLICY);
            response.setHeader("X-Content-Type-Options", "nosniff");
            response.setHeader("X-Frame-Options", "DENY");
            errors.tokenInUrl(request, response);
            return;
        }
        chain.doFilter(request, response);
    }

    /** Whether a parameter of the query string is named like a secret, as the servlet container would decode it. */
    static boolean carriesSecret(String query) {
        if (query == null || query.isEmpty()) {
            return false;
        }
        for (String parameter : query.split("&")) {
            String name = parameter.split("=", 2)[0];
            try {
                name = URLDecoder.decode(name, StandardCharsets.UTF_8);
            } catch (IllegalArgumentException malformed) {
                // The container drops a parameter it cannot decode; its raw name is what is left to compare.
            }
            if (SECRETS.contains(name.strip().toLowerCase(Locale.ROOT))) {
                return true;
            }
        }
        return false;
    }
}
