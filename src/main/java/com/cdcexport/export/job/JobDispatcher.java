package com.cdcexport.export.job;

import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
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
 * polls otherwise, so jobs accepted elsewhere or left by a dead instance are picked up too.
 *
 * <p>Shutdown (as db-scheduler's Scheduler): this lifecycle phase stops claiming, then waits for the running
 * exports to finish, within EXPORT_SHUTDOWN_GRACE (Spring's timeout per shutdown phase). Only then does the
 * next phase stop {@link JobHousekeeping}'s heartbeats, so no other instance takes a draining export for dead.
 */
@Component
class JobDispatcher implements SmartLifecycle {

    /** Stops before {@link JobHousekeeping#PHASE}, which keeps heart-beating the exports this one drains. */
    static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 100;

    private static final Logger log = LoggerFactory.getLogger(JobDispatcher.class);

    private final JobTable queue;
    private final ClaimedJobRunner runner;
    private final ThreadPoolTaskExecutor executor;
    private final InstanceIdentity instance;
    private final Clock clock;
    private final int workerCount;
    private final Semaphore workers;
    private final long pollMillis;
    private final Object signal = new Object();
    private boolean signalled;
    private volatile boolean running;
    private Thread thread;

    JobDispatcher(JobTable queue, ClaimedJobRunner runner, ThreadPoolTaskExecutor exportExecutor,
                  InstanceIdentity instance, CdcProperties properties, Clock clock) {
        this.queue = queue;
        this.runner = runner;
        this.executor = exportExecutor;
        this.instance = instance;
        this.clock = clock;
        this.workerCount = properties.jobs().workers();
        this.workers = new Semaphore(workerCount);
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
    public int getPhase() {
        return PHASE;
    }

    @Override
    public void start() {
        running = true;
        thread = new Thread(this::dispatch, "export-dispatcher");
        thread.setDaemon(true);
        thread.start();
    }

    /** Stops claiming, and calls back once every running export has finished. */
    @Override
    public void stop(Runnable drained) {
        running = false;
        thread.interrupt();
        Thread drain = new Thread(() -> {
            try {
                thread.join();
                workers.acquire(workerCount);
                workers.release(workerCount);
                log.info("Export workers drained");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            drained.run();
        }, "export-drain");
        drain.setDaemon(true);
        drain.start();
    }

    @Override
    public void stop() {
        CountDownLatch drained = new CountDownLatch(1);
        stop(drained::countDown);
        try {
            drained.await();
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
                Optional<ExportJob> claimed = claim();
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

    private Optional<ExportJob> claim() {
        try {
            return queue.claim(instance.value(), clock.instant());
        } catch (RuntimeException e) {
            log.warn("Cannot claim export jobs: {}", e.toString());
            return Optional.empty();
        }
    }

    private void hand(ExportJob job) {
        try {
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
            log.warn("Could not start claimed job {} ({}); the reaper will queue it again", job.id(), e.toString());
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
