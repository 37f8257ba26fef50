package com.cdcexport.config;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * DATABASE_URL when given; otherwise a real PostgreSQL started from a Maven package, so that a newcomer's
 * {@code ./mvnw spring-boot:run} works with nothing installed.
 */
@Configuration(proxyBeanMethods = false)
public class DataSourceConfig {

    @Bean(destroyMethod = "close")
    public HikariDataSource dataSource(CdcProperties properties, EmbeddedDatabase embedded, StartupChecks checked) {
        // `checked`: every setting is checked before the embedded PostgreSQL starts or anything reaches the database.
        DatabaseUrl url = properties.databaseUrl().isBlank()
                ? embedded.start(properties.embeddedDataDir())
                : DatabaseUrl.parse(properties.databaseUrl());
        FirstConnection.check(url);
        HikariConfig config = new HikariConfig();
        config.setPoolName("cdc");
        config.setJdbcUrl(url.jdbcUrl());
        config.setUsername(url.username());
        config.setPassword(url.password());
        // Running exports read with at most EXPORT_READERS connections together, and each running export may hold
        // one more for its bookkeeping; leave room beside them for the API, heartbeats and commits, so exports never
        // wait for a connection nor starve those.
        config.setMaximumPoolSize(properties.parallel().effectiveReaders() + properties.jobs().workers() + 6);
        // Idle, the pool keeps what serial exports need; workers' connections are opened when exports run in parallel,
        // so an instance holds no more of the server's max_connections at rest than it did before.
        config.setMinimumIdle(properties.jobs().workers() + 6);
        // No JIT compilation: PostgreSQL compiles a plan to machine code once its estimated cost passes
        // jit_above_cost, and the service's plans only pass it by size, not by work JIT speeds up. A change-log
        // query over a large log (after a bulk load) paid ~300 ms of compiling per run of the pending-changes gauge
        // to execute in under 1 ms; a COPY renders its rows in output functions that JIT does not compile, so a
        // full export only paid the compiling (about 10% of a 1M-row export).
        config.setConnectionInitSql("SET TIME ZONE 'UTC'; SET jit = off");
        // Unqualified names in the service's SQL are its own tables; the user's tables are always qualified.
        config.setSchema(properties.schema());
        config.setConnectionTimeout(10_000);
        // FirstConnection has just connected (and waited for a server that was starting): the pool's first
        // connection gets one attempt, rather than 30 s of retrying an error that cannot heal.
        config.setInitializationFailTimeout(1);
        return new HikariDataSource(config);
    }

    @Bean(destroyMethod = "close")
    public EmbeddedDatabase embeddedDatabase() {
        return new EmbeddedDatabase();
    }
}
