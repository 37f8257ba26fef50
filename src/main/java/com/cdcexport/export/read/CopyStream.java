package com.cdcexport.export.read;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.sql.SQLException;

import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyOut;

import com.cdcexport.export.model.ExportProgress;

/**
 * CopyManager.copyOut's loop, counting rows as they pass: COPY sends one message per row (and one for a header).
 * Rows are gathered into blocks before they go on, so the streams after it (a chunk's hand-over lock, the manifest's
 * SHA-256, a compressor, the file) do their per-call work once per block, not once per row of some 80 bytes.
 */
final class CopyStream {

    /** Rows between additions to the shared count: often enough for progress, rare enough to cost nothing. */
    private static final int BATCH = 1024;
    private static final int BLOCK_BYTES = 1 << 16;

    private CopyStream() {
    }

    /** A whole table's COPY. @return the rows COPY sent, the header line not counted */
    static long copy(PGConnection pg, String sql, OutputStream out, ExportProgress progress)
            throws SQLException, IOException {
        return copy(pg, sql, true, out, progress);
    }

    /**
     * @param header whether COPY's first message may be the CSV header line (the first chunk of a table, or all of
     *               it), which is not a row of progress
     * @return the rows COPY sent, the header line not counted
     */
    static long copy(PGConnection pg, String sql, boolean header, OutputStream out, ExportProgress progress)
            throws SQLException, IOException {
        OutputStream blocks = new BufferedOutputStream(out, BLOCK_BYTES);
        CopyOut copy = pg.getCopyAPI().copyOut(sql);
        long uncounted = 0;
        try {
            if (header) {
                // CSV's header, or a first row: counted by COPY, not as progress. A COPY of no rows without a
                // header line (jsonl) sends nothing at all, and a finished COPY must not be read again.
                byte[] line = copy.readFromCopy();
                if (line == null) {
                    return copy.getHandledRowCount();
                }
                blocks.write(line);
            }
            byte[] row;
            while ((row = copy.readFromCopy()) != null) {
                blocks.write(row);
                if (++uncounted == BATCH) {
                    progress.add(uncounted);
                    uncounted = 0;
                }
            }
            blocks.flush();
            return copy.getHandledRowCount();
        } finally {
            progress.add(uncounted);
            if (copy.isActive()) {
                copy.cancelCopy();
            }
        }
    }

    /**
     * Streams the rows one server's {@code COPY ... TO STDOUT} sends into another's (or another session's)
     * {@code COPY ... FROM STDIN}, row by row, nothing held; a failure cancels both, so neither connection is left
     * mid-COPY.
     */
    static void pipe(PGConnection from, String copyOut, PGConnection to, String copyIn) throws SQLException {
        CopyIn in = to.getCopyAPI().copyIn(copyIn);
        CopyOut out = null;
        try {
            out = from.getCopyAPI().copyOut(copyOut);
            byte[] row;
            while ((row = out.readFromCopy()) != null) {
                in.writeToCopy(row, 0, row.length);
            }
            in.endCopy();
        } finally {
            if (in.isActive()) {
                in.cancelCopy();
            }
            if (out != null && out.isActive()) {
                out.cancelCopy();
            }
        }
    }
}
