package com.cdcexport.config;

import java.util.Locale;
import java.util.Map;

import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * Chooses how log lines look before logging starts (logback-spring.xml reads {@value #RESOLVED}): LOG_FORMAT when
 * set; otherwise text for a person (a terminal, or `./mvnw spring-boot:run`, whose pom sets {@value #MAVEN}) and
 * one JSON object per line for everything else (containers, systemd, log shippers).
 */
class LogFormat implements EnvironmentPostProcessor, Ordered {

    static final String SETTING = "cdc.log.format";
    static final String RESOLVED = "cdc.log.resolved-format";
    static final String MAVEN = "cdc.log.run-by-maven";

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        String format = resolve(environment.getProperty(SETTING, "auto"),
                System.console() != null || Boolean.getBoolean(MAVEN));
        environment.getPropertySources().addFirst(new MapPropertySource("logFormat", Map.of(RESOLVED, format)));
    }

    /** An unknown value falls back to auto here; binding {@link Setting} then stops start-up naming LOG_FORMAT. */
    static String resolve(String setting, boolean forAPerson) {
        return switch (setting.strip().toLowerCase(Locale.ROOT)) {
            case "text" -> "text";
            case "json" -> "json";
            default -> forAPerson ? "text" : "json";
        };
    }

    /** LOG_FORMAT, bound (and so checked) like every other setting. */
    @ConfigurationProperties(prefix = "cdc.log")
    record Setting(@DefaultValue("auto") Value format) {

        enum Value {
            AUTO, TEXT, JSON
        }
    }

    @Override
    public int getOrder() {
        // after application.yml is loaded (ConfigDataEnvironmentPostProcessor), before logging is initialised
        return Ordered.LOWEST_PRECEDENCE;
    }
}
