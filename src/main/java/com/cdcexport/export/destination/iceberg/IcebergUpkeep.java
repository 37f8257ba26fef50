package com.cdcexport.export.destination.iceberg;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.sql.DataSource;

import org.apache.iceberg.DeleteFile;
import org.apache.iceberg.ManifestContent;
import org.apache.iceberg.ManifestFile;
import org.apache.iceberg.ManifestFiles;
import org.apache.iceberg.ManifestReader;
import org.apache.iceberg.ReachableFileUtil;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.io.FileInfo;
import org.apache.iceberg.io.SupportsPrefixOperations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

import com.cdcexport.config.CdcProperties;

/**
 * Keeps the Iceberg tables from growing without bound, every ICEBERG_UPKEEP_INTERVAL, one instance at a time (a
 * session advisory lock): a table with ICEBERG_COMPACT_DELETE_FILES delete files is rewritten into data files of its
 * live rows ({@link IcebergCompaction}), snapshots older than ICEBERG_SNAPSHOT_RETENTION are expired with the files
 * only they referenced, and files under a table's location that no snapshot or metadata file references (those of
 * attempts that failed or were killed before their commit) are removed once they are an hour old and their job is
 * not queued or running. Exports go on meanwhile: a rewrite and an expiry are Iceberg commits like theirs
 * (optimistic, retried), and
 * an export's new files are never candidates (their job is running, and they are young).
 */
@Component
public class IcebergUpkeep {

    private static final Logger log = LoggerFactory.getLogger(IcebergUpkeep.class);
    private static final long ORPHAN_MIN_AGE_MILLIS = 3_600_000L;
    /** The files an export writes are named {job id}-{attempt}-…: see TableChanges. */
    private static final Pattern JOB_FILE = Pattern.compile(
            "([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-\\d+-[^/]*$");
    private static final long LOCK_KEY = 0x1ceb_e26_0001L;

    private final IcebergDestination iceberg;
    private final JdbcClient jdbc;
    private final DataSource dataSource;
    private final CdcProperties.Iceberg settings;
    private final Clock clock;
    private final IcebergCompaction compaction;

    IcebergUpkeep(IcebergDestination iceberg, JdbcClient jdbc, DataSource dataSource, CdcProperties properties,
                  Clock clock) {
        this.iceberg = iceberg;
        this.jdbc = jdbc;
        this.dataSource = dataSource;
        this.settings = properties.iceberg();
        this.clock = clock;
        this.compaction = new IcebergCompaction(settings.compactDeleteFiles(), settings.compactKeysInMemory());
    }

    /** What one table's upkeep removed; {@code rewrite} is null when the table was not due for one. */
    public record Result(int expiredSnapshots, int removedFiles, IcebergCompaction.Outcome rewrite) {
    }

    @Scheduled(initialDelayString = "${cdc.iceberg.upkeep-interval}", fixedDelayString = "${cdc.iceberg.upkeep-interval}")
    void onSchedule() {
        try {
            runAll();
        } catch (RuntimeException e) {
            log.warn("Iceberg table upkeep failed: {}", e.toString());
        }
    }

    /** Every table of the catalog, unless another instance is at it; false when it was. */
    public boolean runAll() {
        try (Connection lock = dataSource.getConnection(); Statement statement = lock.createStatement()) {
            try (ResultSet rs = statement.executeQuery("SELECT pg_try_advisory_lock(" + LOCK_KEY + ")")) {
                rs.next();
                if (!rs.getBoolean(1)) {
                    return false;
                }
            }
            try {
                for (TableIdentifier table : iceberg.allTables()) {
                    try {
                        run(table, clock.instant());
                    } catch (RuntimeException e) {
                        log.warn("Upkeep of Iceberg table {} failed: {}", table, e.toString());
                    }
                }
            } finally {
                statement.execute("SELECT pg_advisory_unlock(" + LOCK_KEY + ")");
            }
            return true;
        } catch (SQLException e) {
            throw new IllegalStateException("Iceberg upkeep could not take its lock: " + e.getMessage(), e);
        }
    }

    /**
     * One table, as at {@code now}: rewrite it if it has reached ICEBERG_COMPACT_DELETE_FILES, expire old snapshots,
     * then remove orphan files.
     */
    Result run(TableIdentifier identifier, Instant now) {
        return run(identifier, now, () -> { });
    }

