package com.cdcexport.export.read;

import java.sql.SQLException;
import java.util.Set;

/**
 * A read on a standby ended by the standby, not by the export: replay cancelled it (a recovery conflict) or the
 * standby went away. Nothing of the read counts yet, so the export can read again in a new snapshot.
 */
public class StandbyReadLostException extends SQLException {

    /**
     * 40001: canceled on conflict with recovery; 57P01-57P03: the server shut down or cannot take connections;
     * class 08: the connection failed.
     */
    private static final Set<String> LOST = Set.of("40001", "57P01", "57P02", "57P03");

    private final String standby;

    StandbyReadLostException(String standby, Exception cause) {
        super(standby + ": " + cause.getMessage(), lostState(cause), cause);
        this.standby = standby;
    }

    /** The standby the read was lost on ({@code standby-N}). */
    public String standby() {
        return standby;
    }

    /** Whether {@code failure}, or what caused it, says the server ended the read rather than the export's SQL. */
    static boolean isLost(Throwable failure) {
        return lostState(failure) != null;
    }

    private static String lostState(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && sql.getSQLState() != null
                    && (LOST.contains(sql.getSQLState()) || sql.getSQLState().startsWith("08"))) {
                return sql.getSQLState();
            }
        }
        return null;
    }
}
