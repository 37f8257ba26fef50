package com.cdcexport.export.destination;

import java.io.IOException;
import java.util.List;
import java.util.Optional;

import org.springframework.boot.health.contributor.Health;
import org.springframework.core.io.Resource;

import com.cdcexport.export.destination.ExportFileStore.PartFile;
import com.cdcexport.export.destination.ExportFileStore.PendingFile;

/** Where {@link ExportFileStore} keeps files (EXPORT_SINK): names arrive checked, one path segment each. */
interface ExportSink extends AutoCloseable {

    boolean exists(String name) throws IOException;

    PendingFile create(String name, int attempt) throws IOException;

    void deletePart(String name, int attempt);

    void deletePublished(String name);

    void deleteAll(String name);

    List<PartFile> partFiles();

    Optional<Resource> published(String name) throws IOException;

    String location();

    /** Readiness: the sink accepts files now. */
    void checkHealth(Health.Builder builder) throws IOException;

    @Override
    default void close() {
    }
}