    /**
     * As {@link #run(TableIdentifier, Instant)}; {@code beforeRewriteCommit} runs between a rewrite's read and its
     * commit (tests commit an export there).
     */
    Result run(TableIdentifier identifier, Instant now, Runnable beforeRewriteCommit) {
        Table table = iceberg.catalog().loadTable(identifier);
        IcebergCompaction.Outcome rewrite = null;
        if (compaction.due(table)) {
            long started = System.nanoTime();
            try {
                rewrite = compaction.rewrite(table, beforeRewriteCommit);
            } catch (RuntimeException e) {
                // the table as it was (the rewrite's files are removed); its expiry and orphans are still due
                log.warn("Rewrite of Iceberg table {} failed: {}", identifier, e.toString());
                rewrite = IcebergCompaction.Outcome.skipped(e.toString());
            }
            if (rewrite.committed()) {
                log.info("Iceberg table {}: rewrote {} data and {} delete files as {} data files of {} rows in {} "
                                + "pass(es), {} ms", identifier, rewrite.dataFilesRemoved(),
                        rewrite.deleteFilesRemoved(), rewrite.dataFilesAdded(), rewrite.rows(), rewrite.passes(),
                        (System.nanoTime() - started) / 1_000_000);
                jdbc.sql("INSERT INTO iceberg_upkeep (table_namespace, table_name, finished_at, expired_snapshots, "
                                + "removed_files, rewritten_at, rewritten_data_files, rewritten_delete_files, "
                                + "rewrite_data_files) VALUES (?, ?, ?, 0, 0, ?, ?, ?, ?) "
                                + "ON CONFLICT (table_namespace, table_name) DO UPDATE SET rewritten_at = "
                                + "EXCLUDED.rewritten_at, rewritten_data_files = EXCLUDED.rewritten_data_files, "
                                + "rewritten_delete_files = EXCLUDED.rewritten_delete_files, rewrite_data_files = "
                                + "EXCLUDED.rewrite_data_files")
                        .params(IcebergCatalog.namespaceText(identifier.namespace()), identifier.name(),
                                Timestamp.from(clock.instant()), Timestamp.from(clock.instant()),
                                rewrite.dataFilesRemoved(), rewrite.deleteFilesRemoved(), rewrite.dataFilesAdded())
                        .update();
            }
            table.refresh();
        }
        int before = IcebergDestination.snapshotCount(table);
        table.expireSnapshots().expireOlderThan(now.minus(settings.snapshotRetention()).toEpochMilli())
                .retainLast(1).cleanExpiredFiles(true).commit();
        table.refresh();
        int expired = before - IcebergDestination.snapshotCount(table);
        int removed = removeOrphans(table, now);
        jdbc.sql("INSERT INTO iceberg_upkeep (table_namespace, table_name, finished_at, expired_snapshots, "
                        + "removed_files) VALUES (?, ?, ?, ?, ?) ON CONFLICT (table_namespace, table_name) DO UPDATE "
                        + "SET finished_at = EXCLUDED.finished_at, expired_snapshots = EXCLUDED.expired_snapshots, "
                        + "removed_files = EXCLUDED.removed_files")
                .params(IcebergCatalog.namespaceText(identifier.namespace()), identifier.name(),
                        Timestamp.from(clock.instant()), expired, removed)
                .update();
        if (expired > 0 || removed > 0) {
            log.info("Iceberg table {}: expired {} snapshots, removed {} orphan files", identifier, expired, removed);
        }
        return new Result(expired, removed, rewrite);
    }

    private int removeOrphans(Table table, Instant now) {
        if (!(table.io() instanceof SupportsPrefixOperations io)) {
            return 0;
        }
        Set<String> reachable = reachable(table);
        Set<String> active = new HashSet<>(jdbc.sql("SELECT id::text FROM export_jobs WHERE status IN ('queued', "
                + "'running')").query(String.class).list());
        int removed = 0;
        for (FileInfo file : io.listPrefix(table.location())) {
            if (reachable.contains(file.location()) || now.toEpochMilli() - file.createdAtMillis()
                    < ORPHAN_MIN_AGE_MILLIS) {
                continue;
            }
            Matcher job = JOB_FILE.matcher(file.location());
            if (job.find() && active.contains(job.group(1))) {
                continue;
            }
            io.deleteFile(file.location());
            removed++;
        }
        return removed;
    }

    /** Every file a snapshot or a metadata file of the table references, and those metadata files. */
    private static Set<String> reachable(Table table) {
        Set<String> reachable = new HashSet<>(ReachableFileUtil.metadataFileLocations(table, false));
        reachable.addAll(ReachableFileUtil.statisticsFilesLocations(table));
        for (Snapshot snapshot : table.snapshots()) {
            reachable.add(snapshot.manifestListLocation());
            for (ManifestFile manifest : snapshot.allManifests(table.io())) {
                reachable.add(manifest.path());
                try {
                    if (manifest.content() == ManifestContent.DATA) {
                        try (CloseableIterable<String> paths = ManifestFiles.readPaths(manifest, table.io(),
                                table.specs())) {
                            paths.forEach(reachable::add);
                        }
                    } else {
                        try (ManifestReader<DeleteFile> deletes = ManifestFiles.readDeleteManifest(manifest,
                                table.io(), table.specs())) {
                            deletes.forEach(file -> reachable.add(file.location()));
                        }
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
        return reachable;
    }

    /** The last upkeep of each table, for the console; its last rewrite, if it had one. */
    public record LastUpkeep(String table, Instant finishedAt, int expiredSnapshots, int removedFiles,
                             Rewrite lastRewrite) {
    }

    /** A rewrite: when, the data and delete files it replaced, and the data files it wrote in their place. */
    public record Rewrite(Instant at, int dataFiles, int deleteFiles, int newDataFiles) {
    }

    public List<LastUpkeep> lastUpkeeps() {
        return jdbc.sql("SELECT table_namespace || '.' || table_name, finished_at, expired_snapshots, removed_files, "
                        + "rewritten_at, rewritten_data_files, rewritten_delete_files, rewrite_data_files "
                        + "FROM iceberg_upkeep ORDER BY 1")
                .query((rs, row) -> {
                    OffsetDateTime rewritten = rs.getObject(5, OffsetDateTime.class);
                    return new LastUpkeep(rs.getString(1), rs.getObject(2, OffsetDateTime.class).toInstant(),
                            rs.getInt(3), rs.getInt(4), rewritten == null ? null
                            : new Rewrite(rewritten.toInstant(), rs.getInt(6), rs.getInt(7), rs.getInt(8)));
                })
                .list();
    }
}
