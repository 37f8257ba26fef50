package com.cdcexport.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import org.hibernate.validator.constraints.time.DurationMax;
import org.hibernate.validator.constraints.time.DurationMin;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * Every setting of the service. application.yml maps the documented environment variables
 * (DATABASE_URL, EXPORT_OUTPUT_DIR, SEED_USERS, EXPORT_WORKERS, ...) onto these fields;
 * {@link StartupFailureAnalyzer} turns a bad value into one line naming the variable.
 */
@Validated
@ConfigurationProperties(prefix = "cdc")
public record CdcProperties(
        /* Empty means: start an embedded PostgreSQL under {@code embeddedDataDir}. */
        @DefaultValue("") String databaseUrl,
        /* Hot standbys every export reads from (DATABASE_READ_URL and the STANDBY_ settings); none: the primary. */
        @Valid @NotNull @DefaultValue Standby standby,
        @DefaultValue(".data/postgres") @NotNull Path embeddedDataDir,
        @DefaultValue("./output") @NotNull Path outputDir,
        /* Octal mode of export files (they hold personal data); the directory gets x where the file has r. */
        @DefaultValue("0600") @NotNull String fileMode,
        @DefaultValue("100000") @Min(0) @Max(100_000_000) int seedUsers,
        @DefaultValue("") String instanceId,
        /* The service's own schema: its tables, functions and Flyway's history; nothing of it elsewhere. */
        @DefaultValue("cdc") @NotNull @Pattern(regexp = "[a-z_][a-z0-9_]{0,62}",
                message = "must be a lowercase PostgreSQL identifier (letters, digits, _)") String schema,
        /* Tables whose changes are captured and exported: [schema.]table[:trigger|:logical] entries separated by ','. */
        @DefaultValue("users") @NotNull String exportTables,
        /* How tables without a :mode suffix in EXPORT_TABLES are captured: triggers, or the WAL through a slot. */
        @DefaultValue("trigger") @NotNull CaptureMode captureMode,
        @Valid @NotNull @DefaultValue Logical logical,
        /* The service's URL as clients reach it (https://exports.example.com), for the OpenAPI document; empty: "/". */
        @DefaultValue("") String publicUrl,
        /* Built-in schedules: consumer=type@cron entries separated by ';' (see ExportSchedules). */
        @DefaultValue("") String schedules,
        /* How often change-log entries that every consumer has passed are removed. */
        @DefaultValue("10m") @NotNull Duration tombstonePruneInterval,
        @Valid @NotNull @DefaultValue Jobs jobs,
        @Valid @NotNull @DefaultValue Auth auth,
        @Valid @NotNull @DefaultValue Console console,
        @Valid @NotNull @DefaultValue Masking masking,
        /* Where export files go: EXPORT_OUTPUT_DIR (local) or an S3 bucket (s3). */
        @DefaultValue("local") @NotNull Sink sink,
        @Valid @NotNull @DefaultValue S3 s3,
        @Valid @NotNull @DefaultValue Parallel parallel,
        @Valid @NotNull @DefaultValue Iceberg iceberg) {

    public enum Sink {
        LOCAL, S3
    }

    /** CAPTURE_MODE: see docs/capture.md ("Log-based capture"). */
    public enum CaptureMode {
        TRIGGER, LOGICAL;

        public String slug() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** Exports read from hot standbys: see docs/capture.md ("Reading from a standby"). */
    public record Standby(
            /* DATABASE_READ_URL: hot standbys of DATABASE_URL's server, separated by ',', the preferred first. */
            @DefaultValue("") @NotNull String readUrl,
            /* How long an export waits for a standby to replay the moment its job was claimed. */
            @DefaultValue("30s") @NotNull @DurationMin(seconds = 1) @DurationMax(hours = 24) Duration catchUpTimeout,
            /* What an export does when no standby caught up in time: fail, or read on the primary. */
            @DefaultValue("fail") @NotNull StandbyFallback fallback) {

        /** The standbys, in DATABASE_READ_URL's order; a malformed entry is a start-up error naming the variable. */
        public List<DatabaseUrl> urls() {
            return Arrays.stream(readUrl.split(",")).map(String::strip).filter(u -> !u.isEmpty())
                    .map(u -> DatabaseUrl.parse(u, "DATABASE_READ_URL")).toList();
        }
    }

    /** STANDBY_FALLBACK. */
    public enum StandbyFallback {
        FAIL, PRIMARY
    }

    /** Log-based capture (CAPTURE_MODE=logical, or a table's :logical suffix). */
    public record Logical(
            /* The replication slot, and the publication of the same name; one per service schema and database. */
            @DefaultValue("") @Pattern(regexp = "|[a-z0-9_]{1,63}",
                    message = "must be a replication slot name (lowercase letters, digits, _)") String slot,
            /* How long an export waits for the decoder to pass the marker it wrote into the WAL. */
            @DefaultValue("60s") @NotNull @DurationMin(seconds = 1) @DurationMax(hours = 1) Duration catchUpTimeout,
            /* WAL retained by the slot past which the decoder's lag is reported as a warning (and readiness DOWN). */
            @DefaultValue("1GB") @NotNull DataSize lagWarning,
            /* Source changes written to the change log per transaction of the decoder at most. */
            @DefaultValue("10000") @Min(1) @Max(1_000_000) int batchSize) {

        /** LOGICAL_SLOT, or the service schema's name followed by {@code _export}. */
        public String slotName(String schema) {
            return slot.isEmpty() ? schema + "_export" : slot;
        }
    }

    /** EXPORT_SINK=s3. Credentials come from the AWS SDK's default chain (environment, profile, instance role). */
    public record S3(
            @DefaultValue("") @NotNull String bucket,
            /* Key prefix, a folder: "exports" and "exports/" both put files under exports/. */
            @DefaultValue("") @NotNull String prefix,
            /* Empty: AWS; else any S3-compatible endpoint (MinIO, Ceph, R2), e.g. http://localhost:9000. */
            @DefaultValue("") @NotNull String endpoint,
            /* bucket in the path (http://host/bucket/key) rather than the host name, as MinIO needs. */
            @DefaultValue("false") boolean pathStyle,
            /* Empty: the SDK's chain (AWS_REGION, profile), or us-east-1 with an S3_ENDPOINT. */
            @DefaultValue("") @NotNull String region,
            /* Multipart part size; memory per file being written is at most partSize x partsInFlight. */
            @DefaultValue("8MB") @NotNull DataSize partSize,
            @DefaultValue("2") @Min(1) @Max(16) int partsInFlight) {

        /** Where the files go: {@code s3://bucket/prefix/}. */
        public String location() {
            return "s3://" + bucket + "/" + normalizedPrefix();
        }

        /** "" or a prefix ending in one '/', without a leading one. */
        public String normalizedPrefix() {
            String p = prefix.strip().replaceAll("^/+", "").replaceAll("/+$", "");
            return p.isEmpty() ? "" : p + "/";
        }
    }

    public record Jobs(
            /* Exports running at once; each holds one database connection while it reads. */
            @DefaultValue("2") @Min(1) @Max(64) int workers,
            /* Accepted exports waiting for a worker; beyond this the API answers 429. */
            @DefaultValue("100") @Min(0) @Max(100_000) int queueCapacity,
            @DefaultValue("5s") @NotNull Duration heartbeatInterval,
            /* A running job whose instance stopped heart-beating this long is queued again (or failed). */
            @DefaultValue("30s") @NotNull Duration staleAfter,
            /* How often an idle instance looks for queued jobs (a local request wakes it at once). */
            @DefaultValue("500ms") @NotNull Duration pollInterval,
            /* Claims of one job before it is failed rather than queued again. */
            @DefaultValue("3") @Min(1) @Max(100) int maxAttempts,
            /*
             * Finished jobs older than this are deleted with their files, but for the newest completed export of each
             * consumer and table (the one its watermark points to); 0 keeps them forever.
             */
            @DefaultValue("7d") @DurationMin(seconds = 0) Duration retention,
            /* Exports one consumer may request an hour (a token bucket per instance); 0: no limit. */
            @DefaultValue("60") @Min(0) @Max(1_000_000) int exportsPerHour,
            /* How many of them it may request at once: the bucket's size. */
            @DefaultValue("10") @Min(1) @Max(1_000_000) int exportBurst) {

        /** EXPORT_RETENTION, unless it keeps jobs forever (0). */
        public Optional<Duration> effectiveRetention() {
            return retention == null || retention.isZero() ? Optional.empty() : Optional.of(retention);
        }
    }

    public record Auth(
            /* api-key: every /exports request needs a consumer's key; off: the X-Consumer-ID header is trusted. */
            @DefaultValue("api-key") @NotNull AuthMode mode,
            /* Bearer token of /consumers and of the actuator endpoints other than health; empty disables them. */
            @DefaultValue("") String adminToken,
            /* consumer=key entries separated by ';', registered at start-up (docker compose's .env uses it). */
            @DefaultValue("") String consumerApiKeys,
            /* How long a consumer's previous keys keep working after a rotation. */
            @DefaultValue("24h") @NotNull Duration keyRotationOverlap,
            /* Requests per minute and consumer (token bucket, per instance); 0 disables the limit. */
            @DefaultValue("600") @Min(0) @Max(1_000_000) int rateLimitPerMinute,
            /* Bad keys one remote address may present per minute before it gets 429; 0 disables the limit. */
            @DefaultValue("20") @Min(0) @Max(1_000_000) int failuresPerMinute,
            /* auth_failed is logged once per address and interval, then as one line with a count; 0 logs each. */
            @DefaultValue("1m") @NotNull Duration failureLogInterval) {
    }

    public record Console(
            /* A console session ends after this long without a request (sign in again). */
            @DefaultValue("30m") @NotNull @DurationMin(minutes = 1) @DurationMax(days = 30) Duration sessionTimeout,
            /* Sessions one instance holds at most (only a sign-in opens one); beyond, a sign-in gets 503. */
            @DefaultValue("1000") @Min(1) @Max(1_000_000) int maxSessions,
            /* Requests to the sign-in page per remote address and minute (token bucket); 0 disables the limit. */
            @DefaultValue("60") @Min(0) @Max(1_000_000) int signInPerMinute) {
    }

    /**
     * MASKING_KEY: the secret of consumers' hmac-sha256 column masks; empty, such masks cannot be set. Checked here,
     * when the settings are bound and before the database is touched, rather than by a constraint, whose violation
     * would carry the rejected value into the DEBUG log of the failure; the value never appears in a message.
     */
    public record Masking(@DefaultValue("") @NotNull String key) {

        /** As for ADMIN_TOKEN: 128 bits and more when random (e.g. {@code openssl rand -hex 32}). */
        public static final int MIN_LENGTH = 32;

        public Masking {
            if (!key.isEmpty() && !isAcceptable(key)) {
                throw new InvalidSettingException("must be at least " + MIN_LENGTH + " characters, not one character "
                        + "repeated (e.g. `openssl rand -hex 32`)");
            }
        }

        public static boolean isAcceptable(String key) {
            return key != null && key.length() >= MIN_LENGTH && key.chars().distinct().count() > 1;
        }

        @Override
        public String toString() {
            return "Masking[key=" + (key.isEmpty() ? "" : "(hidden)") + "]";
        }
    }

    /** Exports applied to Iceberg tables ({@code format=iceberg}): see docs/iceberg.md. */
    public record Iceberg(
            /* ICEBERG_WAREHOUSE: the directory the tables' files go under; empty: OUTPUT_DIR/iceberg. */
            @DefaultValue("") @NotNull String warehouse,
            /* ICEBERG_NAMESPACE: each consumer's tables' namespace; {consumer} stands for the consumer's id. A table
               holds one consumer's view (its columns, rows and masks), so the consumer's id is always part of it. */
            @DefaultValue("{consumer}") @NotNull
            @Pattern(regexp = "[A-Za-z0-9_-]{0,80}\\{consumer}[A-Za-z0-9_-]{0,80}",
                    message = "must hold \\{consumer\\} (each consumer's tables are its own), with letters, digits, '_' "
                            + "or '-' around it")
            String namespace,
            /* ICEBERG_UPKEEP_INTERVAL: how often snapshots past their retention and orphan files are removed. */
            @DefaultValue("1h") @NotNull @DurationMin(minutes = 1) @DurationMax(days = 7) Duration upkeepInterval,
            /* ICEBERG_SNAPSHOT_RETENTION: snapshots older than this are expired (the current one is always kept). */
            @DefaultValue("7d") @NotNull @DurationMin(minutes = 1) Duration snapshotRetention,
            /* ICEBERG_COMPACT_DELETE_FILES: upkeep rewrites a table once its current snapshot has this many delete
               files (each delta adds one), replacing them and its data files by data files of its live rows;
               0: never. */
            @DefaultValue("8") @Min(0) int compactDeleteFiles,
            /* ICEBERG_COMPACT_KEYS_IN_MEMORY: the deleted keys a rewrite holds at once (about 100 bytes each, plus the
               key); with more, it reads the table once per this many keys. */
            @DefaultValue("100000") @Min(1000) @Max(10_000_000) int compactKeysInMemory,
            /* ICEBERG_CATALOG: embedded (the tables' pointers in the service's schema, swapped in the export's own
               transaction) or rest (an Iceberg REST catalog at ICEBERG_REST_URI). */
            @DefaultValue("embedded") @NotNull IcebergCatalogKind catalog,
            /* ICEBERG_REST_URI: the REST catalog's base URL (the one its clients' "uri" names), http or https. */
            @DefaultValue("") @NotNull String restUri,
            /* ICEBERG_REST_CREDENTIAL: OAuth2 client credentials "id:secret" for the catalog's token endpoint. */
            @DefaultValue("") @NotNull String restCredential,
            /* ICEBERG_REST_TOKEN: a bearer token instead of credentials. */
            @DefaultValue("") @NotNull String restToken,
            /* ICEBERG_REST_WAREHOUSE: the warehouse (catalog) name the REST catalog expects, if it serves several. */
            @DefaultValue("") @NotNull String restWarehouse,
            /* ICEBERG_REST_SCOPE: the OAuth2 scope asked for with ICEBERG_REST_CREDENTIAL (Iceberg's default:
               catalog; Polaris wants PRINCIPAL_ROLE:ALL). */
            @DefaultValue("") @NotNull String restScope) {

        /** Where the Iceberg tables' pointers are kept. */
        public enum IcebergCatalogKind {
            EMBEDDED, REST
        }

        /** Whether the tables are in a REST catalog. */
        public boolean rest() {
            return catalog == IcebergCatalogKind.REST;
        }

        /** The namespace of {@code consumer}'s tables. */
        public String namespaceOf(String consumer) {
            return namespace.replace("{consumer}", consumer);
        }
    }

    public record Parallel(
            /* Connections that read one export together, sharing its snapshot; 0: from the cores (2 to 8); 1: one. */
            @DefaultValue("0") @Min(0) @Max(32) int parallelism,
            /* Tables the planner expects fewer rows of are read by one connection: more cost more than they save. */
            @DefaultValue("100000") @Min(0) long minRows,
            /* Where workers write their chunks before they are joined into the file; empty: java.io.tmpdir. */
            @DefaultValue("") String chunkDir,
            /* Connections all running exports of an instance read with at once; 0: one per core, at least 2. */
            @DefaultValue("0") @Min(0) @Max(256) int readers,
            /* Rows PostgreSQL generates and the readers run through once at start-up, so that the first export
               finds the export path compiled; 0: none. */
            @DefaultValue("300000") @Min(0) @Max(10000000) long warmUpRows) {

        /** EXPORT_PARALLELISM, or {@link #perCore()} up to 8. */
        public int effectiveParallelism() {
            return parallelism > 0 ? parallelism : Math.min(8, perCore());
        }

        /** EXPORT_READERS, or {@link #perCore()}. */
        public int effectiveReaders() {
            return readers > 0 ? readers : perCore();
        }

        /**
         * One reader per core, at least 2: a backend renders rows on one core. More only compete for the cores, with
         * each other and with the instance's API and heartbeats (one more per instance was measured slower).
         */
        private static int perCore() {
            return Math.max(2, Runtime.getRuntime().availableProcessors());
        }
    }

    public enum AuthMode {
        API_KEY, OFF
    }
}
