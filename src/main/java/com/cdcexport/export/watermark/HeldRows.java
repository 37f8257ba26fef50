package com.cdcexport.export.watermark;

import java.util.UUID;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Component;
import org.springframework.transaction.annotation.Propagation;
import org.springframework.transaction.annotation.Transactional;

import com.cdcexport.consumer.ConsumerId;
import com.cdcexport.export.model.ExportPlan;
import com.cdcexport.export.model.ExportPlan.TablePlan;
import com.cdcexport.export.model.TableName;

/**
 * The one place that writes what a consumer with a row filter holds of a table (table held_rows): the keys of the
 * rows it was sent and not sent a DELETE for since. They move only with the watermark, in the transaction that
 * completes the export, from the rows its reading transaction staged in its snapshot S.
 */
@Component
public class HeldRows {

    private final JdbcClient jdbc;

    HeldRows(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    /**
     * Applies what the export staged for {@code table}: a whole-table read replaces the held rows, a window's keys
     * are added or removed. Rows another attempt of the job staged are ignored (their snapshot is not the one
     * committed) and removed by {@link #discardStaged}. A consumer that sees the table without a row filter holds
     * nothing here (it holds every row that existed at its watermark).
     */
    @Transactional(propagation = Propagation.MANDATORY)
    public void apply(ExportPlan plan, TablePlan table) {
        boolean filtered = !table.access().filter().isEmpty();
        ConsumerId consumer = plan.consumer();
        if (!filtered || !table.read().hasWindow()) {
            forget(consumer, table.table());
        }
        if (!filtered) {
            return;
        }
        jdbc.sql("""
                DELETE FROM held_rows h USING held_rows_pending p
                 WHERE h.consumer_id = :consumer AND h.table_name = :table
                   AND p.job_id = :job AND p.attempt = :attempt AND p.table_name = :table
                   AND NOT p.held AND h.key = p.key""")
                .param("consumer", consumer.value()).param("table", table.table().qualified())
                .param("job", plan.jobId()).param("attempt", plan.attempt()).update();
        jdbc.sql("""
                INSERT INTO held_rows (consumer_id, table_name, key)
                SELECT :consumer, :table, p.key FROM held_rows_pending p
                 WHERE p.job_id = :job AND p.attempt = :attempt AND p.table_name = :table AND p.held
                ON CONFLICT DO NOTHING""")
                .param("consumer", consumer.value()).param("table", table.table().qualified())
                .param("job", plan.jobId()).param("attempt", plan.attempt()).update();
    }

    /** What every attempt of the job staged: applied, or of an attempt that never committed. */
    public void discardStaged(UUID job) {
        jdbc.sql("DELETE FROM held_rows_pending WHERE job_id = :job").param("job", job).update();
    }

    /**
     * Staged rows of attempts that can no longer commit (failed, cancelled, or claimed again since): a crash
     * between staging and the commit leaves them.
     */
    public int discardAbandoned() {
        return jdbc.sql("""
                DELETE FROM held_rows_pending p
                 WHERE NOT EXISTS (SELECT 1 FROM export_jobs j
                                    WHERE j.id = p.job_id AND j.status = 'running' AND j.attempts = p.attempt)""")
                .update();
    }

    /** The consumer holds nothing of {@code table} here any more (its next export of it starts from scratch). */
    public void forget(ConsumerId consumer, TableName table) {
        jdbc.sql("DELETE FROM held_rows WHERE consumer_id = :consumer AND table_name = :table")
                .param("consumer", consumer.value()).param("table", table.qualified()).update();
    }
}
