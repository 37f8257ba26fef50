package com.cdcexport.export.read;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.config.DatabaseUrl;
import com.cdcexport.export.model.ExportProgress;

/**
 * Where exports read: the primary (DATABASE_URL's pool), or the hot standbys of DATABASE_READ_URL, each with a pool
 * of its own opened lazily (a standby that is down at start-up delays nothing). See docs/capture.md, "Reading from a
 * standby".
 */
@Component
public class ReadEndpoints implements DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(ReadEndpoints.class);

    private final Endpoint primary;
    private final List<Endpoint> standbys = new ArrayList<>();
    /** How long exports waited for a standby to replay their claim, and how many wait now. */
    private final Timer catchUp;
    private final AtomicInteger waiting = new AtomicInteger();
    private final MeterRegistry registry;

    @Autowired
    public ReadEndpoints(DataSource dataSource, CdcProperties properties, MeterRegistry registry) {
        this.primary = new Endpoint("primary", dataSource, false);
        this.registry = registry;
        this.catchUp = catchUpTimer(registry);
        Gauge.builder("cdc.export.standby.waiting", waiting, AtomicInteger::get)
                .description("Exports waiting now for a standby to replay the moment their job was claimed")
                .register(registry);
        List<DatabaseUrl> urls = properties.standby().urls();
        for (int i = 0; i < urls.size(); i++) {
            String name = "standby-" + (i + 1);
            standbys.add(new Endpoint(name, pool(name, urls.get(i), properties), true));
        }
        for (Endpoint standby : standbys) {
            Gauge.builder("cdc.standby.replay.lag", standby, this::replayLagBytes).baseUnit("bytes")
                    .tag("database", standby.name())
                    .description("WAL the standby has received or not yet, and not replayed, behind the primary's")
                    .register(registry);
        }
    }

    /** Reads on the primary only. */
    public static ReadEndpoints primaryOnly(DataSource dataSource) {
        return new ReadEndpoints(new Endpoint("primary", dataSource, false));
    }

    private ReadEndpoints(Endpoint primary) {
        this.primary = primary;
        this.registry = new SimpleMeterRegistry();
        this.catchUp = catchUpTimer(registry);
    }

    private static Timer catchUpTimer(MeterRegistry registry) {
        return Timer.builder("cdc.export.standby.wait")
                .description("Time from an export's start until a standby had replayed its claim (or the wait ended)")
                .register(registry);
    }

    /** Times one export's wait for a standby, counting it (and showing its job) as waiting meanwhile. */
    <T> T waitingForStandby(ExportProgress progress, StandbyWait<T> wait) throws SQLException {
        waiting.incrementAndGet();
        long start = System.nanoTime();
        try (ExportProgress.Waiting shown = progress.waitFor(ExportProgress.Wait.STANDBY)) {
            return wait.get();
        } finally {
            catchUp.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
            waiting.decrementAndGet();
        }
    }

    /**
     * Counts where an export on a standby read the change-log entries of a table in log-based capture: the standby,
     * or the primary when the standby had not replayed them in time (see LogicalStandbyRead).
     */
    void logicalEntriesRead(Endpoint where) {
        registry.counter("cdc.export.logical.entries.reads", "database", where.name()).increment();
    }

    /** A wait for a standby that may fail with SQLException. */
    @FunctionalInterface
    interface StandbyWait<T> {
        T get() throws SQLException;
    }

    public Endpoint primary() {
        return primary;
    }

    /** DATABASE_READ_URL's standbys, in its order (the preferred first); empty without one. */
    public List<Endpoint> standbys() {
        return List.copyOf(standbys);
    }

    /**
     * One database exports may read: its name is what manifests, metrics and the console show ({@code primary},
     * {@code standby-N} for DATABASE_READ_URL's N-th entry: never its host or credentials).
     */
    public record Endpoint(String name, DataSource dataSource, boolean standby) {
    }

    /**
     * Bytes of WAL the primary has written and the standby not yet replayed; NaN when either cannot be asked.
     */
    private double replayLagBytes(Endpoint standby) {
        try (Connection p = primary.dataSource().getConnection(); Statement ps = p.createStatement();
             ResultSet current = ps.executeQuery("SELECT pg_current_wal_lsn()::text");
             Connection s = standby.dataSource().getConnection(); Statement ss = s.createStatement();
             ResultSet replayed = ss.executeQuery("SELECT pg_wal_lsn_diff('" + lsn(current)
                     + "'::pg_lsn, pg_last_wal_replay_lsn())")) {
            replayed.next();
            return Math.max(0, replayed.getDouble(1));
        } catch (SQLException e) {
            log.debug("Cannot read the replay lag of {}: {}", standby.name(), e.toString());
            return Double.NaN;
        }
    }

    private static String lsn(ResultSet rs) throws SQLException {
        rs.next();
        return Optional.ofNullable(rs.getString(1)).filter(l -> l.matches("[0-9A-F]+/[0-9A-F]+")).orElseThrow(
                () -> new SQLException("not an LSN"));
    }

    private static HikariDataSource pool(String name, DatabaseUrl url, CdcProperties properties) {
        HikariConfig config = new HikariConfig();
        config.setPoolName("cdc-" + name);
        config.setJdbcUrl(url.jdbcUrl());
        config.setUsername(url.username());
        config.setPassword(url.password());
        // As the primary's pool: every running export's readers plus its coordinator, and two for the lag gauge.
        config.setMaximumPoolSize(properties.parallel().effectiveReaders() + properties.jobs().workers() + 2);
        config.setMinimumIdle(0);
        config.setConnectionInitSql("SET TIME ZONE 'UTC'; SET jit = off");
        config.setSchema(properties.schema());
        config.setReadOnly(true);
        config.setConnectionTimeout(5_000);
        // Opened lazily: a standby that is down at start-up is passed over by exports, not a start-up failure.
        config.setInitializationFailTimeout(-1);
        return new HikariDataSource(config);
    }

    @Override
    public void destroy() {
        for (Endpoint standby : standbys) {
            if (standby.dataSource() instanceof HikariDataSource pool) {
                pool.close();
            }
        }
    }
}
