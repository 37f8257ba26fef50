package com.cdcexport.export.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.jdbc.core.JdbcTemplate;

import com.cdcexport.support.Api;
import com.cdcexport.support.S3MockProcess;
import com.cdcexport.support.ServiceProcess;
import com.cdcexport.support.TestDatabase;

/**
 * The promise of every sink: a watermark never moves without its export's file and manifest, whatever step the
 * process dies at and whoever takes the job over. The packaged service stops exactly after each step of an export's
 * end (written, published, manifest, committed) through the test hook CDC_TEST_PAUSE_AFTER ({@link StepPause}); it
 * is then killed and started again, or frozen while a second instance takes the job over and woken after that one
 * committed. Against the real S3 API (S3Mock) and the local directory. The table is small: the hook, not the
 * export's length, decides where the process stops, and a 3 MB file is still a multipart upload on S3.
 */
class PublishCrashIT {

    private static final int USERS = 30_000;
    private static final String BUCKET = "crash";
    private static final JdbcTemplate jdbc = TestDatabase.jdbc();
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static S3MockProcess s3;

    @TempDir
    Path output;

    private final String prefix = "crash-" + UUID.randomUUID().toString().substring(0, 8) + "/";

    @BeforeAll
    static void start() {
        TestDatabase.resetWithUsers(USERS);
        s3 = S3MockProcess.start(BUCKET);
    }

    @AfterAll
    static void stop() {
        s3.close();
    }

    @BeforeEach
    void noJobOfAnEarlierTestIsLeft() {
        jdbc.update("UPDATE export_jobs SET status = 'cancelled', finished_at = now(), error = 'Left by an earlier "
                + "test' WHERE status IN ('queued', 'running')");
    }

    /**
     * One instance after the other on the same INSTANCE_ID: each stops one job at its step and is killed; the next
     * one, stopping at the next step, first runs that job again (a restarted instance re-queues its own jobs at
     * start-up) and must leave it completed with its files, or not completed and nothing moved.
     */
    @ParameterizedTest(name = "sink {0}")
    @ValueSource(strings = {"s3", "local"})
    void killedAfterAnyStepOfPublishingTheJobEndsWithItsFilesOrMovesNothing(String sink) {
        Map<String, String> env = environment(sink, "crash-" + sink);
        String previousJob = null;
        Exported killed = null;
        for (StepPause.Step step : StepPause.Step.values()) {
            Map<String, String> paused = new HashMap<>(env);
            paused.put(StepPause.VARIABLE, step.name().toLowerCase(Locale.ROOT));
            try (ServiceProcess service = ServiceProcess.start(paused)) {
                if (killed != null) {
                    assertThat(TestDatabase.awaitJob(previousJob)).as(killed.step + ": " + service.log())
                            .isEqualTo("completed");
                    assertComplete(killed, sink, 2);
                }
                killed = export(service, sink + "-" + step.name().toLowerCase(Locale.ROOT), step);
                previousJob = killed.jobId;
                service.awaitLog("Paused after step " + step.name().toLowerCase(Locale.ROOT) + " of job "
                        + killed.jobId);

                service.kill();
            }
            if (step == StepPause.Step.COMMITTED) {
                assertComplete(killed, sink, 1);
            } else {
                assertThat(TestDatabase.jobStatus(killed.jobId)).as(step.name()).isEqualTo("running");
                assertThat(watermarks(killed.consumer)).as(step + ": nothing moved before the commit").isZero();
            }
        }
        try (ServiceProcess service = ServiceProcess.start(env)) {
            assertThat(TestDatabase.awaitJob(previousJob)).as(service.log()).isEqualTo("completed");
            assertComplete(killed, sink, 1);
            assertNothingTemporaryLeft(sink);
        }
    }

