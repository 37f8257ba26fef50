package com.cdcexport.export.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.GZIPInputStream;

import com.github.luben.zstd.ZstdInputStream;
import org.junit.jupiter.api.Test;

/** The compressing hand-off: every byte arrives, in order; a failing file fails the writer, never hangs it. */
class PipelinedCompressionTest {

    /** Rows of CSV-like text in writes of uneven sizes, several buffers' worth. */
    private static byte[] rows() {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 40_000; i++) {
            text.append(i).append(",\"User ").append(i * 7919 % 10007).append("\",u").append(i).append("@example.com\n");
        }
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void writeUnevenly(OutputStream out, byte[] data) throws IOException {
        int at = 0;
        for (int n = 1; at < data.length; n = n * 3 % 70_001 + 1) {
            int length = Math.min(n, data.length - at);
            out.write(data, at, length);
            at += length;
        }
    }

    @Test
    void gzipAndZstdFilesHoldExactlyTheBytesWritten() throws IOException {
        byte[] data = rows();
        for (Compression compression : new Compression[] {Compression.GZIP, Compression.ZSTD}) {
            ByteArrayOutputStream file = new ByteArrayOutputStream();
            try (EncodedOutput out = compression.wrap(file)) {
                writeUnevenly(out, data);
                out.finish();
            }
            try (InputStream in = compression == Compression.GZIP
                    ? new GZIPInputStream(new ByteArrayInputStream(file.toByteArray()))
                    : new ZstdInputStream(new ByteArrayInputStream(file.toByteArray()))) {
                assertThat(in.readAllBytes()).as(compression.name()).isEqualTo(data);
            }
            assertThat(file.size()).as(compression.name()).isLessThan(data.length / 2);
        }
    }

    @Test
    void aFileThatCannotBeWrittenFailsTheWriter() {
        OutputStream full = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("No space left on device");
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                throw new IOException("No space left on device");
            }
        };

        assertThatThrownBy(() -> {
            try (EncodedOutput out = Compression.GZIP.wrap(full)) {
                writeUnevenly(out, rows());
                writeUnevenly(out, rows());
                out.finish();
            }
        }).isInstanceOf(IOException.class).hasMessageContaining("No space left on device");
    }

    @Test
    void closingWithoutFinishingStopsTheCompressingThread() throws IOException {
        PipelinedCompression out = (PipelinedCompression) Compression.ZSTD.wrap(new ByteArrayOutputStream());
        writeUnevenly(out, rows());

        out.close();

        assertThat(out.isCompressing()).isFalse();
    }
}
