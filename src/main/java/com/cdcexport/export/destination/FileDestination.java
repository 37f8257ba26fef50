package com.cdcexport.export.destination;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.FileAlreadyExistsException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.stereotype.Component;

import com.cdcexport.export.destination.ExportFileStore.PendingFile;
import com.cdcexport.export.format.ExportFormat;
import com.cdcexport.export.format.FileColumn;
import com.cdcexport.export.model.ExportPlan;
import com.cdcexport.export.model.ExportPlan.TablePlan;

/**
 * Exports as files (EXPORT_SINK: a local directory or an S3 bucket): one per table, named by the plan, and a
 * manifest. Each attempt writes files of its own ({@code name.<attempt>.part}, or its own upload) and publishes each
 * under its final name in a step that never replaces an existing file.
 */
@Component
public class FileDestination implements Destination {

    private static final Logger log = LoggerFactory.getLogger(FileDestination.class);

    private final ExportFileStore files;

    public FileDestination(ExportFileStore files) {
        this.files = files;
    }

    @Override
    public boolean writes(ExportFormat format) {
        return !format.isTable();
    }

    @Override
    public Attempt begin(ExportPlan plan, Fence fence) {
        return new FileAttempt(plan, fence);
    }

    @Override
    public String location() {
        return files.location();
    }

    private final class FileAttempt implements Attempt {

        private final ExportPlan plan;
        private final Fence fence;
        /** By final name, in the order written: the tables' files, then the manifest. */
        private final Map<String, PendingFile> pending = new LinkedHashMap<>();
        private final List<String> published = new ArrayList<>();

        FileAttempt(ExportPlan plan, Fence fence) {
            this.plan = plan;
            this.fence = fence;
        }

        @Override
        public OutputStream open(TablePlan table, List<FileColumn> columns, List<String> key) throws IOException {
            return create(table.outputName()).stream();
        }

        @Override
        public void publish() throws IOException {
            for (TablePlan table : plan.tables()) {
                publish(table.outputName());
            }
        }

        @Override
        public void publishManifest(byte[] manifest) throws IOException {
            String name = plan.manifestName().orElseThrow(
                    () -> new IllegalStateException("Job " + plan.jobId() + " was queued without a manifest name"));
            create(name).stream().write(manifest);
            publish(name);
        }

        private PendingFile create(String name) throws IOException {
            if (pending.containsKey(name)) {
                throw new IllegalStateException(name + " is written twice by job " + plan.jobId());
            }
            PendingFile file = files.create(name, plan.attempt());
            pending.put(name, file);
            return file;
        }

        /** A file already under the name is an earlier attempt's that never committed (see the Fence). */
        private void publish(String name) throws IOException {
            PendingFile file = pending.get(name);
            if (file == null) {
                throw new IllegalStateException(name + " was never written by job " + plan.jobId());
            }
            try {
                file.publish();
            } catch (FileAlreadyExistsException taken) {
                if (!fence.whileLatest(() -> files.deletePublished(name))) {
                    throw taken;
                }
                log.info("Job {} (attempt {}): removed a file an earlier attempt published and never committed",
                        plan.jobId(), plan.attempt());
                file.publish();
            }
            published.add(name);
        }

        @Override
        public boolean discardPublished() {
            if (published.isEmpty()) {
                return true;
            }
            return fence.whileLatest(() -> published.forEach(files::deletePublished));
        }

        @Override
        public void close() throws IOException {
            IOException first = null;
            for (PendingFile file : pending.values()) {
                try {
                    file.close();
                } catch (IOException e) {
                    if (first == null) {
                        first = e;
                    } else {
                        first.addSuppressed(e);
                    }
                }
            }
            if (first != null) {
                throw first;
            }
        }
    }
}