    /**
     * Instance A stops after a step and freezes (no heartbeats). The job is queued again as by a reaper whose
     * clean-up of A's files did not get to run before the job was claimed again (JobFiles, case 3), and instance B
     * takes it over: it finds A's uncommitted file under the name (after {@code published} or {@code manifest}),
     * removes it under its fence, publishes and commits. Then A wakes, carries on, finds the job is no longer its
     * own and cleans up after itself. B's file and manifest stay, complete. Before each attempt uploaded to a key
     * of its own, B's removal of A's object also dropped B's own upload on S3Mock (it keeps a key's uploads with its
     * object), and the job failed.
     */
    @ParameterizedTest(name = "paused after {0}")
    @ValueSource(strings = {"written", "published", "manifest"})
    void aRunnerFrozenAfterAStepNeverRemovesTheFilesOfTheInstanceThatTookItsJobOver(String step) {
        Map<String, String> a = environment("s3", "frozen-a");
        a.put(StepPause.VARIABLE, step);
        Exported exported;
        try (ServiceProcess first = ServiceProcess.start(a)) {
            exported = export(first, "takeover-" + step, StepPause.Step.valueOf(step.toUpperCase(Locale.ROOT)));
            first.awaitLog("Paused after step " + step + " of job " + exported.jobId);

            first.suspend();
            assertThat(jdbc.update("UPDATE export_jobs SET status = 'queued', error = 'queued again by the test', "
                    + "started_at = NULL, rows_exported = 0, total_rows = NULL WHERE id = ? AND attempts = 1",
                    UUID.fromString(exported.jobId))).isEqualTo(1);
            try (ServiceProcess second = ServiceProcess.start(environment("s3", "takeover-b"))) {
                assertThat(TestDatabase.awaitJob(exported.jobId)).as(second.log()).isEqualTo("completed");
                assertComplete(exported, "s3", 2);

                first.resume();
                first.awaitLog("\"event\":\"export_failed\",\"jobId\":\"" + exported.jobId + "\"");
                assertThat(jdbc.queryForObject("SELECT instance_id FROM export_jobs WHERE id = ?", String.class,
                        UUID.fromString(exported.jobId))).isEqualTo("takeover-b");
                assertComplete(exported, "s3", 2);
                assertNothingTemporaryLeft("s3");
            }
        }
    }

    private Map<String, String> environment(String sink, String instance) {
        Map<String, String> env = new HashMap<>(Map.of("EXPORT_OUTPUT_DIR", output.toString(), "INSTANCE_ID",
                instance, "EXPORT_HEARTBEAT_INTERVAL", "1s", "EXPORT_STALE_AFTER", "3s"));
        if (sink.equals("s3")) {
            env.putAll(s3.sinkEnvironment(BUCKET, prefix));
            env.put("S3_PART_SIZE", "5MB");
        }
        return env;
    }

    private record Exported(StepPause.Step step, String jobId, String consumer, String file, String manifest) {
    }

    private static Exported export(ServiceProcess service, String consumer, StepPause.Step step) {
        Api.Response started = service.api().post("/exports/full", consumer);
        assertThat(started.status()).as(started.body()).isEqualTo(202);
        return new Exported(step, started.field("jobId"), consumer, started.field("outputFilename"),
                started.field("manifestFilename"));
    }

    /**
     * The job completed by {@code attempt}, its file and manifest are there, the manifest states the file's size
     * and SHA-256, and the consumer's watermark moved.
     */
    private void assertComplete(Exported export, String sink, int attempt) {
        String what = export.step + " on " + sink;
        assertThat(TestDatabase.jobStatus(export.jobId)).as(what).isEqualTo("completed");
        assertThat(jdbc.queryForObject("SELECT attempts FROM export_jobs WHERE id = ?", Integer.class,
                UUID.fromString(export.jobId))).as(what).isEqualTo(attempt);
        assertThat(watermarks(export.consumer)).as(what).isEqualTo(1);
        byte[] file = read(sink, export.file);
        assertThat(file).as(what + ": the file").isNotNull();
        byte[] manifestBytes = read(sink, export.manifest);
        assertThat(manifestBytes).as(what + ": the manifest").isNotNull();
        JsonNode manifest = JSON.readTree(manifestBytes);
        JsonNode entry = manifest.get("files").get(0);
        assertThat(manifest.get("jobId").asString()).isEqualTo(export.jobId);
        assertThat(entry.get("name").asString()).isEqualTo(export.file);
        assertThat(entry.get("bytes").asLong()).as(what).isEqualTo(file.length);
        assertThat(entry.get("sha256").asString()).as(what).isEqualTo(sha256(file));
        assertThat(new String(file, java.nio.charset.StandardCharsets.UTF_8)).hasLineCount(USERS + 1);
    }

    /** No open multipart upload, no object or file of an attempt that did not publish it. */
    private void assertNothingTemporaryLeft(String sink) {
        if (sink.equals("s3")) {
            assertThat(s3.openUploads(BUCKET, prefix)).isEmpty();
            assertThat(s3.keys(BUCKET, prefix)).noneMatch(k -> k.endsWith(".part"));
        } else {
            try (Stream<Path> files = Files.list(output)) {
                assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".part"));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** The object or file's content; null when it is not there. */
    private byte[] read(String sink, String name) {
        if (sink.equals("s3")) {
            return s3.keys(BUCKET, prefix).contains(prefix + name) ? s3.object(BUCKET, prefix + name) : null;
        }
        try {
            Path path = output.resolve(name);
            return Files.exists(path) ? Files.readAllBytes(path) : null;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static int watermarks(String consumer) {
        return jdbc.queryForObject("SELECT count(*) FROM watermarks WHERE consumer_id = ?", Integer.class, consumer);
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
