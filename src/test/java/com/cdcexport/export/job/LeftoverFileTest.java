package com.cdcexport.export.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;

import org.junit.jupiter.api.Test;

import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.UsersTableLock;

class LeftoverFileTest extends IntegrationTest {

    /**
     * What an earlier attempt leaves when it published and then lost its claim before committing: a file under
     * the job's name that no commit vouches for. The attempt that holds the claim replaces it with its own.
     */
    @Test
    void fileAnEarlierAttemptPublishedIsReplacedByTheAttemptThatHoldsTheClaim() throws Exception {
        insertUsers(3);
        Api.Response started;
        try (UsersTableLock locker = UsersTableLock.acquire()) {
            started = startExport("full", "leftover");
            awaitStatus(started.field("jobId"), "running");
            Files.writeString(OUTPUT_DIR.resolve(started.field("outputFilename")), "stale,file\n");
            locker.release();
        }

        assertThat(awaitJob(started.field("jobId"))).isEqualTo("completed");
        assertThat(readCsv(started.field("outputFilename"))).hasSize(4);
        assertThat(outputFiles()).containsExactlyInAnyOrder(started.field("outputFilename"),
                started.field("manifestFilename"));
    }
}
