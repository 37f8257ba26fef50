package com.cdcexport.export.job;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

public enum JobStatus {
    QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED;

    /** The states the one-export-per-consumer rule counts (see the partial unique index in V3). */
    public static final Set<JobStatus> ACTIVE = EnumSet.of(QUEUED, RUNNING);
    public static final Set<JobStatus> FINISHED = EnumSet.complementOf(EnumSet.of(QUEUED, RUNNING));

    public String slug() {
        return name().toLowerCase(Locale.ROOT);
    }
}
