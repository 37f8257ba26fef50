package com.cdcexport.export.format;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.GZIPInputStream;
import java.util.zip.Inflater;

import org.junit.jupiter.api.Test;

/** gzip members compressed in parallel: one valid gzip file of exactly the bytes written, in order. */
class ParallelGzipTest {

    /** Several chunks of CSV-like text and a part chunk, so members finish out of order on the pool. */
    private static byte[] rows(int count) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < count; i++) {
            text.append(i).append(",\"User ").append(i * 7919 % 10007).append("\",u").append(i)
                    .append("@example.com,2026-12-07T10:00:00.000000Z\n");
        }
        return text.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] gzip(byte[] data, int writeSize) throws IOException {
        ByteArrayOutputStream file = new ByteArrayOutputStream();
        try (ParallelGzip out = new ParallelGzip(file, Compression.GZIP_LEVEL)) {
            for (int at = 0; at < data.length; at += writeSize) {
                out.write(data, at, Math.min(writeSize, data.length - at));
            }
            out.finish();
        }
        return file.toByteArray();
    }

    private static byte[] gunzip(byte[] file) throws IOException {
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(file))) {
            return in.readAllBytes();
        }
    }

    /** The file's gzip members, each read to its end with its own inflater: every one must be whole and valid. */
    private static int members(byte[] file) throws DataFormatException {
        int count = 0;
        for (int at = 0; at < file.length; count++) {
            assertThat(Arrays.copyOfRange(file, at, at + 4)).containsExactly(0x1f, 0x8b, 8, 0);
            Inflater inflater = new Inflater(true);
            inflater.setInput(file, at + 10, file.length - at - 10);
            byte[] out = new byte[ParallelGzip.CHUNK];
            int length = 0;
            while (!inflater.finished()) {
                length += inflater.inflate(out, length, out.length - length);
            }
            CRC32 crc = new CRC32();
            crc.update(out, 0, length);
            int trailer = file.length - inflater.getRemaining();
            inflater.end();
            assertThat(Integer.toUnsignedLong(littleEndian(file, trailer))).isEqualTo(crc.getValue());
            assertThat(littleEndian(file, trailer + 4)).isEqualTo(length);
            at = trailer + 8;
        }
        return count;
    }

    private static int littleEndian(byte[] b, int at) {
        return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8 | (b[at + 2] & 0xff) << 16 | (b[at + 3] & 0xff) << 24;
    }

    @Test
    void aFileOfManyMembersHoldsExactlyTheBytesWrittenInOrder() throws IOException, DataFormatException {
        byte[] data = rows(150_000);
        assertThat(data.length).isGreaterThan(5 * ParallelGzip.CHUNK);

        for (int writeSize : new int[] {1, 8191, 65_536, 3 * ParallelGzip.CHUNK}) {
            byte[] slice = writeSize == 1 ? Arrays.copyOf(data, 300_000) : data;
            byte[] file = gzip(slice, writeSize);

            assertThat(gunzip(file)).as("writes of %d bytes", writeSize).isEqualTo(slice);
            assertThat(members(file)).isEqualTo((slice.length + ParallelGzip.CHUNK - 1) / ParallelGzip.CHUNK);
        }
    }

    @Test
    void aFileExactlyAChunkLongOrEmptyIsValidGzip() throws IOException, DataFormatException {
        byte[] chunk = Arrays.copyOf(rows(30_000), ParallelGzip.CHUNK);

        byte[] whole = gzip(chunk, 4096);
        assertThat(gunzip(whole)).isEqualTo(chunk);
        assertThat(members(whole)).isEqualTo(1);
        byte[] empty = gzip(new byte[0], 1);
        assertThat(gunzip(empty)).isEmpty();
        assertThat(members(empty)).isEqualTo(1);
    }

    @Test
    void levelFourMakesTheCsvLikeTextSmallerThanLevelOne() throws IOException {
        byte[] data = rows(60_000);

        int levelOne = ParallelGzip.member(data, data.length, 1).length;
        int levelFour = ParallelGzip.member(data, data.length, Compression.GZIP_LEVEL).length;

        assertThat(levelFour).isLessThan(levelOne);
    }
}
