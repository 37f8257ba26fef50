package com.cdcexport.export.read;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.sql.DataSource;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.util.FileSystemUtils;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.export.capture.CapturedTables;
import com.cdcexport.export.format.ExportFormat;
import com.cdcexport.export.model.ExportProgress;
import com.cdcexport.export.model.ExportType;
import com.cdcexport.export.model.TableName;
import com.cdcexport.support.IntegrationTest;

/**
 * EXPORT_READERS: the connections all running exports of an instance read with at once. Each test has a
 * {@link ParallelCopy} of its own, so its budget is the test's alone.
 */
class ReaderBudgetTest extends IntegrationTest {

    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final MeterRegistry registry = new SimpleMeterRegistry();
    private Path chunkDir;

    @Autowired
    private DataSource dataSource;
    @Autowired
    private CapturedTables capturedTables;

    @AfterEach
    void stopThreads() throws IOException {
        threads.shutdownNow();
        if (chunkDir != null) {
            FileSystemUtils.deleteRecursively(chunkDir);
        }
    }

    @Test
    void anExportWaitsUntilAReaderIsFreeAndACancelEndsTheWait() throws Exception {
        ParallelCopy copy = copy(2, 1);
        ParallelCopy.Reader held = copy.awaitReader(new ExportProgress());

        Future<ParallelCopy.Reader> waiting = threads.submit(() -> copy.awaitReader(new ExportProgress()));
        assertThatThrownBy(() -> waiting.get(400, TimeUnit.MILLISECONDS)).isInstanceOf(TimeoutException.class);
        assertThat(busyReaders()).isEqualTo(1);
        held.close();
        held.close();
        ParallelCopy.Reader second = waiting.get(5, TimeUnit.SECONDS);

        ExportProgress cancelled = new ExportProgress();
        Future<ParallelCopy.Reader> given = threads.submit(() -> copy.awaitReader(cancelled));
        cancelled.cancel();
        assertThatThrownBy(() -> given.get(5, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .cause().isInstanceOf(SQLException.class).hasMessageContaining("cancelled");
        second.close();
        assertThat(busyReaders()).isZero();
    }

    /** Two of three readers are taken by other exports: the coordinator reads every chunk itself. */
    @Test
    void aParallelExportWithoutFreeReadersReadsItsChunksAloneAsSerially() throws Exception {
        insertUsers(20_000);
        jdbc.execute("ANALYZE users");
        ParallelCopy copy = copy(3, 3);
        ParallelCopy.Reader first = copy.awaitReader(new ExportProgress());
        ParallelCopy.Reader second = copy.awaitReader(new ExportProgress());

        byte[] alone = export(copy, new ByteArrayOutputStream());

        assertThat(chunksRead()).isGreaterThanOrEqualTo(6);
        assertThat(alone).isEqualTo(export(copy(1, 1), new ByteArrayOutputStream()));
        first.close();
        second.close();
    }

    /**
     * An export's worker reads while its coordinator is held up writing the first chunk; once another export
     * waits for a reader, the worker gives its own back after the chunk it is reading, long before the chunks run
     * out, and the first export still writes every row in order.
     */
    @Test
    void aWorkerGivesItsReaderBackAtTheEndOfAChunkWhenAnotherExportWaits() throws Exception {
        insertUsers(400_000);
        jdbc.execute("ANALYZE users");
        ParallelCopy copy = copy(2, 2);
        SlowOutput slow = new SlowOutput();
        Future<byte[]> first = threads.submit(() -> export(copy, slow));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (busyReaders() < 2 && !first.isDone() && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertThat(busyReaders()).as("the coordinator and its worker read").isEqualTo(2);

        ParallelCopy.Reader next = copy.awaitReader(new ExportProgress());
        double chunksWhenGiven = chunksRead();

        assertThat(first).as("the first export is still being read").isNotDone();
        // 8 chunks: the coordinator is still in the first; a worker reading on would have read the other 7.
        assertThat(chunksWhenGiven).isLessThan(6);
        next.close();
        slow.slow = false;
        assertThat(first.get(60, TimeUnit.SECONDS)).isEqualTo(export(copy(1, 1), new ByteArrayOutputStream()));
    }

    /**
     * The start-up warm-up reads every generated row once, in chunks over the coordinator and its worker, and gives
     * its readers back; it leaves no chunk file.
     */
    @Test
    void theWarmUpReadsEveryGeneratedRowOnceInChunksAndKeepsNothing() throws Exception {
        ParallelCopy copy = copy(2, 2);

        long rows = new ExportWarmUp(ReadEndpoints.primaryOnly(dataSource), copy, 30_001).run();

        // each round's ranges cover its rows exactly: an overlap would count rows twice, a gap would lose some
        assertThat(rows).isEqualTo(30_001);
        assertThat(chunksRead()).as("three rounds of eight chunks (2 readers x 4)").isGreaterThanOrEqualTo(24);
        assertThat(busyReaders()).isZero();
        try (var left = Files.list(chunkDir)) {
            assertThat(left).as("chunk directories left behind").isEmpty();
        }
    }

    /** With EXPORT_PARALLELISM=1 the warm-up reads as such an export does: one COPY on one connection. */
    @Test
    void theWarmUpOfASerialInstanceReadsItsRowsInOneCopy() throws Exception {
        ParallelCopy copy = copy(1, 2);

        assertThat(new ExportWarmUp(ReadEndpoints.primaryOnly(dataSource), copy, 30_001).run()).isEqualTo(30_001);
        assertThat(chunksRead()).as("no chunks: the serial path").isZero();
        assertThat(busyReaders()).isZero();
    }

    /** While exports hold every reader the warm-up reads nothing: an export warms the path itself. */
    @Test
    void theWarmUpReadsNothingWhileExportsHoldEveryReader() throws Exception {
        ParallelCopy copy = copy(2, 1);
        try (ParallelCopy.Reader held = copy.awaitReader(new ExportProgress())) {
            assertThat(new ExportWarmUp(ReadEndpoints.primaryOnly(dataSource), copy, 30_000).run()).isZero();
            assertThat(chunksRead()).isZero();
        }
    }

    /** A ParallelCopy of its own: {@code parallelism} readers per export, {@code readers} for all of them. */
    private ParallelCopy copy(int parallelism, int readers) throws IOException {
        if (chunkDir == null) {
            chunkDir = Files.createTempDirectory("cdc-test-budget");
        }
        return new ParallelCopy(new CdcProperties.Parallel(parallelism, 0, chunkDir.toString(), readers, 0),
                2, registry);
    }

    private byte[] export(ParallelCopy copy, ByteArrayOutputStream out) throws Exception {
        SerialRead.read(new SnapshotReader(dataSource, capturedTables, copy), ExportType.FULL, ExportFormat.CSV,
                TableName.USERS, Optional.empty(), out);
        return out.toByteArray();
    }

    private double busyReaders() {
        return registry.get("cdc.export.readers.busy").gauge().value();
    }

    private double chunksRead() {
        return registry.get("cdc.export.chunks").counter().count();
    }

    /** The file store of a slow disk: every write takes 10 ms, until the test has seen what it waits for. */
    private static final class SlowOutput extends ByteArrayOutputStream {

        volatile boolean slow = true;

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            try {
                Thread.sleep(slow ? 10 : 0);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(new InterruptedIOException("interrupted"));
            }
            super.write(b, off, len);
        }
    }
}
