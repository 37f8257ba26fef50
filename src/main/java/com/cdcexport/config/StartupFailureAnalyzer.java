package com.cdcexport.config;

import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

import org.postgresql.util.PSQLException;

import org.springframework.boot.context.properties.bind.BindException;
import org.springframework.boot.context.properties.bind.validation.BindValidationException;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.diagnostics.FailureAnalyzer;
import org.springframework.boot.web.server.PortInUseException;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.core.convert.ConversionFailedException;
import org.springframework.core.env.Environment;
import org.springframework.validation.FieldError;
import org.springframework.validation.ObjectError;

/**
 * Turns the ways start-up fails for a user's reasons (a bad setting, an unusable output directory, an unreachable
 * database) into one line that names the environment variable to fix, instead of a stack trace.
 */
@Order(Ordered.HIGHEST_PRECEDENCE)
class StartupFailureAnalyzer implements FailureAnalyzer {

    static final Map<String, String> ENVIRONMENT_VARIABLES = Map.ofEntries(
            Map.entry("cdc.database-url", "DATABASE_URL"),
            Map.entry("cdc.standby.read-url", "DATABASE_READ_URL"),
            Map.entry("cdc.standby.catch-up-timeout", "STANDBY_CATCH_UP_TIMEOUT"),
            Map.entry("cdc.standby.fallback", "STANDBY_FALLBACK"),
            Map.entry("cdc.log.format", "LOG_FORMAT"),
            Map.entry("cdc.embedded-data-dir", "EMBEDDED_DATA_DIR"),
            Map.entry("cdc.output-dir", "EXPORT_OUTPUT_DIR"),
            Map.entry("cdc.sink", "EXPORT_SINK"),
            Map.entry("cdc.s3.bucket", "S3_BUCKET"),
            Map.entry("cdc.s3.prefix", "S3_PREFIX"),
            Map.entry("cdc.s3.endpoint", "S3_ENDPOINT"),
            Map.entry("cdc.s3.path-style", "S3_PATH_STYLE"),
            Map.entry("cdc.s3.region", "AWS_REGION"),
            Map.entry("cdc.s3.part-size", "S3_PART_SIZE"),
            Map.entry("cdc.s3.parts-in-flight", "S3_PARTS_IN_FLIGHT"),
            Map.entry("cdc.seed-users", "SEED_USERS"),
            Map.entry("cdc.instance-id", "INSTANCE_ID"),
            Map.entry("cdc.schema", "CDC_SCHEMA"),
            Map.entry("cdc.export-tables", "EXPORT_TABLES"),
            Map.entry("cdc.capture-mode", "CAPTURE_MODE"),
            Map.entry("cdc.logical.slot", "LOGICAL_SLOT"),
            Map.entry("cdc.logical.catch-up-timeout", "LOGICAL_CATCH_UP_TIMEOUT"),
            Map.entry("cdc.logical.lag-warning", "LOGICAL_LAG_WARNING"),
            Map.entry("cdc.logical.batch-size", "LOGICAL_BATCH_SIZE"),
            Map.entry("cdc.schedules", "EXPORT_SCHEDULES"),
            Map.entry("cdc.tombstone-prune-interval", "TOMBSTONE_PRUNE_INTERVAL"),
            Map.entry("cdc.jobs.workers", "EXPORT_WORKERS"),
            Map.entry("cdc.jobs.queue-capacity", "EXPORT_QUEUE_CAPACITY"),
            Map.entry("cdc.jobs.heartbeat-interval", "EXPORT_HEARTBEAT_INTERVAL"),
            Map.entry("cdc.jobs.stale-after", "EXPORT_STALE_AFTER"),
            Map.entry("cdc.jobs.poll-interval", "EXPORT_POLL_INTERVAL"),
            Map.entry("cdc.jobs.max-attempts", "EXPORT_MAX_ATTEMPTS"),
            Map.entry("cdc.jobs.retention", "EXPORT_RETENTION"),
            Map.entry("cdc.jobs.exports-per-hour", "EXPORTS_PER_HOUR"),
            Map.entry("cdc.jobs.export-burst", "EXPORT_BURST"),
            Map.entry("cdc.parallel.parallelism", "EXPORT_PARALLELISM"),
            Map.entry("cdc.parallel.min-rows", "EXPORT_PARALLEL_MIN_ROWS"),
            Map.entry("cdc.parallel.chunk-dir", "EXPORT_CHUNK_DIR"),
            Map.entry("cdc.parallel.readers", "EXPORT_READERS"),
            Map.entry("cdc.parallel.warm-up-rows", "EXPORT_WARM_UP_ROWS"),
            Map.entry("cdc.auth.mode", "AUTH_MODE"),
            Map.entry("cdc.auth.admin-token", "ADMIN_TOKEN"),
            Map.entry("cdc.auth.consumer-api-keys", "CONSUMER_API_KEYS"),
            Map.entry("cdc.auth.key-rotation-overlap", "KEY_ROTATION_OVERLAP"),
            Map.entry("cdc.auth.rate-limit-per-minute", "RATE_LIMIT_PER_MINUTE"),
            Map.entry("cdc.auth.failures-per-minute", "AUTH_FAILURES_PER_MINUTE"),
            Map.entry("cdc.auth.failure-log-interval", "AUTH_FAILURE_LOG_INTERVAL"),
            Map.entry("cdc.file-mode", "EXPORT_FILE_MODE"),
            Map.entry("cdc.console.session-timeout", "CONSOLE_SESSION_TIMEOUT"),
            Map.entry("cdc.console.max-sessions", "CONSOLE_MAX_SESSIONS"),
            Map.entry("cdc.console.sign-in-per-minute", "CONSOLE_SIGN_IN_PER_MINUTE"),
            Map.entry("cdc.public-url", "PUBLIC_URL"),
            Map.entry("cdc.iceberg.warehouse", "ICEBERG_WAREHOUSE"),
            Map.entry("cdc.iceberg.namespace", "ICEBERG_NAMESPACE"),
            Map.entry("cdc.iceberg.upkeep-interval", "ICEBERG_UPKEEP_INTERVAL"),
            Map.entry("cdc.iceberg.snapshot-retention", "ICEBERG_SNAPSHOT_RETENTION"),
            Map.entry("cdc.iceberg.catalog", "ICEBERG_CATALOG"),
            Map.entry("cdc.iceberg.rest-uri", "ICEBERG_REST_URI"),
            Map.entry("cdc.iceberg.rest-credential", "ICEBERG_REST_CREDENTIAL"),
            Map.entry("cdc.iceberg.rest-token", "ICEBERG_REST_TOKEN"),
            Map.entry("cdc.iceberg.rest-warehouse", "ICEBERG_REST_WAREHOUSE"),
            Map.entry("cdc.iceberg.rest-scope", "ICEBERG_REST_SCOPE"),
            // The key is checked as its record is bound, which names the record.
            Map.entry("cdc.masking", "MASKING_KEY"),
            Map.entry("cdc.masking.key", "MASKING_KEY"),
            Map.entry("cdc.iceberg.compact-delete-files", "ICEBERG_COMPACT_DELETE_FILES"),
            Map.entry("cdc.iceberg.compact-keys-in-memory", "ICEBERG_COMPACT_KEYS_IN_MEMORY"),
            Map.entry("server.port", "PORT"),
            Map.entry("server.forward-headers-strategy", "FORWARD_HEADERS_STRATEGY"),
            Map.entry("logging.level.root", "LOG_LEVEL"),
            Map.entry("spring.lifecycle.timeout-per-shutdown-phase", "EXPORT_SHUTDOWN_GRACE"));

