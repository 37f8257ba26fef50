package com.cdcexport.export.read;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Chunks finishing in any order end up in the output in key order; their files are private and removed. */
class ChunkAssemblyTest {

    @TempDir
    Path directory;

    private final ByteArrayOutputStream output = new ByteArrayOutputStream();

    @Test
    void chunksFinishingInAnyOrderAreJoinedInTheirOrderAndTheNextInLineIsWrittenDirectly() throws IOException {
        try (ChunkAssembly assembly = new ChunkAssembly(output, directory)) {
            ChunkAssembly.Chunk first = assembly.open(0);
            ChunkAssembly.Chunk second = assembly.open(1);
            ChunkAssembly.Chunk third = assembly.open(2);
            assertThat(first.file()).as("the chunk next in line goes straight to the output").isNull();
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(second.file())))
                    .isEqualTo("rw-------");

            write(third, "c");
            assembly.finished(third);
            write(first, "a");
            assertThat(output.toString(StandardCharsets.UTF_8)).isEqualTo("a");
            assembly.finished(first);
            ChunkAssembly.Chunk fourth = assembly.open(3);
            write(fourth, "d");
            assembly.finished(fourth);
            assertThat(output.toString(StandardCharsets.UTF_8)).as("nothing after a gap").isEqualTo("a");
            write(second, "b");
            assembly.finished(second);

            assertThat(output.toString(StandardCharsets.UTF_8)).isEqualTo("abcd");
            assembly.complete(4);
            try (var left = Files.list(directory)) {
                assertThat(left).as("appended chunk files are deleted").isEmpty();
            }
        }
    }

    @Test
    void aChunkWhoseTurnComesWhileItIsReadWritesStraightIntoTheOutputFromThenOn() throws IOException {
        try (ChunkAssembly assembly = new ChunkAssembly(output, directory)) {
            ChunkAssembly.Chunk first = assembly.open(0);
            ChunkAssembly.Chunk second = assembly.open(1);
            write(second, "b1,");
            write(first, "a,");
            assembly.finished(first);
            assertThat(output.toString(StandardCharsets.UTF_8)).as("the second chunk's file so far is appended")
                    .isEqualTo("a,b1,");
            try (var left = Files.list(directory)) {
                assertThat(left).as("and its file removed").isEmpty();
            }
            write(second, "b2,");
            assertThat(output.toString(StandardCharsets.UTF_8)).as("the rest goes straight into the output")
                    .isEqualTo("a,b1,b2,");
            ChunkAssembly.Chunk third = assembly.open(2);
            assertThat(third.file()).as("the output is the second chunk's until it ends").isNotNull();
            write(third, "c");
            assembly.finished(second);
            assertThat(output.toString(StandardCharsets.UTF_8)).isEqualTo("a,b1,b2,c");
            assembly.finished(third);
            assembly.complete(3);
        }
    }

    @Test
    void readersRacingOverManyChunksJoinThemInOrder() throws Exception {
        int chunks = 300;
        StringBuilder expected = new StringBuilder();
        for (int i = 0; i < chunks; i++) {
            expected.append(("<" + i + ">").repeat(1 + i % 7));
        }
        try (ChunkAssembly assembly = new ChunkAssembly(output, directory)) {
            AtomicInteger nextChunk = new AtomicInteger();
            ExecutorService readers = Executors.newFixedThreadPool(4);
            List<Future<?>> done = new ArrayList<>();
            for (int r = 0; r < 4; r++) {
                done.add(readers.submit(() -> {
                    Random random = new Random();
                    int index;
                    while ((index = nextChunk.getAndIncrement()) < chunks) {
                        ChunkAssembly.Chunk chunk = assembly.open(index);
                        for (int piece = 0; piece < 1 + index % 7; piece++) {
                            write(chunk, "<" + index + ">");
                            if (random.nextInt(4) == 0) {
                                Thread.yield();
                            }
                        }
                        assembly.finished(chunk);
                    }
                    return null;
                }));
            }
            for (Future<?> reader : done) {
                reader.get();
            }
            readers.shutdown();
            assembly.complete(chunks);
        }
        assertThat(output.toString(StandardCharsets.UTF_8)).isEqualTo(expected.toString());
    }

    @Test
    void aMissingChunkIsNoCompleteExportAndClosingRemovesWhatFailedReadersLeft() throws IOException {
        ChunkAssembly assembly = new ChunkAssembly(output, directory);
        assembly.finished(assembly.open(0));
        ChunkAssembly.Chunk abandoned = assembly.open(2);
        write(abandoned, "partial");
        ChunkAssembly.abandon(abandoned);

        assertThatThrownBy(() -> assembly.complete(3)).isInstanceOf(IllegalStateException.class);
        assembly.close();
        assertThat(directory).doesNotExist();
    }

    private static void write(ChunkAssembly.Chunk chunk, String text) throws IOException {
        chunk.write(text.getBytes(StandardCharsets.UTF_8));
    }
}
