package com.cdcexport.export;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;

import org.junit.jupiter.api.Test;

import com.cdcexport.support.IntegrationTest;

/**
 * Files load in DuckDB with its default CSV reader, as a data engineer would read them. Its sniffer decides
 * whether values are quoted from a sample at the top of the file; text columns are always quoted, so a value that
 * needs quotes far down the file cannot break it.
 */
class DuckDbReadsExportsTest extends IntegrationTest {

    @Test
    void duckDbsDefaultReaderReadsAFileWhoseFirstAwkwardValueIsFarDown() throws Exception {
        insertUsers(100_000);
        insertUser("Pat, \"the Boss\"", "pat@example.com");
        String file = OUTPUT_DIR.resolve(startAndAwait("full")).toString();

        try (Connection duck = DriverManager.getConnection("jdbc:duckdb:");
             Statement statement = duck.createStatement();
             ResultSet rs = statement.executeQuery("SELECT count(*), max(CASE WHEN email = 'pat@example.com'"
                     + " THEN name END), typeof(any_value(id)), typeof(any_value(is_deleted))"
                     + " FROM '" + file.replace("'", "''") + "'")) {
            rs.next();
            assertThat(rs.getLong(1)).isEqualTo(100_001);
            assertThat(rs.getString(2)).isEqualTo("Pat, \"the Boss\"");
            assertThat(List.of(rs.getString(3), rs.getString(4))).containsExactly("BIGINT", "BOOLEAN");
        }
    }

    private String startAndAwait(String type) {
        var accepted = startExport(type, "duck");
        assertThat(awaitJob(accepted.field("jobId"))).isEqualTo("completed");
        return accepted.field("outputFilename");
    }
}
