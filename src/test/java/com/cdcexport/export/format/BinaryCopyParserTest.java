package com.cdcexport.export.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * The binary COPY parser on streams built by hand as PostgreSQL sends them: rows come out the same however the bytes
 * are cut, and a stream that is cut short or is not binary COPY fails with a message that says so.
 */
class BinaryCopyParserTest {

    /** Rows of three fields: text, NULL and empty values, and a value longer than a field's length prefix. */
    private static final List<List<String>> ROWS = List.of(
            Arrays.asList("1", "Ada", "ada@example.com"),
            Arrays.asList("2", null, ""),
            Arrays.asList(null, null, null),
            Arrays.asList("", "ünïcödé", "x".repeat(300)));

    @Test
    void rowsCutAtEveryByteBoundaryComeOutTheSameAsRowsWrittenWhole() throws IOException {
        byte[] stream = copy(3, ROWS);

        assertThat(parse(3, stream)).isEqualTo(ROWS);
        for (int cut = 0; cut <= stream.length; cut++) {
            assertThat(parse(3, Arrays.copyOfRange(stream, 0, cut), Arrays.copyOfRange(stream, cut, stream.length)))
                    .as("cut at byte %d", cut).isEqualTo(ROWS);
        }
        byte[][] single = new byte[stream.length][];
        for (int i = 0; i < stream.length; i++) {
            single[i] = new byte[] {stream[i]};
        }
        assertThat(parse(3, single)).as("one byte at a time").isEqualTo(ROWS);
    }

    @Test
    void aRowLargerThanTheBufferArrivingInSmallSlicesComesOutWhole() throws IOException {
        List<List<String>> rows = List.of(Arrays.asList("big", "y".repeat(200_000), null),
                Arrays.asList("after", "z", "!"));
        byte[] stream = copy(3, rows);
        List<byte[]> slices = new ArrayList<>();
        for (int at = 0; at < stream.length; at += 1000) {
            slices.add(Arrays.copyOfRange(stream, at, Math.min(at + 1000, stream.length)));
        }

        assertThat(parse(3, slices.toArray(byte[][]::new))).isEqualTo(rows);
    }

    @Test
    void nullFieldsHaveLengthMinusOneAndEmptyOnesLengthZero() throws IOException {
        List<int[]> lengths = new ArrayList<>();
        BinaryCopyParser parser = new BinaryCopyParser(3, row -> {
            assertThat(row.fields()).isEqualTo(3);
            lengths.add(new int[] {row.length(0), row.length(1), row.length(2)});
            assertThat(row.isNull(1)).isEqualTo(row.length(1) == -1);
        });

        byte[] stream = copy(3, List.of(Arrays.asList("2", null, "")));
        parser.write(stream, 0, stream.length);
        parser.finish();

        assertThat(lengths).containsExactly(new int[] {1, -1, 0});
        assertThat(parser.rows()).isEqualTo(1);
    }

    @Test
    void aStreamOfZeroRowsIsAHeaderAndTheEndMarker() throws IOException {
        byte[] stream = copy(3, List.of());

        assertThat(stream).hasSize(BinaryCopyParser.HEADER_BYTES + BinaryCopyParser.TRAILER_BYTES);
        assertThat(parse(3, stream)).isEmpty();
    }

    @Test
    void aHeaderExtensionAreaIsSkipped() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.write(BinaryCopyParser.SIGNATURE);
        out.writeInt(0);
        out.writeInt(5);
        out.write(new byte[] {1, 2, 3, 4, 5});
        writeRow(out, List.of("a"));
        out.writeShort(-1);

