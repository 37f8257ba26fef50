package com.cdcexport.console;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.health.contributor.CompositeHealthContributor;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthContributor;
import org.springframework.boot.health.contributor.HealthContributors;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.registry.HealthContributorRegistry;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.GetMapping;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.export.capture.CapturedTables;
import com.cdcexport.export.job.InstanceHeartbeats;
import com.cdcexport.export.job.JobStatus;

/**
 * The administrator's view of the service: every health check the actuator runs (database, output directory,
 * and whatever else is registered, such as a bucket), the shared queue, the instances seen through their
 * heartbeats, and the captured tables.
 */
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
@Controller
class HealthPageController {

    private final HealthContributorRegistry health;
    private final InstanceHeartbeats instances;
    private final CapturedTables captured;
    private final Gauges gauges;
    private final CdcProperties properties;
    private final Clock clock;

    HealthPageController(HealthContributorRegistry health, InstanceHeartbeats instances, CapturedTables captured,
                         Gauges gauges, CdcProperties properties, Clock clock) {
        this.health = health;
        this.instances = instances;
        this.captured = captured;
        this.gauges = gauges;
        this.properties = properties;
        this.clock = clock;
    }

    record Check(String name, String status, boolean up, String details) {
    }

    record InstanceRow(String id, boolean self, String state, boolean alive, String started, String lastHeartbeat,
                       long runningJobs) {
    }

    record TableRow(String table, boolean createdByService, String capture) {
    }

    /** @param lag a standby's replay lag, in words; empty for the primary */
    record ReadRow(String database, String lag, long exports) {
    }

    @GetMapping("/console/health")
    String page(Model model) {
        List<Check> checks = new ArrayList<>();
        for (HealthContributors.Entry entry : health) {
            addChecks(entry.name(), entry.contributor(), checks);
        }
        Instant now = clock.instant();
        Duration staleAfter = properties.jobs().staleAfter();
        List<InstanceRow> seen = instances.all().stream().map(i -> {
            Duration silent = Duration.between(i.heartbeatAt(), now);
            boolean alive = i.stoppedAt() == null && silent.compareTo(staleAfter) <= 0;
            String state = i.stoppedAt() != null ? "stopped"
                    : alive ? "alive" : "silent for " + Display.duration(silent);
            return new InstanceRow(i.id(), i.id().equals(instances.self()), state, alive, Display.time(i.startedAt()),
                    Display.duration(silent) + " ago", i.runningJobs());
        }).toList();

        model.addAttribute("checks", checks);
        model.addAttribute("allUp", checks.stream().allMatch(Check::up));
        model.addAttribute("queued", gauges.jobs(JobStatus.QUEUED.slug()));
        model.addAttribute("running", gauges.jobs(JobStatus.RUNNING.slug()));
        model.addAttribute("queueCapacity", properties.jobs().queueCapacity());
        model.addAttribute("workers", properties.jobs().workers());
        model.addAttribute("instances", seen);
        model.addAttribute("staleAfter", Display.duration(staleAfter));
        model.addAttribute("tables", captured.all().stream()
                .map(t -> new TableRow(t.qualified(), captured.createdByService(t),
                        captured.mode(t) == CdcProperties.CaptureMode.LOGICAL ? "WAL (slot " + captured.slot().name()
                                + ")" : "triggers")).toList());
        model.addAttribute("reads", gauges.readDatabases().stream().map(d -> new ReadRow(d.name(),
                d.name().equals("primary") ? "" : Double.isNaN(d.replayLagBytes()) ? "cannot be asked"
                        : Display.bytes((long) d.replayLagBytes()) + " behind", d.exports())).toList());
        return "console/health";
    }

    private static void addChecks(String name, HealthContributor contributor, List<Check> checks) {
        if (contributor instanceof HealthIndicator indicator) {
            Health result = indicator.health(true);
            String status = result.getStatus().getCode();
            checks.add(new Check(name, status, status.equals("UP"), details(result.getDetails())));
        } else if (contributor instanceof CompositeHealthContributor group) {
            for (HealthContributors.Entry entry : group) {
                addChecks(name + "/" + entry.name(), entry.contributor(), checks);
            }
        }
    }

    private static String details(Map<String, Object> details) {
        return details.entrySet().stream().map(e -> e.getKey() + ": " + value(e.getKey(), e.getValue()))
                .collect(Collectors.joining(", "));
    }

    /** Byte counts (disk space, free bytes) as a person reads them. */
    private static String value(String name, Object value) {
        boolean bytes = value instanceof Number && name.toLowerCase(Locale.ROOT)
                .matches(".*(bytes|free|total|threshold).*");
        return bytes ? Display.bytes(((Number) value).longValue()) : String.valueOf(value);
    }
}