    /** Their values never appear in a message. */
    private static final java.util.Set<String> SECRETS = java.util.Set.of("cdc.auth.admin-token",
            "cdc.auth.consumer-api-keys", "cdc.masking", "cdc.masking.key", "cdc.iceberg.rest-credential",
            "cdc.iceberg.rest-token");

    private final Environment environment;

    StartupFailureAnalyzer(Environment environment) {
        this.environment = environment;
    }

    @Override
    public FailureAnalysis analyze(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof InvalidSettingException e) {
                return analysis(e.getMessage(), "", e); // the message says what to do
            }
            if (t instanceof BindException e) {
                return badValue(e);
            }
            if (t instanceof InvalidConfigurationPropertyValueException e) {
                return badValue(e.getName(), e.getReason(), e);
            }
            if (t instanceof PortInUseException e) {
                return analysis("PORT=" + e.getPort() + " is already in use by another process",
                        "stop that process or set PORT to a free port", e);
            }
            if (t instanceof PSQLException e && isConnectionProblem(e.getSQLState())) {
                return analysis("Cannot use the database of DATABASE_URL: " + e.getMessage(),
                        "check that PostgreSQL is running and DATABASE_URL names an existing database and user", e);
            }
        }
        return null;
    }

    private FailureAnalysis badValue(BindException e) {
        String property = e.getName().toString();
        String reason = rootMessage(e);
        if (e.getCause() instanceof BindValidationException validation) {
            for (ObjectError error : validation.getValidationErrors()) {
                if (error instanceof FieldError field) {
                    property = validation.getValidationErrors().getName() + "." + field.getField();
                }
                reason = error.getDefaultMessage();
                break;
            }
        }
        return badValue(property, allowedValues(e).orElse(reason), e);
    }

    /** "must be one of text, json, auto" instead of "No enum constant com.cdcexport....Value.xml". */
    private static Optional<String> allowedValues(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof ConversionFailedException e && e.getTargetType().getType().isEnum()) {
                return Optional.of("must be one of " + Arrays.stream(e.getTargetType().getType().getEnumConstants())
                        .map(c -> ((Enum<?>) c).name().toLowerCase(Locale.ROOT).replace('_', '-'))
                        .collect(Collectors.joining(", ")));
            }
        }
        return Optional.empty();
    }

    private FailureAnalysis badValue(String property, String reason, Throwable cause) {
        // Validation reports Java field names (cdc.seedUsers); the table uses the canonical form (cdc.seed-users).
        String canonical = property.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT);
        String variable = ENVIRONMENT_VARIABLES.getOrDefault(canonical, canonical);
        String value = SECRETS.contains(canonical) ? null : resolvedValue(canonical);
        return analysis("Invalid configuration: " + variable + (value == null ? "" : "='" + value + "'") + ": "
                + reason, "fix " + variable + " and start again", cause);
    }

    private String resolvedValue(String property) {
        try {
            return environment.getProperty(property);
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static boolean isConnectionProblem(String sqlState) {
        // 08: connection exceptions, 28: authorization, 3D000: no such database.
        return sqlState != null && (sqlState.startsWith("08") || sqlState.startsWith("28") || sqlState.equals("3D000"));
    }

    private static FailureAnalysis analysis(String line, String action, Throwable cause) {
        return new FailureAnalysis(line.replace('\n', ' '), action, cause);
    }

    private static String rootMessage(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        return root.getMessage();
    }
}
