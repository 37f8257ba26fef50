package com.cdcexport.console;

import java.io.IOException;

import jakarta.servlet.DispatcherType;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.Cookie;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;

import org.apache.catalina.session.ManagerBase;
import org.apache.catalina.session.StandardManager;
import org.apache.catalina.session.TooManyActiveSessionsException;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.security.autoconfigure.web.servlet.SecurityFilterProperties;
import org.springframework.boot.tomcat.servlet.TomcatServletWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.dao.DataAccessException;
import org.springframework.http.HttpMethod;
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
import org.springframework.security.web.csrf.CsrfFilter;
import org.springframework.security.web.header.writers.ReferrerPolicyHeaderWriter.ReferrerPolicy;
import org.springframework.security.web.servlet.util.matcher.PathPatternRequestMatcher;
import org.springframework.security.web.util.matcher.RequestMatcher;
import org.springframework.web.filter.OncePerRequestFilter;

import com.cdcexport.auth.SessionSignIn;
import com.cdcexport.config.CdcProperties;

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

    static final String CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; "
            + "img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
            + "object-src 'none'";

    @Bean
    @Order(Ordered.HIGHEST_PRECEDENCE)
    SecurityFilterChain consoleFilterChain(HttpSecurity http, SessionSignIn signIn, ConsoleErrors errors,
                                           CdcProperties properties,
                                           @Value("${server.servlet.session.cookie.name}") String cookieName) {
        Cookie expired = new Cookie(cookieName, null);
        expired.setPath("/console");
        expired.setMaxAge(0);
        LoginUrlAuthenticationEntryPoint signInFirst = new LoginUrlAuthenticationEntryPoint(SIGN_IN);
        // "Location: /console/sign-in", never built from the request's Host (which a client may forge).
        signInFirst.setFavorRelativeUris(true);
        http.securityMatcher(paths("/console/**"))
                .securityContext(c -> c.securityContextRepository(SESSIONS))
                // Only a sign-in opens a session (SignInController); nothing here makes one on its own.
                .sessionManagement(s -> s.sessionCreationPolicy(SessionCreationPolicy.NEVER))
                .csrf(c -> c.csrfTokenRepository(new ConsoleCsrfTokens()))
                .httpBasic(AbstractHttpConfigurer::disable)
                .formLogin(AbstractHttpConfigurer::disable)
                .requestCache(AbstractHttpConfigurer::disable)
                .logout(l -> l.logoutRequestMatcher(PathPatternRequestMatcher.withDefaults()
                                .matcher(HttpMethod.POST, SIGN_OUT))
                        .addLogoutHandler(new CookieClearingLogoutHandler(expired))
                        .logoutSuccessUrl(SIGN_IN + "?signed-out"))
                .exceptionHandling(e -> e.authenticationEntryPoint(signInFirst).accessDeniedHandler(errors))
                .headers(h -> h.contentSecurityPolicy(csp -> csp.policyDirectives(CONTENT_SECURITY_POLICY))
                        .referrerPolicy(r -> r.policy(ReferrerPolicy.SAME_ORIGIN)))
                .addFilterAfter(new EndedSessions(signIn, errors), SecurityContextHolderFilter.class)
                .addFilterBefore(new SignInThrottle(properties.console().signInPerMinute(), errors), CsrfFilter.class)
                .authorizeHttpRequests(requests -> {
                    requests.dispatcherTypeMatchers(DispatcherType.ERROR, DispatcherType.FORWARD).permitAll();
                    requests.requestMatchers(paths(SIGN_IN), paths("/console/assets/**")).permitAll();
                    requests.requestMatchers(paths("/console/health")).hasRole("ADMIN");
                    requests.anyRequest().authenticated();
                });
        return http.build();
    }

    /** Ahead of every security filter chain (and its debug log of request lines): see {@link TokensInUrls}. */
    @Bean
    FilterRegistrationBean<TokensInUrls> tokensInUrls(ConsoleErrors errors) {
        FilterRegistrationBean<TokensInUrls> registration = new FilterRegistrationBean<>(new TokensInUrls(errors));
        registration.addUrlPatterns("/console/*");
        registration.setOrder(SecurityFilterProperties.DEFAULT_FILTER_ORDER - 1);
        return registration;
    }

    /**
     * At most CONSOLE_MAX_SESSIONS sessions: Tomcat's session manager refuses to make one more
     * ({@link TooManyActiveSessionsException}), and the sign-in answers 503 (SignInController); the sessions in
     * use are kept. Sessions past their timeout count until Tomcat's sweep, at most a minute later.
     */
    @Bean
    WebServerFactoryCustomizer<TomcatServletWebServerFactory> sessionCap(CdcProperties properties) {
        int max = properties.console().maxSessions();
        return factory -> factory.addContextCustomizers(context -> {
            // Tomcat makes this same manager at start when none is set (and Spring Boot keeps it from persisting).
            if (context.getManager() == null) {
                context.setManager(new StandardManager());
            }
            if (!(context.getManager() instanceof ManagerBase manager)) {
                throw new IllegalStateException("Cannot cap console sessions: Tomcat's session manager is "
                        + context.getManager().getClass().getName());
            }
            manager.setMaxActiveSessions(max);
        });
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
