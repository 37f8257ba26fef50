package com.cdcexport.auth;

import java.io.IOException;

import jakarta.servlet.DispatcherType;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.security.authentication.BadCredentialsException;
import org.springframework.security.authentication.ProviderManager;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.annotation.web.configurers.AbstractHttpConfigurer;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.authentication.AuthenticationFilter;
import org.springframework.security.web.authentication.www.BasicAuthenticationFilter;
import org.springframework.security.web.servlet.util.matcher.PathPatternRequestMatcher;
import org.springframework.security.web.util.matcher.AndRequestMatcher;
import org.springframework.security.web.util.matcher.NegatedRequestMatcher;
import org.springframework.security.web.util.matcher.OrRequestMatcher;
import org.springframework.security.web.util.matcher.RequestMatcher;
import org.springframework.web.filter.OncePerRequestFilter;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.config.CdcProperties.AuthMode;

/**
 * One stateless filter chain. Open: /health, actuator health, the API docs. Admin token: /consumers and the other
 * actuator endpoints. Consumer keys: /exports (AUTH_MODE=api-key; with off, the X-Consumer-ID header is trusted).
 */
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
@Configuration(proxyBeanMethods = false)
class SecurityConfig {

    static final String API_KEY_HEADER = "X-API-Key";

    @Bean
    SecurityFilterChain filterChain(HttpSecurity http, CdcProperties properties,
                                    ApiKeyAuthenticationProvider provider, SecurityProblems problems) {
        boolean keys = properties.auth().mode() == AuthMode.API_KEY;
        RequestMatcher exports = paths("/exports/**");
        RequestMatcher admin = new OrRequestMatcher(paths("/consumers/**"),
                new AndRequestMatcher(paths("/actuator/**"), new NegatedRequestMatcher(paths("/actuator/health/**"))));

        AuthenticationFilter authentication = new AuthenticationFilter(new ProviderManager(provider),
                SecurityConfig::presentedKey);
        // Only where a key means something: a stray header on /health must not turn it into a 401.
        RequestMatcher authenticated = keys ? new OrRequestMatcher(exports, admin) : paths("/consumers/**");
        authentication.setRequestMatcher(authenticated);
        authentication.setSuccessHandler((request, response, result) -> { });
        authentication.setFailureHandler(problems);
        RequestMatcher keyChecked = authenticated;
        OncePerRequestFilter throttle = new OncePerRequestFilter() {
            @Override
            protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response,
                                            FilterChain chain) throws ServletException, IOException {
                boolean credentials = request.getHeader("Authorization") != null
                        || request.getHeader(API_KEY_HEADER) != null;
                if (credentials && keyChecked.matches(request) && problems.throttled(request, response)) {
                    return;
                }
                chain.doFilter(request, response);
            }
        };

        http.csrf(AbstractHttpConfigurer::disable)
                .httpBasic(AbstractHttpConfigurer::disable)
                .formLogin(AbstractHttpConfigurer::disable)
                .logout(AbstractHttpConfigurer::disable)
                .requestCache(AbstractHttpConfigurer::disable)
                .sessionManagement(s -> s.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
                .exceptionHandling(e -> e.authenticationEntryPoint(problems).accessDeniedHandler(problems))
                .addFilterBefore(throttle, BasicAuthenticationFilter.class)
                .addFilterAt(authentication, BasicAuthenticationFilter.class)
                .authorizeHttpRequests(requests -> {
                    requests.dispatcherTypeMatchers(DispatcherType.ERROR).permitAll();
                    requests.requestMatchers(paths("/consumers/**")).hasRole("ADMIN");
                    if (keys) {
                        requests.requestMatchers(exports).access(new ExportAccess());
                        requests.requestMatchers(admin).hasRole("ADMIN");
                    }
                    // /health, /actuator/health, the API docs and unknown paths (404).
                    requests.anyRequest().permitAll();
                });
        return http.build();
    }

    private static RequestMatcher paths(String pattern) {
        return PathPatternRequestMatcher.withDefaults().matcher(pattern);
    }

    /** The key of "Authorization: Bearer <key>" or "X-API-Key: <key>"; null when the request has neither. */
    private static ApiKeyAuthentication presentedKey(HttpServletRequest request) {
        String authorization = request.getHeader("Authorization");
        String key;
        if (authorization != null) {
            if (!authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
                throw new BadCredentialsException("The Authorization header must use the Bearer scheme: "
                        + SecurityProblems.HOW_TO_AUTHENTICATE);
            }
            key = authorization.substring(7).strip();
        } else {
            key = request.getHeader(API_KEY_HEADER);
        }
        return key == null || key.isBlank() ? null : ApiKeyAuthentication.presented(key.strip());
    }
}
