package com.cdcexport.export.pipeline;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.springframework.stereotype.Component;

import com.cdcexport.export.access.TableAccessStore;
import com.cdcexport.export.destination.Destination;
import com.cdcexport.export.job.ExportJob;
import com.cdcexport.export.job.JobFile;
import com.cdcexport.export.model.ExportPlan;
import com.cdcexport.export.model.ExportPlan.Read;
import com.cdcexport.export.model.ExportPlan.TablePlan;
import com.cdcexport.export.model.Snapshot;
import com.cdcexport.export.model.TableName;
import com.cdcexport.export.watermark.Watermark;
import com.cdcexport.export.watermark.WatermarkService;

/**
 * Decides, once per claimed job, what the export is: per table its read, the watermark the commit expects and the
 * consumer's rules. Watermarks and rules are read outside the export's snapshot: only this job may move the
 * watermarks now, the commit's compare-and-set re-checks each, and the commit refuses a row filter that changed.
 */
@Component
class ExportPlanner {

    private final WatermarkService watermarks;
    private final TableAccessStore access;
    private final List<Destination> destinations;

    ExportPlanner(WatermarkService watermarks, TableAccessStore access, List<Destination> destinations) {
        this.watermarks = watermarks;
        this.access = access;
        this.destinations = List.copyOf(destinations);
    }

    ExportPlan plan(ExportJob job) {
        List<TablePlan> tables = new ArrayList<>();
        for (JobFile file : job.files()) {
            TableName table = TableName.parse(file.table()).orElseThrow(
                    () -> new IllegalStateException("Job " + job.id() + " names no table: " + file.table()));
            Optional<Snapshot> watermark = watermarks.find(job.consumerId(), table).map(Watermark::snapshot);
            // A window since P needs an output at P: a table destination that is elsewhere is read whole.
            boolean continues = watermark.isPresent() && destinations.stream().filter(d -> d.writes(job.format()))
                    .allMatch(d -> d.continuesFrom(job.consumerId(), table, watermark.get()));
            tables.add(new TablePlan(table, Read.of(job.exportType(), continues), watermark,
                    access.accessOf(job.consumerId(), table), file.filename()));
        }
        return new ExportPlan(job.id(), job.attempts(), job.consumerId(), job.exportType(), job.format(), tables,
                Optional.ofNullable(job.manifestFilename()), job.startedAt());
    }
}
