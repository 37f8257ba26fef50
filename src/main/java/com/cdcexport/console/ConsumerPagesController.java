package com.cdcexport.console;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.servlet.mvc.support.RedirectAttributes;

import com.cdcexport.auth.ConsumerService;
import com.cdcexport.auth.ConsumerService.ConsumerView;
import com.cdcexport.auth.ConsumerService.IssuedKey;
import com.cdcexport.config.CdcProperties;
import com.cdcexport.consumer.ConsumerId;
import com.cdcexport.export.access.TableAccessStore;
import com.cdcexport.export.access.TableAccessStore.FilterCondition;
import com.cdcexport.export.access.TableAccessStore.TableRule;
import com.cdcexport.export.capture.CapturedTables;
import com.cdcexport.export.destination.iceberg.IcebergDestination;
import com.cdcexport.export.destination.iceberg.IcebergUpkeep;
import com.cdcexport.export.job.ExportJobService;
import com.cdcexport.export.job.JobStatus;
import com.cdcexport.export.watermark.Watermark;
import com.cdcexport.export.watermark.WatermarkService;

/**
 * Consumers: where each one stands (watermark and lag per table, last export), what it receives, and its keys.
 * Keys are managed by the administrator only; a new key is shown on the page the change leads to, once: it passes
 * through the session for that one redirect and is never stored anywhere else.
 */
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
@Controller
class ConsumerPagesController {

    /** The overlaps offered when rotating, besides KEY_ROTATION_OVERLAP. */
    private static final List<Duration> OVERLAPS = List.of(Duration.ZERO, Duration.ofHours(1), Duration.ofHours(24),
            Duration.ofDays(7));
    private static final Duration MAX_OVERLAP = Duration.ofDays(30);

    private final ConsumerService consumers;
    private final WatermarkService watermarks;
    private final TableAccessStore access;
    private final CapturedTables captured;
    private final ExportJobService jobs;
    private final JobRows rows;
    private final Gauges gauges;
    private final IcebergDestination iceberg;
    private final IcebergUpkeep upkeep;
    private final Duration defaultOverlap;

    ConsumerPagesController(ConsumerService consumers, WatermarkService watermarks, TableAccessStore access,
                        CapturedTables captured, ExportJobService jobs, JobRows rows, Gauges gauges,
                        IcebergDestination iceberg, IcebergUpkeep upkeep, CdcProperties properties) {
        this.iceberg = iceberg;
        this.upkeep = upkeep;
        this.consumers = consumers;
        this.watermarks = watermarks;
        this.access = access;
        this.captured = captured;
        this.jobs = jobs;
        this.rows = rows;
        this.gauges = gauges;
        this.defaultOverlap = properties.auth().keyRotationOverlap();
    }

    record ConsumerRow(String id, String created, long activeKeys, String lag, String lastExport) {
    }

    /** @param lag how old the oldest change not yet sent is: "" when nothing waits, "unknown" before measured */
    record WatermarkRow(String table, String lastExportedAt, String pending, String lag) {
    }

    record ReceiveRow(String table, String columns, String rows) {
    }

    record IcebergRow(String table, String source, String records, String snapshots, String dataFiles,
                      String deleteFiles, String lastUpkeep, String lastRewrite) {
    }

    record KeyRow(String keyId, String origin, String created, String expires, String revoked, boolean active) {
    }

    record Overlap(String value, String label, boolean selected) {
    }

    private List<IcebergRow> icebergRows(ConsumerId id) {
        Map<String, IcebergUpkeep.LastUpkeep> upkeeps = upkeep.lastUpkeeps().stream()
                .collect(Collectors.toMap(IcebergUpkeep.LastUpkeep::table, u -> u));
        return iceberg.tables(id).stream().map(t -> {
            IcebergUpkeep.LastUpkeep last = upkeeps.get(t.table());
            return new IcebergRow(t.table(), t.sourceTable() == null ? "" : t.sourceTable(),
                    Display.count(t.records()), Display.count(t.snapshots()), Display.count(t.dataFiles()),
                    Display.count(t.deleteFiles()), last == null ? "not yet" : Display.time(last.finishedAt())
                            + " (" + last.expiredSnapshots() + " snapshots expired, " + last.removedFiles()
                            + " orphan files removed)",
                    last == null || last.lastRewrite() == null ? "not yet" : Display.time(last.lastRewrite().at())
                            + " (" + last.lastRewrite().dataFiles() + " data and " + last.lastRewrite().deleteFiles()
                            + " delete files into " + last.lastRewrite().newDataFiles() + ")");
        }).toList();
    }

