package com.cdcexport.export.job;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

import org.springframework.stereotype.Component;

import com.cdcexport.export.capture.CaptureProgress;

/** The exports this instance is running right now, with their live progress. */
@Component
class RunningJobs {

    record Running(ExportJob job, CaptureProgress progress) {
    }

    private final Map<UUID, Running> running = new ConcurrentHashMap<>();

    CaptureProgress start(ExportJob job) {
        CaptureProgress progress = new CaptureProgress();
        running.put(job.id(), new Running(job, progress));
        return progress;
    }

    void finish(ExportJob job) {
        running.remove(job.id());
    }

    Optional<CaptureProgress> progress(UUID jobId) {
        return Optional.ofNullable(running.get(jobId)).map(Running::progress);
    }

    Collection<Running> all() {
        return List.copyOf(running.values());
    }
}
