package com.cdcexport.export.read;

import java.io.IOException;
import java.io.OutputStream;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.export.format.ExportFormat;
import com.cdcexport.export.model.ExportProgress;
import com.cdcexport.export.model.Snapshot;

/**
 * Runs rows through the export's hot path once, right after start-up, so that the JIT has compiled it before the
 * first export: without it, the first full export of a million rows after a start took 1.1–1.2× as long as
 * PostgreSQL's own {@code psql \copy}, the following ones 0.63× (docs/benchmarks.md). The rows are made up by
 * PostgreSQL ({@code generate_series}, shaped like a table's CSV rows): no table is read, no file is kept, and the
 * database's cost is that of rendering EXPORT_WARM_UP_ROWS short rows once.
 *
 * <p>They take the path of a parallel export: a shared snapshot, the coordinator and a worker reading chunks over
 * COPY, joined in order (a chunk that runs ahead goes through its temporary file), hashed with SHA-256 as the
 * manifest's digest is. The warm-up is a guest of the instance's reader budget: it starts only while a reader is
 * free and no export waits, and a running export warms the path itself anyway.
 */
@Component
public class ExportWarmUp implements DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(ExportWarmUp.class);
    /** Rounds the rows are split into: the JIT compiles a loop it saw run, and then the code around it. */
    private static final int ROUNDS = 3;

    private final ReadEndpoints endpoints;
    private final ParallelCopy parallel;
    private final long rows;
    private final ExportProgress progress = new ExportProgress();
    private volatile Thread thread;

    @Autowired
    public ExportWarmUp(ReadEndpoints endpoints, ParallelCopy parallel, CdcProperties properties) {
        this(endpoints, parallel, properties.parallel().warmUpRows());
    }

    /** @param rows EXPORT_WARM_UP_ROWS */
    ExportWarmUp(ReadEndpoints endpoints, ParallelCopy parallel, long rows) {
        this.endpoints = endpoints;
        this.parallel = parallel;
        this.rows = rows;
    }

    @EventListener(ApplicationReadyEvent.class)
    void start() {
        if (rows == 0) {
            return;
        }
        Thread warmUp = new Thread(this::run, "export-warm-up");
        warmUp.setDaemon(true);
        thread = warmUp;
        warmUp.start();
    }

    /**
     * Runs the rounds; a failure only costs the first export its speed, so it is logged, never thrown.
     *
     * @return the rows that went through the readers
     */
    long run() {
        long started = System.nanoTime();
        long done = 0;
        try {
            for (int round = 0; round < ROUNDS && done < rows && !progress.stopping(); round++) {
                long count = round == ROUNDS - 1 ? rows - done : Math.min(rows - done, Math.max(1, rows / ROUNDS));
                long read = round(done + 1, count);
                if (read < 0) {
                    log.debug("Export warm-up stopped: an export is reading");
                    return done;
                }
                done += read;
            }
            log.info("Export path warmed up: {} generated rows through the readers in {} s", done,
                    String.format(Locale.ROOT, "%.2f", (System.nanoTime() - started) / 1e9));
        } catch (SQLException | IOException | RuntimeException e) {
            // nothing is wrong with the service: only its first export runs slower
            log.info("Export warm-up stopped (the first export only runs slower): {}", e.toString());
        }
        return done;
    }

    /** One round of {@code count} rows numbered from {@code first}; -1 when no reader was free. */
    private long round(long first, long count) throws SQLException, IOException {
        ParallelCopy.Reader reader = parallel.tryReader();
        if (reader == null) {
            return -1;
        }
        // A standby if there is one: the warm-up need not cost the primary anything.
        ReadEndpoints.Endpoint endpoint = endpoints.standbys().isEmpty() ? endpoints.primary()
                : endpoints.standbys().get(0);
        try (reader; Connection connection = endpoint.dataSource().getConnection()) {
            connection.setAutoCommit(false);
            connection.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            connection.setReadOnly(true);
            PGConnection pg = connection.unwrap(PGConnection.class);
            progress.attach(pg);
            try (Statement statement = connection.createStatement()) {
                for (String setting : SnapshotReader.SESSION) {
                    statement.execute(setting);
                }
                Snapshot snapshot;
                try (ResultSet rs = statement.executeQuery("SELECT pg_current_snapshot()::text")) {
                    rs.next();
                    snapshot = new Snapshot(rs.getString(1));
                }
                ParallelCopy.SharedSnapshot shared = ParallelCopy.share(statement, snapshot, Optional.empty(),
                        endpoint.dataSource());
                // the path an export of this instance takes: chunks over several readers, or one COPY
                boolean chunked = parallel.readsInParallel();
                List<String> statements = chunks(first, count, chunked ? parallel.chunksPerRead() : 1);
                long copied = chunked
                        ? parallel.copyChunks(pg, shared, statements, ExportFormat.CSV, digest(), progress)
                        : CopyStream.copy(pg, statements.get(0), digest(), progress);
                connection.commit();
                return copied;
            } finally {
                progress.detach(pg);
            }
        }
    }

    /** COPY statements of {@code count} rows from {@code first}, in {@code chunks} ranges, the first with a header. */
    static List<String> chunks(long first, long count, int chunks) {
        List<String> statements = new ArrayList<>();
        long per = Math.max(1, count / chunks);
        for (long from = first; from < first + count; from += per) {
            long to = Math.min(first + count - 1, from + per - 1);
            statements.add("COPY (SELECT i AS id, 'warm-up row ' || i AS name, 'row' || i || '@example.com' AS email, "
                    + "to_char(timestamptz '2026-01-01' + i * interval '1 second', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
                    + " AS created_at, (i % 2 = 0)::text AS flag FROM generate_series(" + from + ", " + to
                    + ") AS i) TO STDOUT WITH (FORMAT csv" + (statements.isEmpty() ? ", HEADER" : "")
                    + ", FORCE_QUOTE (name, email))");
        }
        return statements;
    }

    /** Where the rows go: a SHA-256 as the manifest computes one, and nowhere else. */
    private static OutputStream digest() {
        try {
            return new DigestOutputStream(OutputStream.nullOutputStream(), MessageDigest.getInstance("SHA-256"));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("Every Java runtime has SHA-256", e);
        }
    }

    /** Stops a warm-up still running at shutdown: its statements are cancelled on the server. */
    @Override
    public void destroy() throws InterruptedException {
        progress.cancel();
        Thread running = thread;
        if (running != null) {
            running.join(5_000);
        }
    }
}
