package com.cdcexport.export.read;

import java.util.UUID;

/**
 * Whose held rows an export reads, and under which attempt of which job it stages its changes to them (see
 * {@code held_rows} in the migrations and docs/capture.md). Only tables the consumer sees through a row filter use it.
 */
public record HeldRowsScope(String consumerId, UUID jobId, int attempt) {
}
