package com.cdcexport.config;

import java.util.Map;

import org.springframework.boot.context.properties.bind.BindException;
import org.springframework.boot.context.properties.bind.validation.BindValidationException;
import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.validation.FieldError;
import org.springframework.validation.ObjectError;

/** Reports a bad setting as one line that names the environment variable the user actually sets. */
class ConfigurationFailureAnalyzer extends AbstractFailureAnalyzer<BindException> {

    static final Map<String, String> ENVIRONMENT_VARIABLES = Map.of(
            "cdc.database-url", "DATABASE_URL",
            "cdc.output-dir", "EXPORT_OUTPUT_DIR",
            "cdc.seed-users", "SEED_USERS",
            "cdc.instance-id", "INSTANCE_ID",
            "cdc.jobs.workers", "EXPORT_WORKERS",
            "cdc.jobs.queue-capacity", "EXPORT_QUEUE_CAPACITY",
            "cdc.jobs.heartbeat-interval", "EXPORT_HEARTBEAT_INTERVAL",
            "cdc.jobs.stale-after", "EXPORT_STALE_AFTER",
            "server.port", "PORT",
            "logging.level.root", "LOG_LEVEL");

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, BindException cause) {
        String property = cause.getName().toString();
        String reason = rootMessage(cause);
        Object value = cause.getProperty() == null ? null : cause.getProperty().getValue();
        if (cause.getCause() instanceof BindValidationException validation) {
            for (ObjectError error : validation.getValidationErrors()) {
                String field = error instanceof FieldError fieldError ? fieldError.getField() : null;
                property = field == null ? property : validation.getValidationErrors().getName() + "." + field;
                value = error instanceof FieldError fieldError ? fieldError.getRejectedValue() : value;
                reason = error.getDefaultMessage();
                break;
            }
        }
        // Validation reports Java field names (cdc.seedUsers); binding uses the canonical form (cdc.seed-users).
        property = property.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase();
        String variable = ENVIRONMENT_VARIABLES.getOrDefault(property, property);
        String line = "Invalid configuration: " + variable + (value == null ? "" : "='" + value + "'") + ": " + reason;
        return new FailureAnalysis(line, "Fix " + variable + " and start again.", cause);
    }

    private static String rootMessage(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        return root.getMessage();
    }
}
