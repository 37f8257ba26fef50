package com.cdcexport.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import javax.sql.DataSource;

import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;

import com.cdcexport.support.IntegrationTest;

/** Every connection of the service's pool starts in the session the service's SQL is written for. */
class ServiceSessionTest extends IntegrationTest {

    @Autowired
    DataSource dataSource;

    @Test
    void poolConnectionsRunInUtcWithoutJitCompilation() throws SQLException {
        try (Connection connection = dataSource.getConnection(); Statement statement = connection.createStatement();
             ResultSet rs = statement.executeQuery("SELECT current_setting('TimeZone'), current_setting('jit')")) {
            rs.next();
            assertThat(rs.getString(1)).isEqualTo("UTC");
            assertThat(rs.getString(2)).as("JIT compiles the change-log queries at every gauge refresh")
                    .isEqualTo("off");
        }
    }
}
