package com.cdcexport.export.job;

import java.util.List;

/** One page of jobs, newest first; {@code nextCursor} fetches the next page and is null on the last. */
public record JobPage(List<JobView> jobs, String nextCursor) {
}
