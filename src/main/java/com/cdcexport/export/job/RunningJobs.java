package com.cdcexport.export.job;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

import org.springframework.stereotype.Component;

import com.cdcexport.export.model.ExportProgress;

/** The exports this instance is running right now, with their live progress. */
@Component
public class RunningJobs {

    record Running(ExportJob job, ExportProgress progress) {
    }

    private final Map<UUID, Running> running = new ConcurrentHashMap<>();

    public ExportProgress start(ExportJob job) {
        ExportProgress progress = new ExportProgress();
        running.put(job.id(), new Running(job, progress));
        return progress;
    }

    public void finish(ExportJob job) {
        running.remove(job.id());
    }

    Optional<ExportProgress> progress(UUID jobId) {
        return Optional.ofNullable(running.get(jobId)).map(Running::progress);
    }

    Collection<Running> all() {
        return List.copyOf(running.values());
    }
}
