package com.cdcexport.export.destination;

import java.io.IOException;

import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;
import org.springframework.stereotype.Component;

/**
 * Readiness of where export files go, shown as exportOutput: the output directory exists, accepts a new file and
 * has room; or the S3 bucket answers.
 */
@Component("exportOutput")
class ExportSinkHealthIndicator extends AbstractHealthIndicator {

    private final ExportFileStore files;

    ExportSinkHealthIndicator(ExportFileStore files) {
        super("Export sink check failed");
        this.files = files;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) throws IOException {
        files.sink().checkHealth(builder);
    }
}
