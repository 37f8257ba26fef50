package com.cdcexport.soak;

import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.ServiceProcess;

/** Owns the running service and, until the deadline, kills it (SIGKILL) or stops it (SIGTERM) and restarts it. */
final class Chaos implements AutoCloseable {

    private final Map<String, String> environment;
    private volatile ServiceProcess service;
    int restarts;
    int kills;
    /** Key-range chunks the instances read (their cdc_export_chunks_total, taken before each is stopped). */
    long chunksRead;

    Chaos(Map<String, String> environment) {
        this.environment = environment;
        this.service = ServiceProcess.start(environment);
    }

    /** The current instance's API; throws while the service is down, which callers treat as "retry". */
    Api api() {
        ServiceProcess current = service;
        if (current == null || !current.isAlive()) {
            throw new IllegalStateException("service is down");
        }
        return current.api();
    }

    void run(long deadline) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        while (true) {
            long pause = random.nextLong(5_000, 12_000);
            if (System.nanoTime() + pause * 1_000_000 > deadline) {
                return;
            }
            IntegrationTest.sleep(pause);
            ServiceProcess current = service;
            service = null;
            tallyChunks(current);
            if (random.nextBoolean()) {
                current.kill();
                kills++;
            } else {
                current.terminate(java.time.Duration.ofSeconds(60));
            }
            service = ServiceProcess.start(environment);
            restarts++;
        }
    }

    void stop() {
        close();
    }

    private void tallyChunks(ServiceProcess instance) {
        try {
            String metrics = instance.api().get("/actuator/prometheus", null).body();
            for (String line : metrics.split("\n")) {
                if (line.startsWith("cdc_export_chunks_total ")) {
                    chunksRead += (long) Double.parseDouble(line.substring(line.indexOf(' ') + 1).trim());
                }
            }
        } catch (RuntimeException unreachable) {
            // an instance that does not answer is about to be replaced anyway; its count is lost
        }
    }

    @Override
    public void close() {
        ServiceProcess current = service;
        if (current != null) {
            tallyChunks(current);
            current.terminate(java.time.Duration.ofSeconds(60));
            service = null;
        }
    }
}
