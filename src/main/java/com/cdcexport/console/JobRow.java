package com.cdcexport.console;

import java.util.List;

/**
 * A job as the console shows it: the API's view plus what an operator would otherwise compute by hand (rows per
 * second, time left, duration so far, bytes on disk), already written out.
 *
 * @param percent   0 to 100, or null while the total is not known yet (an indeterminate progress bar)
 * @param rate      rows per second so far, or "" before the first row
 * @param timeLeft  the estimate at the current rate, or "" when it cannot be told
 * @param manifest  the job's manifest file once it has one, else null
 */
record JobRow(String id, String status, String type, String consumer, List<String> tables, boolean active,
              Double percent, String progress, String rate, String timeLeft, String duration, String size,
              String error, String created, String started, String finished, int attempts, List<FileRow> files,
              FileRow manifest) {

    public boolean completed() {
        return status.equals("completed");
    }

    /** The percent as the progress element's value ("42.0"), locale-free. */
    public String progressValue() {
        return percent == null ? null : String.format(java.util.Locale.ROOT, "%.1f", percent);
    }

    /**
     * One file of the job, downloadable from the console once the job completed.
     *
     * @param href  the console's download link, or null while there is nothing to download
     */
    record FileRow(String table, String filename, String rows, String size, String href) {
    }
}
