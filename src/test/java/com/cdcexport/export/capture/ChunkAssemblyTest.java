package com.cdcexport.export.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

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
        chunk.stream().write(text.getBytes(StandardCharsets.UTF_8));
    }
}
