package com.cdcexport.console;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.springframework.core.io.Resource;
import org.springframework.stereotype.Component;

import com.cdcexport.console.JobRow.FileRow;
import com.cdcexport.export.destination.ExportFileStore;
import com.cdcexport.export.job.JobFile;
import com.cdcexport.export.job.JobView;

/** Turns the API's job views into the console's rows, and finds a job's files for download. */
@Component
class JobRows {

    private final ExportFileStore files;
    private final Clock clock;

    JobRows(ExportFileStore files, Clock clock) {
        this.files = files;
        this.clock = clock;
    }

    /** What the running job waits for, in words (the API's {@code waitingFor} values). */
    private static String waiting(String waitingFor) {
        if (waitingFor == null) {
            return "";
        }
        return " — waiting for " + switch (waitingFor) {
            case "reader" -> "a free reader connection (EXPORT_READERS)";
            case "standby" -> "a standby to replay its watermarks";
            case "capture" -> "the log-based capture to pass its snapshot";
            default -> waitingFor;
        };
    }

    JobRow of(JobView job) {
        Instant now = clock.instant();
        Instant started = Display.parse(job.startedAt());
        Instant finished = Display.parse(job.finishedAt());
        boolean completed = job.status().equals("completed");
        boolean active = job.status().equals("queued") || job.status().equals("running");

        Duration elapsed = started == null ? null : Duration.between(started, finished == null ? now : finished);
        String rate = "";
        String timeLeft = "";
        if (elapsed != null && job.rowsExported() > 0 && !elapsed.isZero()) {
            double perSecond = job.rowsExported() / (elapsed.toNanos() / 1e9);
            rate = Display.rate(perSecond);
            if (job.status().equals("running") && job.totalRows() != null && job.totalRows() > job.rowsExported()) {
                timeLeft = Display.duration(Duration.ofMillis((long) ((job.totalRows() - job.rowsExported())
                        / perSecond * 1000)));
            }
        }
        String progress = Display.count(job.rowsExported()) + (job.totalRows() == null ? " rows"
                : " of " + Display.count(job.totalRows()) + " rows") + waiting(job.waitingFor());

        List<FileRow> fileRows = new ArrayList<>();
        long totalBytes = 0;
        boolean anySize = false;
        for (int i = 0; i < job.files().size(); i++) {
            JobFile file = job.files().get(i);
            Optional<Long> size = completed ? sizeOf(file.filename()) : Optional.empty();
            if (size.isPresent()) {
                totalBytes += size.get();
                anySize = true;
            }
            fileRows.add(new FileRow(file.table(), file.filename(),
                    file.rows() == null ? "" : Display.count(file.rows()),
                    size.map(Display::bytes).orElse(""),
                    size.isPresent() ? "/console/jobs/" + job.jobId() + "/files/" + i : null));
        }
        FileRow manifest = manifestOf(job).map(name -> {
            Optional<Long> size = completed ? sizeOf(name) : Optional.empty();
            return new FileRow("", name, "", size.map(Display::bytes).orElse(""),
                    size.isPresent() ? "/console/jobs/" + job.jobId() + "/manifest" : null);
        }).orElse(null);

        return new JobRow(job.jobId(), job.status(), job.exportType(), job.consumerId(), job.tables(), active,
                job.progressPercent(), progress, rate, timeLeft, elapsed == null ? "" : Display.duration(elapsed),
                anySize ? Display.bytes(totalBytes) : "", job.error() == null ? "" : job.error(),
                Display.time(Display.parse(job.createdAt())), Display.time(started), Display.time(finished),
                job.attempts(), fileRows, manifest);
    }

    /** The job's manifest file; jobs from before manifests have none. */
    Optional<String> manifestOf(JobView job) {
        return Optional.ofNullable(job.manifestFilename());
    }

    /** A finished file of the job, if it is still there (retention removes old ones), wherever the sink keeps it. */
    Optional<Resource> download(String filename) {
        try {
            return files.published(filename);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Optional<Long> sizeOf(String filename) {
        try {
            Optional<Resource> file = files.published(filename);
            return file.isPresent() ? Optional.of(file.get().contentLength()) : Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }
}