    @GetMapping("/console/consumers")
    String list(Model model) {
        Viewer viewer = Viewer.current();
        if (!viewer.admin()) {
            return "redirect:/console/consumers/" + viewer.consumerId();
        }
        List<ConsumerRow> list = consumers.list().stream().map(c -> new ConsumerRow(c.consumerId(),
                Display.time(Display.parse(c.createdAt())),
                c.keys().stream().filter(ConsumerView.KeyView::active).count(),
                worstLag(c.consumerId()), lastExport(c.consumerId()).map(JobRow::finished).orElse(""))).toList();
        model.addAttribute("consumers", list);
        return "console/consumers";
    }

    @GetMapping("/console/consumers/{consumerId}")
    String consumer(@PathVariable String consumerId, Model model) {
        Viewer viewer = Viewer.current();
        viewer.requireMaySee(consumerId, "consumer " + Inputs.shorten(consumerId));
        ConsumerId id = Inputs.consumerId(consumerId);
        ConsumerView view = consumers.find(id);

        List<WatermarkRow> marks = new ArrayList<>();
        for (Watermark w : watermarks.findAll(id)) {
            String table = w.table().qualified();
            Optional<Gauges.Pending> pending = gauges.pending(id.value(), table);
            marks.add(new WatermarkRow(table, Display.time(w.lastExportedAt()),
                    pending.map(p -> Display.count(p.changes())).orElse("not measured yet"),
                    pending.map(p -> p.changes() == 0 ? "up to date" : Display.duration(seconds(p.oldestSeconds())))
                            .orElse("not measured yet")));
        }
        Map<String, WatermarkRow> byTable = marks.stream()
                .collect(Collectors.toMap(WatermarkRow::table, m -> m, (a, b) -> a, LinkedHashMap::new));

        List<TableRule> rules = access.list(id);
        List<ReceiveRow> receives = rules.isEmpty()
                ? captured.all().stream().map(t -> new ReceiveRow(t.qualified(), "every column", "every row")).toList()
                : rules.stream().map(r -> new ReceiveRow(r.table(),
                        (r.columns() == null ? "every column" : String.join(", ", r.columns()))
                                + (r.masks().isEmpty() ? "" : r.masks().entrySet().stream()
                                        .map(m -> m.getKey() + " (" + m.getValue() + ")")
                                        .collect(Collectors.joining(", ", "; masked: ", ""))),
                        r.filter().isEmpty() ? "every row" : r.filter().stream().map(ConsumerPagesController::condition)
                                .collect(Collectors.joining(" and ")))).toList();
        List<String> neverExported = receives.stream().map(ReceiveRow::table).filter(t -> !byTable.containsKey(t))
                .toList();

        model.addAttribute("consumer", view);
        model.addAttribute("created", Display.time(Display.parse(view.createdAt())));
        model.addAttribute("watermarks", marks);
        model.addAttribute("neverExported", neverExported);
        model.addAttribute("restricted", !rules.isEmpty());
        model.addAttribute("receives", receives);
        model.addAttribute("lastExport", lastExport(id.value()).orElse(null));
        model.addAttribute("keys", view.keys().stream().map(k -> new KeyRow(k.keyId(), k.origin(),
                Display.time(Display.parse(k.createdAt())), Display.time(Display.parse(k.expiresAt())),
                Display.time(Display.parse(k.revokedAt())), k.active())).toList());
        model.addAttribute("overlaps", overlaps());
        model.addAttribute("icebergTables", icebergRows(id));
        return "console/consumer";
    }

