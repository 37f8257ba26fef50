package com.cdcexport.export.job;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.scheduling.annotation.SchedulingConfigurer;
import org.springframework.scheduling.config.ScheduledTaskRegistrar;
import org.springframework.scheduling.support.CronExpression;
import org.springframework.stereotype.Component;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.config.InvalidSettingException;
import com.cdcexport.consumer.ConsumerId;
import com.cdcexport.export.job.ExportJobService.ConsumerBusyException;
import com.cdcexport.export.job.ExportJobService.QueueFullException;
import com.cdcexport.export.model.ExportType;
import com.cdcexport.export.model.TableName;

/**
 * Exports on a timetable without an outside cron: {@code EXPORT_SCHEDULES="warehouse=delta@0 *&#47;5 * * * *;
 * search=incremental:public.orders+public.order_lines@0 0 * * * *"} (Spring cron: second minute hour day month
 * weekday; the tables after ':' joined by '+', users when omitted). A scheduled export goes
 * through the same path as a POST. Every instance fires its schedules; the one-export-per-consumer rule lets only
 * the first through, so several instances still export once.
 */
@Component
class ExportSchedules implements SchedulingConfigurer {

    private static final Logger log = LoggerFactory.getLogger(ExportSchedules.class);

    record Schedule(ConsumerId consumer, ExportType type, List<TableName> tables, CronExpression cron) {
    }

    private final List<Schedule> schedules;
    private final ExportJobService jobs;

    ExportSchedules(CdcProperties properties, ExportJobService jobs) {
        this.schedules = parse(properties.schedules());
        this.jobs = jobs;
    }

    static List<Schedule> parse(String value) {
        List<Schedule> parsed = new ArrayList<>();
        for (String entry : value.split(";")) {
            if (entry.isBlank()) {
                continue;
            }
            try {
                String[] consumerAndRest = entry.strip().split("=", 2);
                String[] typeAndCron = consumerAndRest[1].split("@", 2);
                String[] typeAndTables = typeAndCron[0].split(":", 2);
                ExportType type = ExportType.fromSlug(typeAndTables[0].strip())
                        .orElseThrow(() -> new IllegalArgumentException("unknown export type " + typeAndTables[0]));
                List<TableName> tables = new ArrayList<>();
                for (String table : typeAndTables.length == 1 ? new String[] {"users"} : typeAndTables[1].split("\\+")) {
                    tables.add(TableName.parse(table).orElseThrow(
                            () -> new IllegalArgumentException("not a table name: " + table)));
                }
                parsed.add(new Schedule(new ConsumerId(consumerAndRest[0].strip()), type, List.copyOf(tables),
                        CronExpression.parse(typeAndCron[1].strip())));
            } catch (RuntimeException e) {
                throw new InvalidSettingException("EXPORT_SCHEDULES entry '" + entry.strip() + "' is not "
                        + "consumer=type[:table+table]@cron (e.g. warehouse=delta@0 */5 * * * *): " + e.getMessage(), e);
            }
        }
        return List.copyOf(parsed);
    }

    @Override
    public void configureTasks(ScheduledTaskRegistrar registrar) {
        for (Schedule schedule : schedules) {
            registrar.addCronTask(() -> fire(schedule), schedule.cron().toString());
            log.info("Scheduled {} exports for {} at '{}'", schedule.type().slug(), schedule.consumer(),
                    schedule.cron());
        }
    }

    void fire(Schedule schedule) {
        try {
            // In the consumer's default format.
            ExportJob job = jobs.submit(schedule.type(), Optional.empty(), schedule.consumer(), schedule.tables());
            log.info("Scheduled {} export for {} queued as job {}", schedule.type().slug(), schedule.consumer(),
                    job.id());
        } catch (ConsumerBusyException | QueueFullException e) {
            log.info("Scheduled {} export for {} skipped: {}", schedule.type().slug(), schedule.consumer(),
                    e.getMessage());
        } catch (RuntimeException e) {
            log.warn("Scheduled {} export for {} failed to start: {}", schedule.type().slug(), schedule.consumer(),
                    e.toString());
        }
    }
}
