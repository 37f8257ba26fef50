package com.cdcexport.export.capture;

import java.time.Instant;
import java.util.Optional;

/** What one export read: the snapshot it read at, how many rows, and the greatest updated_at among them. */
public record CaptureResult(Snapshot snapshot, long rows, Optional<Instant> maxUpdatedAt) {
}