        assertThat(parse(1, bytes.toByteArray())).containsExactly(List.of("a"));
    }

    @Test
    void everyTruncationFailsAtFinishSayingWhereTheStreamEnded() {
        byte[] stream = copy(3, ROWS);

        for (int length = 0; length < stream.length; length++) {
            byte[] prefix = Arrays.copyOf(stream, length);
            assertThatThrownBy(() -> parse(3, prefix)).as("the first %d bytes", length)
                    .isInstanceOf(IOException.class)
                    .hasMessageStartingWith("The binary COPY stream ended ")
                    .satisfiesAnyOf(
                            e -> assertThat(e).hasMessageContaining("within its header"),
                            e -> assertThat(e).hasMessageContaining("without its end marker"),
                            e -> assertThat(e).hasMessageContaining("within row"));
        }
        assertThatThrownBy(() -> parse(3, Arrays.copyOf(stream, stream.length - 2)))
                .hasMessage("The binary COPY stream ended without its end marker at byte " + (stream.length - 2));
        // the header's 19 bytes, then the first row's: a field count, and three lengths with 1 + 3 + 15 bytes
        int secondRow = 19 + 2 + 4 + 1 + 4 + 3 + 4 + 15;
        assertThatThrownBy(() -> parse(3, Arrays.copyOf(stream, secondRow + 3)))
                .hasMessage("The binary COPY stream ended within row 2 at byte " + secondRow);
    }

    @Test
    void aStreamWithoutTheSignatureIsNotBinaryCopy() {
        byte[] csv = "id,name,email\n1,Ada,ada@example.com\n".getBytes(StandardCharsets.UTF_8);
        byte[] stream = copy(3, ROWS);
        stream[0] = 'X';

        assertThatThrownBy(() -> parse(3, csv)).isInstanceOf(IOException.class)
                .hasMessageStartingWith("Not a binary COPY stream");
        assertThatThrownBy(() -> parse(3, stream)).hasMessageStartingWith("Not a binary COPY stream");
    }

    @Test
    void aCriticalHeaderFlagSuchAsOidsIsRefused() {
        byte[] stream = copy(3, ROWS);
        stream[BinaryCopyParser.SIGNATURE.length + 1] = 1; // bit 16: each row carries an OID

        assertThatThrownBy(() -> parse(3, stream)).isInstanceOf(IOException.class)
                .hasMessageContaining("header flags 0x10000");
    }

    @Test
    void aRowWithAnotherFieldCountIsRefused() {
        assertThatThrownBy(() -> parse(2, copy(3, ROWS))).isInstanceOf(IOException.class)
                .hasMessage("The binary COPY stream has a row of 3 fields where 2 were expected (row 1) at byte 19");
    }

    @Test
    void aNegativeFieldLengthOtherThanNullIsRefused() {
        byte[] stream = copy(1, List.of(List.of("a")));
        // the first field's length, after the header and the row's field count
        byte[] minusTwo = {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xfe};
        System.arraycopy(minusTwo, 0, stream, BinaryCopyParser.HEADER_BYTES + 2, 4);

        assertThatThrownBy(() -> parse(1, stream)).isInstanceOf(IOException.class)
                .hasMessageContaining("a field of length -2 (row 1, field 1)");
    }

    @Test
    void bytesAfterTheEndMarkerAreRefused() {
        byte[] stream = copy(3, ROWS);
        byte[] twoMore = Arrays.copyOf(stream, stream.length + 2);
        byte[] oneMore = Arrays.copyOf(stream, stream.length + 1);

        assertThatThrownBy(() -> parse(3, twoMore)).hasMessageStartingWith("Data after the end of a binary COPY");
        assertThatThrownBy(() -> parse(3, oneMore)).hasMessageStartingWith("Data after the end of a binary COPY");
    }

    /** Parses the slices in order and finishes; each row's fields as text, NULL as null. */
    private static List<List<String>> parse(int fields, byte[]... slices) throws IOException {
        List<List<String>> rows = new ArrayList<>();
        BinaryCopyParser parser = new BinaryCopyParser(fields, row -> {
            List<String> values = new ArrayList<>();
            for (int i = 0; i < row.fields(); i++) {
                values.add(row.isNull(i) ? null
                        : new String(row.bytes(), row.offset(i), row.length(i), StandardCharsets.UTF_8));
            }
            rows.add(values);
        });
        for (byte[] slice : slices) {
            parser.write(slice, 0, slice.length);
        }
        parser.finish();
        assertThat(parser.rows()).isEqualTo(rows.size());
        return rows;
    }

    /** What {@code COPY ... TO STDOUT WITH (FORMAT binary)} sends for these rows of text fields. */
    private static byte[] copy(int fields, List<List<String>> rows) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(bytes);
            out.write(BinaryCopyParser.SIGNATURE);
            out.writeInt(0);
            out.writeInt(0);
            for (List<String> row : rows) {
                assertThat(row).hasSize(fields);
                writeRow(out, row);
            }
            out.writeShort(-1);
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void writeRow(DataOutputStream out, List<String> row) throws IOException {
        out.writeShort(row.size());
        for (String value : row) {
            if (value == null) {
                out.writeInt(-1);
            } else {
                byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
                out.writeInt(utf8.length);
                out.write(utf8);
            }
        }
    }
}
