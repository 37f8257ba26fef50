package com.cdcexport.export.job;

import static net.logstash.logback.argument.StructuredArguments.kv;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The seed's structured log events; each becomes one JSON line with these fields at top level. */
public final class ExportEvents {

    private static final Logger log = LoggerFactory.getLogger("export.events");

    private ExportEvents() {
    }

    public static void started(ExportJob job) {
        log.info("export_started", kv("event", "export_started"), kv("jobId", job.id()),
                kv("consumerId", job.consumerId().value()), kv("exportType", job.exportType().slug()));
    }

    public static void completed(ExportJob job, long rows, double seconds) {
        log.info("export_completed", kv("event", "export_completed"), kv("jobId", job.id()),
                kv("rowsExported", rows), kv("durationSeconds", seconds));
    }

    /** Someone asked for it: not a failure, so not an ERROR an operator would be paged for. */
    public static void cancelled(ExportJob job) {
        log.info("export_cancelled", kv("event", "export_cancelled"), kv("jobId", job.id()));
    }

    static void failed(ExportJob job, String error) {
        log.error("export_failed", kv("event", "export_failed"), kv("jobId", job.id()), kv("error", error));
    }

    /** The consumer's message as {@code error}, and what the operator needs to act on as {@code detail}. */
    public static void failed(ExportJob job, JobFailure failure) {
        if (failure.detail() == null) {
            failed(job, failure.message());
        } else {
            log.error("export_failed", kv("event", "export_failed"), kv("jobId", job.id()),
                    kv("error", failure.message()), kv("detail", failure.detail()));
        }
    }
}
