package com.cdcexport.export.read;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import javax.sql.DataSource;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.scheduling.concurrent.CustomizableThreadFactory;
import org.springframework.stereotype.Component;
import org.springframework.util.FileSystemUtils;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.config.InvalidSettingException;
import com.cdcexport.export.format.ExportFormat;
import com.cdcexport.export.model.ExportProgress;
import com.cdcexport.export.model.MaskingKey;
import com.cdcexport.export.model.Snapshot;
import com.cdcexport.sql.SqlText;

/**
 * Reads one table of an export over several connections that all see the export's snapshot, and joins what they
 * read into the table's output in key order: the same bytes as the serial export, at several backends' speed.
 *
 * <p>The export's own transaction (the coordinator) exports its snapshot with {@code pg_export_snapshot()}; each
 * worker opens a REPEATABLE READ, READ ONLY transaction, imports it with {@code SET TRANSACTION SNAPSHOT} and
 * checks that {@code pg_current_snapshot()} is the coordinator's, so every row comes from one state of the database
 * and the watermark stays the coordinator's snapshot. The coordinator reads chunks too. Chunks ({@link ChunkPlan})
 * are taken in key order from a shared counter, so a slow chunk delays no other reader.
 *
 * <p>The readers of all exports an instance runs come from one budget, EXPORT_READERS connections: every export
 * waits for one before it takes its snapshot, and takes more for its workers only while they are free and no export
 * waits; a worker gives its reader back at the end of a chunk as soon as another export waits for one. One export
 * alone reads with up to EXPORT_PARALLELISM connections, several share the budget, and the instance never renders
 * more rows at once than its cores can keep up with beside the API and the heartbeats.
 *
 * <p>One failure stops every reader: it is recorded, the other readers' statements are cancelled on the server and
 * no further chunk starts; the export then fails as a whole and the chunk files are removed. A cancel or a lost
 * claim reaches every reader through {@link ExportProgress}, to which each worker's connection is attached.
 */
