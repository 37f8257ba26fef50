package com.cdcexport.export.destination;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;

/** The file system fails under a running service: the job fails clearly, nothing moves, nothing is left. */
class OutputFaultsTest extends IntegrationTest {

    @Test
    void missingOutputDirectoryFailsTheJobAndReadinessUntilItIsBack() throws Exception {
        insertUsers(10);
        export("full", "warehouse");
        Map<String, Object> watermark = watermarkRow();
        jdbc.update("UPDATE users SET name = 'changed'");
        List<String> files = outputFiles();

        Path moved = OUTPUT_DIR.resolveSibling(OUTPUT_DIR.getFileName() + "-away");
        Files.move(OUTPUT_DIR, moved);
        try {
            Api.Response started = startExport("incremental", "warehouse");
            assertThat(awaitJob(started.field("jobId"))).isEqualTo("failed");
            assertThat(jobRow(started.field("jobId")).get("error_detail")).asString()
                    .contains("Cannot write export file").contains(OUTPUT_DIR.toString());
            assertThat(api.get("/exports/jobs/" + started.field("jobId"), "warehouse").field("error"))
                    .as("the consumer is told what kind of failure, not the service's paths")
                    .contains("could not be written").doesNotContain(OUTPUT_DIR.toString());
            assertThat(watermarkRow()).isEqualTo(watermark);
            assertThat(api.get("/actuator/health/readiness", null).status()).isEqualTo(503);
        } finally {
            Files.move(moved, OUTPUT_DIR);
        }

        assertThat(outputFiles()).isEqualTo(files);
        assertThat(api.get("/actuator/health/readiness", null).status()).isEqualTo(200);
        assertThat(export("incremental", "warehouse")).hasSize(11);
    }

    @Test
    void fullDiskFailsTheJobAndLeavesNoPartialFile() throws Exception {
        insertUsers(20_000);
        assumeTrue(mountTmpfs("256k"), "needs root to mount a 256 KiB tmpfs over the output directory");
        try {
            Api.Response started = startExport("full", "warehouse");

            assertThat(awaitJob(started.field("jobId"))).isEqualTo("failed");
            assertThat(jobRow(started.field("jobId")).get("error_detail")).asString()
                    .contains("No space left on device");
            assertThat(outputFiles()).isEmpty();
            assertThat(jdbc.queryForObject("SELECT count(*) FROM watermarks", Long.class)).isZero();
        } finally {
            run("umount", OUTPUT_DIR.toString());
        }
        assertThat(export("full", "warehouse")).hasSize(20_001);
    }

    private Map<String, Object> watermarkRow() {
        return jdbc.queryForMap("SELECT last_exported_at, snapshot::text FROM watermarks WHERE consumer_id = 'warehouse'");
    }

    private static boolean mountTmpfs(String size) throws Exception {
        return run("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", OUTPUT_DIR.toString()) == 0;
    }

    private static int run(String... command) throws IOException, InterruptedException {
        return new ProcessBuilder(command).inheritIO().start().waitFor();
    }
}
