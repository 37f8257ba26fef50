package com.cdcexport.export.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.s3.model.S3Exception;

import com.cdcexport.consumer.ConsumerId;
import com.cdcexport.export.format.ExportFormat;
import com.cdcexport.export.model.ExportType;

/** How a failure of object storage reads in a job: the storage's fault, said as such, with its own text for the admin. */
class JobFailureTest {

    private static final String WAREHOUSE = "s3://lake/cdc/iceberg";
    private final ExportJob job = ExportJob.queued(ExportType.DELTA, ExportFormat.ICEBERG, new ConsumerId("lake"),
            List.of(new JobFile("app.orders", "lake.app_orders", null)), null, "test", Instant.now());

    @Test
    void anUnreachableObjectStoreIsAStorageFailureNotAnInternalOne() {
        JobFailure failure = JobFailure.of(job, new IllegalStateException("commit failed",
                SdkClientException.create("Unable to execute HTTP request: Connection refused")), WAREHOUSE);
        assertThat(failure.message()).isEqualTo(JobFailure.STORAGE);
        assertThat(failure.detail()).isEqualTo("Cannot write export lake.app_orders to s3://lake/cdc/iceberg: "
                + "SdkClientException: Unable to execute HTTP request: Connection refused");
    }

    @Test
    void aRequestTheStoreRefusesIsAStorageFailureWithItsText() {
        S3Exception refused = (S3Exception) S3Exception.builder().statusCode(403).message("Access Denied").build();
        JobFailure failure = JobFailure.of(job, refused, WAREHOUSE);
        assertThat(failure.message()).isEqualTo(JobFailure.STORAGE);
        assertThat(failure.detail()).contains("S3Exception").contains("Access Denied").contains(WAREHOUSE);
    }
}
