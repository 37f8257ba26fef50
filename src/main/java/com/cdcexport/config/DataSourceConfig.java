package com.cdcexport.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * DATABASE_URL when given; otherwise a real PostgreSQL started from a Maven package, so that a newcomer's
 * {@code ./mvnw spring-boot:run} works with nothing installed.
 */
@Configuration(proxyBeanMethods = false)
public class DataSourceConfig {

    private static final Logger log = LoggerFactory.getLogger(DataSourceConfig.class);

    @Bean(destroyMethod = "close")
    public HikariDataSource dataSource(CdcProperties properties, EmbeddedDatabase embedded) {
        DatabaseUrl url = properties.databaseUrl().isBlank()
                ? embedded.start(properties.embeddedDataDir())
                : DatabaseUrl.parse(properties.databaseUrl());
        HikariConfig config = new HikariConfig();
        config.setPoolName("cdc");
        config.setJdbcUrl(url.jdbcUrl());
        config.setUsername(url.username());
        config.setPassword(url.password());
        // Exports hold a connection while they stream; leave room for the API, heartbeats and commits.
        config.setMaximumPoolSize(properties.jobs().workers() + 6);
        config.setConnectionInitSql("SET TIME ZONE 'UTC'");
        // Unqualified names in the service's SQL are its own tables; the user's tables are always qualified.
        config.setSchema(properties.schema());
        config.setConnectionTimeout(10_000);
        config.setInitializationFailTimeout(30_000);
        return new HikariDataSource(config);
    }

    @Bean(destroyMethod = "close")
    public EmbeddedDatabase embeddedDatabase() {
        return new EmbeddedDatabase();
    }

    /** Owns the embedded server's lifetime; does nothing unless {@link #start} is called. */
    public static final class EmbeddedDatabase implements AutoCloseable {

        private EmbeddedPostgres postgres;

        DatabaseUrl start(Path dataDir) {
            if ("root".equals(System.getProperty("user.name"))) {
                throw new InvalidSettingException("DATABASE_URL is not set and the embedded PostgreSQL cannot run as root: "
                        + "set DATABASE_URL=postgresql://user:password@host:5432/database");
            }
            try {
                Files.createDirectories(dataDir);
                postgres = EmbeddedPostgres.builder()
                        .setDataDirectory(dataDir)
                        .setCleanDataDirectory(false)
                        .start();
            } catch (IOException | RuntimeException e) {
                throw new InvalidSettingException("DATABASE_URL is not set and the embedded PostgreSQL failed to start ("
                        + e.getMessage() + "): set DATABASE_URL=postgresql://user:password@host:5432/database", e);
            }
            log.warn("DATABASE_URL is not set: started an embedded PostgreSQL on port {} with its data in {}",
                    postgres.getPort(), dataDir.toAbsolutePath());
            return new DatabaseUrl(postgres.getJdbcUrl("postgres", "postgres"), "postgres", null);
        }

        @Override
        public void close() throws IOException {
            if (postgres != null) {
                postgres.close();
            }
        }
    }
}