@Component
public class ParallelCopy implements DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(ParallelCopy.class);
    /** Chunks per reader: small enough that the last ones finish close together, few enough to cost nothing. */
    private static final int CHUNKS_PER_READER = 4;
    private static final String DIRECTORY_PREFIX = "cdc-chunks-";
    private static final Pattern SNAPSHOT_ID = Pattern.compile("[0-9A-Fa-f-]{1,64}");
    /** How often an export waiting for a reader looks whether it was cancelled. */
    private static final long STOP_CHECK_MILLIS = 200;

    private final int parallelism;
    private final long minRows;
    private final Path base;
    private final ThreadPoolExecutor workers;
    private final Counter chunksRead;
    /** EXPORT_READERS; fair, so an export waiting for its first reader is served before workers take more. */
    private final Semaphore budget;
    private final int readerCount;

    @Autowired
    public ParallelCopy(CdcProperties properties, MeterRegistry registry) {
        this(properties.parallel(), properties.jobs().workers(), registry);
    }

    /** One of the instance's readers, held by an export (or one of its workers) until closed. */
    public interface Reader extends AutoCloseable {
        @Override
        void close();
    }

    /** @param exports how many exports may run at once (EXPORT_WORKERS), which bounds the workers they may want */
    ParallelCopy(CdcProperties.Parallel settings, int exports, MeterRegistry registry) {
        this.chunksRead = Counter.builder("cdc.export.chunks")
                .description("Key-range chunks read by parallel exports (each one COPY statement)")
                .register(registry);
        this.parallelism = settings.effectiveParallelism();
        this.minRows = settings.minRows();
        this.readerCount = settings.effectiveReaders();
        this.budget = new Semaphore(readerCount, true);
        Gauge.builder("cdc.export.readers.busy", budget, r -> readerCount - r.availablePermits())
                .description("Connections reading exports now, of EXPORT_READERS (cdc_export_readers_limit)")
                .register(registry);
        Gauge.builder("cdc.export.readers.limit", () -> readerCount)
                .description("EXPORT_READERS: connections all running exports of this instance read with at once")
                .register(registry);
        this.base = chunkBase(settings);
        int threads = workerThreads(settings, exports);
        if (threads < 1) {
            workers = null;
            return;
        }
        prepareBase(base, settings);
        workers = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                new CustomizableThreadFactory("export-chunk-"));
        workers.allowCoreThreadTimeOut(true);
    }

    /**
     * The export's snapshot as workers import it: its exported id and its text, which they must see too; the
     * masking key its statements need in their transaction, if any; and the server it lives on (the primary or a
     * standby), which workers connect to.
     */
    record SharedSnapshot(String id, Snapshot snapshot, Optional<MaskingKey> masking, DataSource server) {

        SharedSnapshot {
            if (!SNAPSHOT_ID.matcher(id).matches()) {
                throw new IllegalArgumentException("Not an exported snapshot id: " + id);
            }
        }
    }

    /**
     * Whether a table's rows are worth reading in parallel: a whole table or an incremental window (see
     * {@link ExportQuery#chunkable()}) of at least EXPORT_PARALLEL_MIN_ROWS rows, or of any size when that is 0.
     */
    boolean worthIt(ExportQuery query, long expectedRows) {
        return workers != null && query.chunkable() && (expectedRows >= minRows || minRows == 0);
    }

    /**
     * Waits until one of the instance's readers is free, for an export about to open its transaction. The wait ends
     * with an exception when the export is stopped (cancelled, its claim lost) or the thread interrupted.
     */
    public Reader awaitReader(ExportProgress progress) throws SQLException {
        ExportProgress.Waiting waiting = null;
        try {
            while (!budget.tryAcquire(STOP_CHECK_MILLIS, TimeUnit.MILLISECONDS)) {
                if (waiting == null) {
                    log.debug("An export waits for a reader: all {} of this instance's are reading", readerCount);
                    waiting = progress.waitFor(ExportProgress.Wait.READER);
                }
                if (progress.stopping()) {
                    throw new SQLException("Export cancelled while it waited for a reader");
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SQLException("Interrupted while waiting for a reader", e);
        } finally {
            if (waiting != null) {
                waiting.close();
            }
        }
        return heldReader();
    }

    /** Whether this instance's exports read with several connections (EXPORT_PARALLELISM above 1). */
    boolean readsInParallel() {
        return workers != null;
    }

    /** A reader if one is free now and no export waits for one; else null. */
    Reader tryReader() {
        return tryExtraReader();
    }

    /** Chunks one read is split into: {@link #CHUNKS_PER_READER} per connection it may read with. */
    int chunksPerRead() {
        return parallelism * CHUNKS_PER_READER;
    }

    /** A worker's extra reader: only a free one, and none while an export waits for its first. */
    private Reader tryExtraReader() {
        return !budget.hasQueuedThreads() && budget.tryAcquire() ? heldReader() : null;
    }

    /** The handle of a reader just taken from the budget: its first close gives it back. */
    private Reader heldReader() {
        AtomicBoolean held = new AtomicBoolean(true);
        return () -> {
            if (held.getAndSet(false)) {
                budget.release();
            }
        };
    }

    /** Exports the coordinator's snapshot for workers; call in its transaction, after its snapshot was taken. */
    static SharedSnapshot share(Statement coordinator, Snapshot snapshot, Optional<MaskingKey> masking,
                                DataSource server) throws SQLException {
        try (ResultSet rs = coordinator.executeQuery("SELECT pg_export_snapshot()")) {
            rs.next();
            return new SharedSnapshot(rs.getString(1), snapshot, masking, server);
        }
    }

    /**
     * Copies one table's rows (header first) into {@code out}, read in chunks by up to EXPORT_PARALLELISM
     * connections: the coordinator's and workers' in its snapshot.
     *
     * @return the rows written
     */
    long copy(Connection coordinator, SharedSnapshot shared, ExportQuery query, long expectedRows, OutputStream out,
              ExportProgress progress) throws SQLException, IOException {
        PGConnection pg = coordinator.unwrap(PGConnection.class);
        List<KeyRange> ranges = ChunkPlan.split(coordinator, query.shape(), chunksPerRead(), expectedRows);
        if (ranges.size() == 1) {
            return CopyStream.copy(pg, query.copySql(), out, progress);
        }
        log.debug("Reading {} in {} key ranges over up to {} connections: {}", query.shape().name(), ranges.size(),
                parallelism, ranges);
        List<String> chunks = new ArrayList<>();
        for (int i = 0; i < ranges.size(); i++) {
            chunks.add(query.copySql(ranges.get(i), i == 0));
        }
        return copyChunks(pg, shared, chunks, query.format(), out, progress);
    }

    /**
     * Copies the rows of {@code chunks} (COPY statements whose outputs, joined in their order, are the table's
     * output) into {@code out}, read by the coordinator and as many workers as the budget lets it have.
     *
     * @return the rows written
     */
    long copyChunks(PGConnection pg, SharedSnapshot shared, List<String> chunks, ExportFormat format,
                    OutputStream out, ExportProgress progress) throws SQLException, IOException {
        try (ChunkAssembly assembly = new ChunkAssembly(out, chunkDirectory())) {
            Readers readers = new Readers(chunks, format, assembly, progress);
            List<Future<?>> started = new ArrayList<>();
            for (int i = 1; i < Math.min(parallelism, chunks.size()); i++) {
                try {
                    started.add(workers.submit(() -> readers.worker(shared)));
                } catch (RejectedExecutionException e) {
                    readers.fail(e);
                }
            }
            readers.read(pg, false);
            readers.await(started);
            readers.rethrowFailure();
            assembly.complete(chunks.size());
            return readers.rows.get();
        }
    }

    /** The readers of one table: the coordinator and its workers, and the first failure among them. */
    private final class Readers {

        private final List<String> chunks;
        private final ExportFormat format;
        private final ChunkAssembly assembly;
        private final ExportProgress progress;
        private final AtomicInteger nextChunk = new AtomicInteger();
        private final AtomicLong rows = new AtomicLong();
        private final List<PGConnection> reading = new ArrayList<>();
        private Exception failure;

        Readers(List<String> chunks, ExportFormat format, ChunkAssembly assembly, ExportProgress progress) {
            this.chunks = chunks;
            this.format = format;
            this.assembly = assembly;
            this.progress = progress;
        }

        /**
         * Reads chunks on {@code pg} until none is left or a reader failed; a worker also stops when another export
         * waits for a reader (the coordinator reads what is left). Never throws: see {@link #fail}.
         */
        void read(PGConnection pg, boolean worker) {
            synchronized (this) {
                if (failure != null) {
                    return;
                }
                reading.add(pg);
            }
            try {
                int index;
                while (!failed() && !(worker && budget.hasQueuedThreads())
                        && (index = nextChunk.getAndIncrement()) < chunks.size()) {
                    if (progress.stopping()) {
                        throw new SQLException("Export cancelled");
                    }
                    ChunkAssembly.Chunk chunk = assembly.open(index);
                    try {
                        OutputStream into = format.chunkOutput(chunk, index == 0, index == chunks.size() - 1);
                        rows.addAndGet(CopyStream.copy(pg, chunks.get(index), index == 0, into, progress));
                    } catch (SQLException | IOException | RuntimeException e) {
                        ChunkAssembly.abandon(chunk);
                        throw e;
                    }
                    assembly.finished(chunk);
                    chunksRead.increment();
                }
            } catch (Exception e) {
                fail(e);
            } finally {
                synchronized (this) {
                    reading.remove(pg);
                }
            }
        }

        /**
         * A worker: a reader of the instance's and a connection of its own in the coordinator's snapshot, reading
         * until the chunks run out or another export waits for the reader.
         */
        void worker(SharedSnapshot shared) {
            if (failed() || nextChunk.get() >= chunks.size()) {
                return;
            }
            try (Reader reader = tryExtraReader()) {
                if (reader != null) {
                    readInOwnTransaction(shared);
                }
            }
        }

        private void readInOwnTransaction(SharedSnapshot shared) {
            Connection connection = null;
            boolean clean = false;
            try {
                connection = shared.server().getConnection();
                PGConnection pg = connection.unwrap(PGConnection.class);
                progress.attach(pg);
                try {
                    join(connection, shared);
                    read(pg, true);
                } finally {
                    progress.detach(pg);
                }
                if (!failed()) {
                    connection.commit();
                    clean = true;
                }
            } catch (Exception e) {
                fail(e);
            } finally {
                if (connection != null) {
                    close(shared.server(), connection, clean);
                }
            }
        }

        /** The first failure is the export's; the others are mostly the cancellations it caused. */
        synchronized void fail(Exception e) {
            if (failure == null) {
                failure = e;
                reading.forEach(ExportProgress::cancelQuery);
            }
        }

        synchronized boolean failed() {
            return failure != null;
        }

        /**
         * Once the coordinator has no chunk left to read: drops workers still queued for a thread (they would find
         * nothing to do) and waits for the others to end, also when interrupted (then failing the export, which
         * stops them soon).
         */
        void await(List<Future<?>> started) {
            boolean interrupted = false;
            for (Future<?> worker : started) {
                // A task still in the queue is removed and never runs; one that left it is running or done.
                while (!workers.remove((Runnable) worker)) {
                    try {
                        worker.get();
                        break;
                    } catch (InterruptedException e) {
                        interrupted = true;
                        fail(e);
                    } catch (ExecutionException e) {
                        fail(e);
                        break;
                    }
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }

        synchronized void rethrowFailure() throws SQLException, IOException {
            if (failure instanceof SQLException e) {
                throw e;
            }
            if (failure instanceof IOException e) {
                throw e;
            }
            if (failure instanceof RuntimeException e) {
                throw e;
            }
            if (failure != null) {
                throw new SQLException("Export stopped: " + failure, failure);
            }
        }
    }

    /** Opens a worker's transaction in the coordinator's snapshot, with the coordinator's session settings. */
    private static void join(Connection connection, SharedSnapshot shared) throws SQLException {
        connection.setAutoCommit(false);
        connection.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
        connection.setReadOnly(true);
        try (Statement statement = connection.createStatement()) {
            statement.execute("SET TRANSACTION SNAPSHOT " + SqlText.literal(shared.id()));
            for (String setting : SnapshotReader.SESSION) {
                statement.execute(setting);
            }
            if (shared.masking().isPresent()) {
                shared.masking().get().apply(connection);
            }
            try (ResultSet rs = statement.executeQuery("SELECT pg_current_snapshot()::text")) {
                rs.next();
                if (!rs.getString(1).equals(shared.snapshot().text())) {
                    throw new IllegalStateException("A worker of the export sees snapshot " + rs.getString(1)
                            + ", not the export's " + shared.snapshot().text());
                }
            }
        }
    }

    /** A worker's connection goes back to the pool only after a clean end; after a failure it may be mid-COPY. */
    private void close(DataSource server, Connection connection, boolean clean) {
        try {
            if (clean) {
                connection.close();
            } else {
                SnapshotReader.discard(server, connection);
            }
        } catch (SQLException e) {
            log.debug("Closing a worker's connection failed", e);
        }
    }

    private Path chunkDirectory() throws IOException {
        String prefix = DIRECTORY_PREFIX + ProcessHandle.current().pid() + "-";
        return base.getFileSystem().supportedFileAttributeViews().contains("posix")
                ? Files.createTempDirectory(base, prefix, PosixFilePermissions.asFileAttribute(
                        PosixFilePermissions.fromString("rwx------")))
                : Files.createTempDirectory(base, prefix);
    }

    /** EXPORT_CHUNK_DIR (or java.io.tmpdir), when this instance's exports read with workers; else nothing to check. */
    public static void checkChunkDirectory(CdcProperties.Parallel settings, int exports) {
        if (workerThreads(settings, exports) >= 1) {
            prepareBase(chunkBase(settings), settings);
        }
    }

    private static Path chunkBase(CdcProperties.Parallel settings) {
        String configured = settings.chunkDir();
        return Path.of(configured.isBlank() ? System.getProperty("java.io.tmpdir") : configured)
                .toAbsolutePath().normalize();
    }

    /** While workers read, their export's coordinator holds a reader too: at most EXPORT_READERS - 1 at once. */
    private static int workerThreads(CdcProperties.Parallel settings, int exports) {
        int parallelism = settings.effectiveParallelism();
        return parallelism == 1 ? 0 : Math.min(exports * (parallelism - 1), settings.effectiveReaders() - 1);
    }

    /**
     * Creates the chunk directory's parent and removes what exports of an earlier life of this process left there
     * (killed mid-export): directories named after a process id that is not running, or that is ours (a restarted
     * container's process often gets its predecessor's id).
     */
    private static void prepareBase(Path base, CdcProperties.Parallel settings) {
        String setting = settings.chunkDir().isBlank() ? "java.io.tmpdir" : "EXPORT_CHUNK_DIR";
        try {
            Files.createDirectories(base);
            long self = ProcessHandle.current().pid();
            try (DirectoryStream<Path> leftovers = Files.newDirectoryStream(base, DIRECTORY_PREFIX + "*")) {
                for (Path leftover : leftovers) {
                    String[] parts = leftover.getFileName().toString().substring(DIRECTORY_PREFIX.length()).split("-");
                    long pid = parts[0].matches("\\d{1,18}") ? Long.parseLong(parts[0]) : -1;
                    if (pid == self || pid > 0 && ProcessHandle.of(pid).isEmpty()) {
                        FileSystemUtils.deleteRecursively(leftover);
                        log.info("Removed chunk files an interrupted export left in {}", leftover);
                    }
                }
            }
        } catch (IOException e) {
            throw new InvalidSettingException(setting + "=" + base + " is not a usable directory for export chunks ("
                    + InvalidSettingException.describe(e) + "): set EXPORT_CHUNK_DIR to a writable directory", e);
        }
    }

    @Override
    public void destroy() {
        if (workers != null) {
            workers.shutdownNow();
        }
    }
}
