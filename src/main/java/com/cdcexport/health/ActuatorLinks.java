package com.cdcexport.health;

import java.io.IOException;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.filter.OncePerRequestFilter;

import com.cdcexport.config.CdcProperties;

/**
 * The links of the actuator's index (/actuator's {@code _links}) start with PUBLIC_URL, or, when it is empty, are
 * relative (/actuator/health). Spring Boot builds them from the request's URL, that is from its Host header, which
 * a client may forge; this hands it a URL without the Host instead.
 */
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
@Configuration(proxyBeanMethods = false)
class ActuatorLinks {

    @Bean
    FilterRegistrationBean<OncePerRequestFilter> actuatorLinksWithoutTheHost(
            CdcProperties properties, @Value("${management.endpoints.web.base-path:/actuator}") String basePath) {
        String origin = properties.publicUrl().strip().replaceFirst("/+$", "");
        OncePerRequestFilter filter = new OncePerRequestFilter() {
            @Override
            protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response,
                                            FilterChain chain) throws ServletException, IOException {
                chain.doFilter(new HttpServletRequestWrapper(request) {
                    @Override
                    public StringBuffer getRequestURL() {
                        return new StringBuffer(origin).append(getRequestURI());
                    }
                }, response);
            }
        };
        FilterRegistrationBean<OncePerRequestFilter> registration = new FilterRegistrationBean<>(filter);
        registration.addUrlPatterns(basePath, basePath + "/");
        return registration;
    }
}
