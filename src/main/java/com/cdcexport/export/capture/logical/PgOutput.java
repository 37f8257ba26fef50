package com.cdcexport.export.capture.logical;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * PostgreSQL's {@code pgoutput} messages (protocol version 1, as documented in "Logical Replication Message
 * Formats"), read from the buffers PgJDBC's replication stream hands over. Only what capture needs is kept: which
 * transaction, which relation, which operation, and the tuples' values in their text form.
 */
final class PgOutput {

    private PgOutput() {
    }

    sealed interface Message permits Begin, Commit, Relation, Change, Truncate, Marker, Ignored {
    }

    /** @param finalLsn the LSN of the transaction's commit record; @param commitMicros µs since 2000-01-01 UTC */
    record Begin(long finalLsn, long commitMicros, long xid) implements Message {
    }

    /** @param endLsn the end of the transaction's commit record: what the slot is confirmed to */
    record Commit(long commitLsn, long endLsn, long commitMicros) implements Message {
    }

    record Column(String name, int typeOid, boolean key) {
    }

    record Relation(int relid, String schema, String name, char replicaIdentity, List<Column> columns)
            implements Message {

        /** The position of a column in this relation's tuples, or -1. */
        int index(String column) {
            for (int i = 0; i < columns.size(); i++) {
                if (columns.get(i).name().equals(column)) {
                    return i;
                }
            }
            return -1;
        }
    }

    /** One value of a tuple: its text form, null for SQL NULL, or {@link #UNCHANGED} for an unchanged TOAST value. */
    record Tuple(List<String> values) {
    }

    /** A value the WAL does not carry: a TOASTed value the update left unchanged. */
    static final String UNCHANGED = new String("\u0000unchanged-toast");

    /**
     * @param op I, U or D
     * @param old the old tuple: the key ('K', replica identity default or index) or the whole row ('O', FULL);
     *            null when the WAL has none (inserts, updates that kept the key)
     * @param oldIsKey whether {@code old} holds only the replica identity's columns
     */
    record Change(char op, int relid, Tuple old, boolean oldIsKey, Tuple current) implements Message {
    }

    record Truncate(List<Integer> relids) implements Message {
    }

    /** A message written by {@code pg_logical_emit_message}: the markers exports write after taking a snapshot. */
    record Marker(long lsn, String prefix, String content) implements Message {
    }

    record Ignored(char type) implements Message {
    }

    static Message read(ByteBuffer buffer) {
        char type = (char) buffer.get();
        return switch (type) {
            case 'B' -> new Begin(buffer.getLong(), buffer.getLong(), Integer.toUnsignedLong(buffer.getInt()));
            case 'C' -> {
                buffer.get(); // flags, unused
                yield new Commit(buffer.getLong(), buffer.getLong(), buffer.getLong());
            }
            case 'R' -> relation(buffer);
            case 'I' -> {
                int relid = buffer.getInt();
                expect(buffer, 'N');
                yield new Change('I', relid, null, false, tuple(buffer));
            }
            case 'U' -> {
                int relid = buffer.getInt();
                char next = (char) buffer.get();
                Tuple old = null;
                boolean oldIsKey = false;
                if (next == 'K' || next == 'O') {
                    oldIsKey = next == 'K';
                    old = tuple(buffer);
                    next = (char) buffer.get();
                }
                if (next != 'N') {
                    throw new IllegalStateException("pgoutput update without a new tuple ('" + next + "')");
                }
                yield new Change('U', relid, old, oldIsKey, tuple(buffer));
            }
            case 'D' -> {
                int relid = buffer.getInt();
                char kind = (char) buffer.get();
                yield new Change('D', relid, tuple(buffer), kind == 'K', null);
            }
            case 'T' -> {
                int count = buffer.getInt();
                buffer.get(); // options (CASCADE, RESTART IDENTITY): the marker is the same
                List<Integer> relids = new ArrayList<>(count);
                for (int i = 0; i < count; i++) {
                    relids.add(buffer.getInt());
                }
                yield new Truncate(relids);
            }
            case 'M' -> {
                buffer.get(); // flags: transactional or not
                long lsn = buffer.getLong();
                String prefix = string(buffer);
                byte[] content = new byte[buffer.getInt()];
                buffer.get(content);
                yield new Marker(lsn, prefix, new String(content, StandardCharsets.UTF_8));
            }
            default -> new Ignored(type); // origin, type: nothing capture needs
        };
    }

    private static Relation relation(ByteBuffer buffer) {
        int relid = buffer.getInt();
        String schema = string(buffer);
        String name = string(buffer);
        char identity = (char) buffer.get();
        int count = buffer.getShort();
        List<Column> columns = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            boolean key = (buffer.get() & 1) != 0;
            String column = string(buffer);
            int type = buffer.getInt();
            buffer.getInt(); // typmod
            columns.add(new Column(column, type, key));
        }
        return new Relation(relid, schema, name, identity, columns);
    }

    private static Tuple tuple(ByteBuffer buffer) {
        int count = buffer.getShort();
        List<String> values = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            char kind = (char) buffer.get();
            switch (kind) {
                case 'n' -> values.add(null);
                case 'u' -> values.add(UNCHANGED);
                case 't', 'b' -> {
                    byte[] bytes = new byte[buffer.getInt()];
                    buffer.get(bytes);
                    values.add(new String(bytes, StandardCharsets.UTF_8));
                }
                default -> throw new IllegalStateException("pgoutput tuple value of unknown kind '" + kind + "'");
            }
        }
        return new Tuple(values);
    }

    private static void expect(ByteBuffer buffer, char wanted) {
        char found = (char) buffer.get();
        if (found != wanted) {
            throw new IllegalStateException("pgoutput: expected '" + wanted + "', found '" + found + "'");
        }
    }

    private static String string(ByteBuffer buffer) {
        int start = buffer.position();
        int end = start;
        while (buffer.get(end) != 0) {
            end++;
        }
        byte[] bytes = new byte[end - start];
        buffer.get(bytes);
        buffer.get(); // the terminating zero
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
