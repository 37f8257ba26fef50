package com.cdcexport.export.job;

import java.time.Clock;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Semaphore;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.context.SmartLifecycle;
import org.springframework.scheduling.concurrent.ThreadPoolTaskExecutor;
import org.springframework.stereotype.Component;

import com.cdcexport.config.CdcProperties;

/**
 * Feeds this instance's workers from the shared queue: whenever a worker is free it claims the oldest queued job
 * (on any instance's behalf) and runs it. Wakes at once when this instance accepts a job or finishes one, and
 * polls otherwise, so jobs accepted elsewhere or left by a dead instance are picked up too. Stops claiming first
 * on shutdown; running exports then drain within the grace period.
 */
@Component
class JobDispatcher implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(JobDispatcher.class);

    private final JobQueue queue;
    private final ExportJobRepository jobs;
    private final ExportRunner runner;
    private final ThreadPoolTaskExecutor executor;
    private final InstanceIdentity instance;
    private final Clock clock;
    private final Semaphore workers;
    private final long pollMillis;
    private final Object signal = new Object();
    private boolean signalled;
    private volatile boolean running;
    private Thread thread;

    JobDispatcher(JobQueue queue, ExportJobRepository jobs, ExportRunner runner, ThreadPoolTaskExecutor exportExecutor,
                  InstanceIdentity instance, CdcProperties properties, Clock clock) {
        this.queue = queue;
        this.jobs = jobs;
        this.runner = runner;
        this.executor = exportExecutor;
        this.instance = instance;
        this.clock = clock;
        this.workers = new Semaphore(properties.jobs().workers());
        this.pollMillis = properties.jobs().pollInterval().toMillis();
    }

    /** Something may be waiting to be claimed: look now rather than at the next poll. */
    void wakeUp() {
        synchronized (signal) {
            signalled = true;
            signal.notifyAll();
        }
    }

    @Override
    public void start() {
        running = true;
        thread = new Thread(this::dispatch, "export-dispatcher");
        thread.setDaemon(true);
        thread.start();
    }

    @Override
    public void stop() {
        running = false;
        thread.interrupt();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    private void dispatch() {
        try {
            while (running) {
                workers.acquire();
                Optional<UUID> claimed = claim();
                if (claimed.isPresent()) {
                    hand(claimed.get());
                } else {
                    workers.release();
                    awaitSignal();
                }
            }
        } catch (InterruptedException stopping) {
            Thread.currentThread().interrupt();
        }
    }

    private Optional<UUID> claim() {
        try {
            return queue.claim(instance.value(), clock.instant());
        } catch (RuntimeException e) {
            log.warn("Cannot claim export jobs: {}", e.toString());
            return Optional.empty();
        }
    }

    private void hand(UUID jobId) {
        try {
            ExportJob job = jobs.findById(jobId).orElseThrow();
            executor.execute(() -> {
                try {
                    runner.run(job);
                } finally {
                    workers.release();
                    wakeUp();
                }
            });
        } catch (RuntimeException e) {
            workers.release();
            log.warn("Could not start claimed job {} ({}); the reaper will queue it again", jobId, e.toString());
        }
    }

    private void awaitSignal() throws InterruptedException {
        synchronized (signal) {
            if (!signalled) {
                signal.wait(pollMillis);
            }
            signalled = false;
        }
    }
}
