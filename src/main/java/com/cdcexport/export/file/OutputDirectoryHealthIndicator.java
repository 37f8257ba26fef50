package com.cdcexport.export.file;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;

import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;
import org.springframework.stereotype.Component;

/** Readiness of the output directory: exists, accepts a new file, and has room. Shown as exportOutput. */
@Component("exportOutput")
class OutputDirectoryHealthIndicator extends AbstractHealthIndicator {

    private final ExportFileStore files;

    OutputDirectoryHealthIndicator(ExportFileStore files) {
        super("Output directory check failed");
        this.files = files;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) throws IOException {
        Path directory = files.directory();
        Path probe = Files.createTempFile(directory, ".health", ".tmp");
        Files.delete(probe);
        FileStore store = Files.getFileStore(directory);
        builder.up().withDetail("path", directory.toString()).withDetail("freeBytes", store.getUsableSpace());
    }
}
