package com.cdcexport.export.watermark;

import java.time.Instant;
import java.util.Optional;

import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Propagation;
import org.springframework.transaction.annotation.Transactional;

import com.cdcexport.export.ConsumerId;
import com.cdcexport.export.capture.CaptureResult;
import com.cdcexport.export.capture.Snapshot;

/** The one place that moves a watermark. */
@Service
public class WatermarkService {

    /** last_exported_at of a consumer whose exports so far contained no rows at all. */
    static final Instant NOTHING_EXPORTED = Instant.EPOCH;

    private final WatermarkRepository repository;

    public WatermarkService(WatermarkRepository repository) {
        this.repository = repository;
    }

    @Transactional(readOnly = true)
    public Optional<Watermark> find(ConsumerId consumer) {
        return repository.findByConsumerId(consumer.value());
    }

    /**
     * Compare-and-set P → S. Must run inside the transaction that also completes the job, so the file's job and
     * the watermark commit together or not at all.
     *
     * @throws WatermarkConflictException when the watermark is no longer at {@code expected}
     */
    @Transactional(propagation = Propagation.MANDATORY)
    public void advance(ConsumerId consumer, Optional<Snapshot> expected, CaptureResult result, Instant now) {
        Instant exportedUpTo = result.maxUpdatedAt().orElse(NOTHING_EXPORTED);
        String snapshot = result.snapshot().text();
        int moved = expected
                .map(p -> repository.advance(consumer.value(), p.text(), snapshot, exportedUpTo, now))
                .orElseGet(() -> repository.create(consumer.value(), snapshot, exportedUpTo, now));
        if (moved != 1) {
            throw new WatermarkConflictException(consumer);
        }
    }

    public static final class WatermarkConflictException extends IllegalStateException {
        WatermarkConflictException(ConsumerId consumer) {
            super("The watermark of consumer " + consumer + " moved during this export; not advancing it");
        }
    }
}
