package com.cdcexport.export.job;

import java.util.List;

import io.swagger.v3.oas.annotations.media.Schema;

/** One page of jobs, newest first; {@code nextCursor} fetches the next page and is null on the last. */
public record JobPage(List<JobView> jobs, @Schema(nullable = true) String nextCursor) {
}
