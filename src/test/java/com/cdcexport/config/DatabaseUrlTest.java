package com.cdcexport.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class DatabaseUrlTest {

    @Test
    void seedStyleUrlWithUserAndPassword() {
        assertThat(DatabaseUrl.parse("postgresql://user:p%40ss@db:5432/mydatabase"))
                .isEqualTo(new DatabaseUrl("jdbc:postgresql://db:5432/mydatabase", "user", "p@ss"));
    }

    @Test
    void userWithoutPasswordAndNoPort() {
        assertThat(DatabaseUrl.parse("postgres://postgres@localhost/app"))
                .isEqualTo(new DatabaseUrl("jdbc:postgresql://localhost/app", "postgres", null));
    }

    @Test
    void noCredentialsKeepsQueryParameters() {
        assertThat(DatabaseUrl.parse("postgresql://h:1/d?sslmode=require"))
                .isEqualTo(new DatabaseUrl("jdbc:postgresql://h:1/d?sslmode=require", null, null));
    }

    @Test
    void jdbcUrlPassesThrough() {
        assertThat(DatabaseUrl.parse("jdbc:postgresql://h/d?user=u"))
                .isEqualTo(new DatabaseUrl("jdbc:postgresql://h/d?user=u", null, null));
    }

    @Test
    void wrongSchemeIsRejectedWithoutLeakingThePassword() {
        assertThatThrownBy(() -> DatabaseUrl.parse("mysql://u:secret@h/d"))
                .hasMessageContaining("DATABASE_URL")
                .hasMessageNotContaining("secret");
    }

    @Test
    void missingDatabaseNameIsRejected() {
        assertThatThrownBy(() -> DatabaseUrl.parse("postgresql://h:5432/")).hasMessageContaining("no database name");
    }
}
