package com.cdcexport.console;

import java.io.IOException;

import jakarta.servlet.DispatcherType;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.Cookie;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.dao.DataAccessException;
import org.springframework.http.HttpMethod;
import org.springframework.security.config.Customizer;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.annotation.web.configurers.AbstractHttpConfigurer;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.authentication.LoginUrlAuthenticationEntryPoint;
import org.springframework.security.web.authentication.logout.CookieClearingLogoutHandler;
import org.springframework.security.web.context.HttpSessionSecurityContextRepository;
import org.springframework.security.web.context.SecurityContextHolderFilter;
import org.springframework.security.web.context.SecurityContextRepository;
import org.springframework.security.web.header.writers.ReferrerPolicyHeaderWriter.ReferrerPolicy;
import org.springframework.security.web.servlet.util.matcher.PathPatternRequestMatcher;
import org.springframework.security.web.util.matcher.RequestMatcher;
import org.springframework.web.filter.OncePerRequestFilter;

import com.cdcexport.auth.SessionSignIn;

/**
 * The console's own filter chain, ahead of the API's (which matches every request and stays stateless): sessions
 * from a sign-in with a token, CSRF tokens on every POST, HTML answers instead of problem+json, and a strict
 * content security policy (no inline script or style, nothing from elsewhere).
 */
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
@Configuration(proxyBeanMethods = false)
class ConsoleSecurity {

    static final String SIGN_IN = "/console/sign-in";
    static final String SIGN_OUT = "/console/sign-out";
    /** Where the security context of a signed-in session lives: the HTTP session, nowhere else. */
    static final SecurityContextRepository SESSIONS = new HttpSessionSecurityContextRepository();

    private static final String CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; "
            + "img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
            + "object-src 'none'";

    @Bean
    @Order(Ordered.HIGHEST_PRECEDENCE)
    SecurityFilterChain consoleFilterChain(HttpSecurity http, SessionSignIn signIn, ConsoleErrors errors,
                                           @Value("${server.servlet.session.cookie.name}") String cookieName) {
        Cookie expired = new Cookie(cookieName, null);
        expired.setPath("/console");
        expired.setMaxAge(0);
        http.securityMatcher(paths("/console/**"))
                .securityContext(c -> c.securityContextRepository(SESSIONS))
                .sessionManagement(s -> s.sessionCreationPolicy(SessionCreationPolicy.IF_REQUIRED))
                .csrf(Customizer.withDefaults())
                .httpBasic(AbstractHttpConfigurer::disable)
                .formLogin(AbstractHttpConfigurer::disable)
                .requestCache(AbstractHttpConfigurer::disable)
                .logout(l -> l.logoutRequestMatcher(PathPatternRequestMatcher.withDefaults()
                                .matcher(HttpMethod.POST, SIGN_OUT))
                        .addLogoutHandler(new CookieClearingLogoutHandler(expired))
                        .logoutSuccessUrl(SIGN_IN + "?signed-out"))
                .exceptionHandling(e -> e.authenticationEntryPoint(new LoginUrlAuthenticationEntryPoint(SIGN_IN))
                        .accessDeniedHandler(errors))
                .headers(h -> h.contentSecurityPolicy(csp -> csp.policyDirectives(CONTENT_SECURITY_POLICY))
                        .referrerPolicy(r -> r.policy(ReferrerPolicy.SAME_ORIGIN)))
                .addFilterAfter(new EndedSessions(signIn, errors), SecurityContextHolderFilter.class)
                .authorizeHttpRequests(requests -> {
                    requests.dispatcherTypeMatchers(DispatcherType.ERROR, DispatcherType.FORWARD).permitAll();
                    requests.requestMatchers(paths(SIGN_IN), paths("/console/assets/**")).permitAll();
                    requests.requestMatchers(paths("/console/health")).hasRole("ADMIN");
                    requests.anyRequest().authenticated();
                });
        return http.build();
    }

    private static RequestMatcher paths(String pattern) {
        return PathPatternRequestMatcher.withDefaults().matcher(pattern);
    }

    /**
     * A session signed in with a consumer's key ends as soon as that key is revoked or has expired (after a
     * rotation's overlap): the session must not keep a key's access alive.
     */
    private static final class EndedSessions extends OncePerRequestFilter {
        private final SessionSignIn signIn;
        private final ConsoleErrors errors;

        EndedSessions(SessionSignIn signIn, ConsoleErrors errors) {
            this.signIn = signIn;
            this.errors = errors;
        }

        @Override
        protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
                throws ServletException, IOException {
            boolean ended;
            try {
                ended = SessionSignIn.callerOf(SecurityContextHolder.getContext().getAuthentication())
                        .map(caller -> !signIn.stillValid(caller)).orElse(false);
            } catch (DataAccessException e) {
                // Neither let the request through unchecked nor end a session that may be fine: say what failed.
                errors.databaseDown(request, response, e);
                return;
            }
            if (ended) {
                HttpSession session = request.getSession(false);
                if (session != null) {
                    session.invalidate();
                }
                SecurityContextHolder.clearContext();
                response.sendRedirect(request.getContextPath() + SIGN_IN + "?ended");
                return;
            }
            chain.doFilter(request, response);
        }
    }
}
