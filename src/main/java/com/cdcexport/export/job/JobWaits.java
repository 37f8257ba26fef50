package com.cdcexport.export.job;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.context.event.ContextClosedEvent;
import org.springframework.context.event.EventListener;
import org.springframework.scheduling.concurrent.CustomizableThreadFactory;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;

/**
 * Requests that wait for a job to end ({@code GET /exports/jobs/{id}?wait=N}): a client learns of the end with one
 * request instead of polling, and within moments of the commit instead of within its polling interval. On two
 * cores a client polling every 20 ms saw a 1M-row export take 0.818 of psql's time, one waiting 0.692: the polls'
 * CPU is the export's (docs/benchmarks.md).
 *
 * <p>A job that ends on this instance wakes its waiters as soon as the transaction that ended it commits. One that
 * ends elsewhere (another instance, the stale-job reaper) is found by one query every {@link #CHECK_MILLIS} ms over
 * every job being waited for, made only while someone waits. A wait that finds no room ({@link #MAX_WAITERS} are
 * already waiting) answers at once, as a plain poll does: each waiter holds one of the server's threads.
 */
@Component
public class JobWaits implements DisposableBean {

    /** The longest wait a request may ask for: below the idle timeouts of common proxies and load balancers. */
    public static final int MAX_WAIT_SECONDS = 60;
    private static final int MAX_WAITERS = 64;
    private static final long CHECK_MILLIS = 100;
    private static final Logger log = LoggerFactory.getLogger(JobWaits.class);

    private final JobTable jobs;
    private final Map<UUID, Set<CountDownLatch>> waiting = new ConcurrentHashMap<>();
    private final AtomicInteger waiters = new AtomicInteger();
    private final ScheduledExecutorService checks;
    private volatile boolean closing;

    public JobWaits(JobTable jobs) {
        this.jobs = jobs;
        CustomizableThreadFactory threads = new CustomizableThreadFactory("job-waits-");
        threads.setDaemon(true);
        this.checks = Executors.newSingleThreadScheduledExecutor(threads);
        checks.scheduleWithFixedDelay(this::check, CHECK_MILLIS, CHECK_MILLIS, TimeUnit.MILLISECONDS);
    }

    /**
     * Returns once job {@code id} has ended (or may have: the caller reads it again), or after {@code wait}; at once
     * when too many requests wait already.
     */
    public void await(UUID id, Duration wait) throws InterruptedException {
        if (closing) {
            return;
        }
        if (waiters.incrementAndGet() > MAX_WAITERS) {
            waiters.decrementAndGet();
            return;
        }
        CountDownLatch latch = new CountDownLatch(1);
        waiting.computeIfAbsent(id, key -> ConcurrentHashMap.newKeySet()).add(latch);
        try {
            // The job may have ended since the caller read it: the next check finds it in the table. (And a close
            // that began since the first look counted down the latches it found, not this one.)
            if (!closing) {
                latch.await(wait.toMillis(), TimeUnit.MILLISECONDS);
            }
        } finally {
            waiting.computeIfPresent(id, (key, latches) -> {
                latches.remove(latch);
                return latches.isEmpty() ? null : latches;
            });
            waiters.decrementAndGet();
        }
    }

    /**
     * Job {@code id} ends in the current transaction: its waiters wake once that commits (nothing on a rollback).
     * Outside a transaction, they wake now.
     */
    public void endsWithThisTransaction(UUID id) {
        if (!TransactionSynchronizationManager.isSynchronizationActive()) {
            wake(id);
            return;
        }
        TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {
            @Override
            public void afterCommit() {
                wake(id);
            }
        });
    }

    private void wake(UUID id) {
        Set<CountDownLatch> latches = waiting.get(id);
        if (latches != null) {
            latches.forEach(CountDownLatch::countDown);
        }
    }

    /** The jobs waited for that have ended, wherever they ran. */
    private void check() {
        if (waiting.isEmpty()) {
            return;
        }
        try {
            jobs.ended(List.copyOf(waiting.keySet())).forEach(this::wake);
        } catch (RuntimeException e) {
            // the database is away: the waits end at their deadlines, and the next check tries again
            log.debug("Checking the jobs requests wait for failed", e);
        }
    }

    /**
     * The service is stopping: every waiting request is answered now, with the job as it is, so that the graceful
     * shutdown (which lets requests in progress finish) is not held for a wait's remaining seconds.
     */
    @EventListener(ContextClosedEvent.class)
    void closing() {
        closing = true;
        waiting.values().forEach(latches -> latches.forEach(CountDownLatch::countDown));
    }

    @Override
    public void destroy() {
        checks.shutdownNow();
        waiting.values().forEach(latches -> latches.forEach(CountDownLatch::countDown));
    }
}
