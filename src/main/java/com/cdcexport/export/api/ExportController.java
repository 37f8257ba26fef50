package com.cdcexport.export.api;

import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

import com.cdcexport.config.Timestamps;
import com.cdcexport.export.ConsumerId;
import com.cdcexport.export.ExportType;
import com.cdcexport.export.job.ExportJob;
import com.cdcexport.export.job.ExportJobService;
import com.cdcexport.export.watermark.WatermarkService;

@RestController
class ExportController {

    static final String CONSUMER_HEADER = "X-Consumer-ID";

    private final ExportJobService jobs;
    private final WatermarkService watermarks;

    ExportController(ExportJobService jobs, WatermarkService watermarks) {
        this.jobs = jobs;
        this.watermarks = watermarks;
    }

    /** The path pattern admits only the three types, so anything else is a plain 404 and /exports/watermark a 405. */
    @PostMapping("/exports/{type:full|incremental|delta}")
    @ResponseStatus(HttpStatus.ACCEPTED)
    ExportAccepted start(@PathVariable String type,
                         @RequestHeader(name = CONSUMER_HEADER, required = false) String consumerId) {
        ConsumerId consumer = new ConsumerId(consumerId);
        ExportJob job = jobs.submit(ExportType.fromSlug(type).orElseThrow(), consumer);
        return new ExportAccepted(job.getId().toString(), "started", job.exportType().slug(), job.outputFilename());
    }

    @GetMapping("/exports/watermark")
    WatermarkView watermark(@RequestHeader(name = CONSUMER_HEADER, required = false) String consumerId) {
        ConsumerId consumer = new ConsumerId(consumerId);
        return watermarks.find(consumer)
                .map(w -> new WatermarkView(w.consumerId(), Timestamps.json(w.lastExportedAt())))
                .orElseThrow(() -> new NoWatermarkException(consumer));
    }

    record ExportAccepted(String jobId, String status, String exportType, String outputFilename) {
    }

    record WatermarkView(String consumerId, String lastExportedAt) {
    }

    static final class NoWatermarkException extends RuntimeException {
        NoWatermarkException(ConsumerId consumer) {
            super("No watermark for this consumer");
        }
    }
}