    @PostMapping("/console/consumers")
    String create(@RequestParam(name = "consumerId", required = false) String consumerId,
                  RedirectAttributes redirect) {
        Viewer.current().requireAdmin();
        IssuedKey issued = consumers.create(Inputs.consumerId(consumerId));
        redirect.addFlashAttribute("issuedKey", issued);
        redirect.addFlashAttribute("notice", "Consumer " + issued.consumerId() + " created with its first key.");
        return "redirect:/console/consumers/" + issued.consumerId();
    }

    @PostMapping("/console/consumers/{consumerId}/keys")
    String rotate(@PathVariable String consumerId, @RequestParam(required = false) String overlap,
                  RedirectAttributes redirect) {
        Viewer.current().requireAdmin();
        Duration kept = Inputs.blank(overlap) ? defaultOverlap : overlap(overlap);
        IssuedKey issued = consumers.rotate(Inputs.consumerId(consumerId), kept);
        redirect.addFlashAttribute("issuedKey", issued);
        redirect.addFlashAttribute("notice", kept.isZero() ? "New key issued; the previous keys stopped working now."
                : "New key issued; the previous keys keep working until "
                + Display.time(Display.parse(issued.previousKeysExpireAt())) + ".");
        return "redirect:/console/consumers/" + issued.consumerId();
    }

    @PostMapping("/console/consumers/{consumerId}/keys/{keyId}/revoke")
    String revoke(@PathVariable String consumerId, @PathVariable String keyId, RedirectAttributes redirect) {
        Viewer.current().requireAdmin();
        ConsumerId id = Inputs.consumerId(consumerId);
        consumers.revoke(id, keyId);
        redirect.addFlashAttribute("notice", "Key " + keyId + " revoked: it opens nothing any more.");
        return "redirect:/console/consumers/" + id.value();
    }

    private Optional<JobRow> lastExport(String consumer) {
        return jobs.list(Optional.of(new ConsumerId(consumer)), Optional.of(JobStatus.COMPLETED), 1, Optional.empty())
                .jobs().stream().findFirst().map(rows::of);
    }

    /** The longest wait among the consumer's tables. */
    private String worstLag(String consumer) {
        double worst = -1;
        for (Watermark w : watermarks.findAll(new ConsumerId(consumer))) {
            Optional<Gauges.Pending> pending = gauges.pending(consumer, w.table().qualified());
            if (pending.isPresent()) {
                worst = Math.max(worst, pending.get().changes() == 0 ? 0 : pending.get().oldestSeconds());
            }
        }
        return worst < 0 ? "" : worst == 0 ? "up to date" : Display.duration(seconds(worst));
    }

    private List<Overlap> overlaps() {
        List<Duration> choices = new ArrayList<>(OVERLAPS);
        if (!choices.contains(defaultOverlap)) {
            choices.add(defaultOverlap);
            choices.sort(Duration::compareTo);
        }
        return choices.stream().map(d -> new Overlap(d.toString(), (d.isZero() ? "none: end the previous keys now"
                : Display.duration(d)) + (d.equals(defaultOverlap) ? " (KEY_ROTATION_OVERLAP)" : ""),
                d.equals(defaultOverlap))).toList();
    }

    private static Duration overlap(String text) {
        try {
            Duration overlap = Duration.parse(text);
            if (!overlap.isNegative() && overlap.compareTo(MAX_OVERLAP) <= 0) {
                return overlap;
            }
        } catch (RuntimeException e) {
            // answered below
        }
        throw new ConsoleErrors.BadInput("The overlap must be a duration between 0 and 30 days, such as PT1H");
    }

    private static String condition(FilterCondition c) {
        String value = c.values() != null ? "(" + String.join(", ", c.values()) + ")" : c.value() == null ? "" : c.value();
        return (c.column() + " " + c.op() + " " + value).strip();
    }

    private static Duration seconds(double seconds) {
        return Duration.ofMillis((long) (seconds * 1000));
    }

}
