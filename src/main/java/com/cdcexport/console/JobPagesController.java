package com.cdcexport.console;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import jakarta.servlet.http.HttpServletResponse;

import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.core.io.Resource;
import org.springframework.http.ContentDisposition;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.MediaTypeFactory;
import org.springframework.http.ResponseEntity;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.servlet.mvc.support.RedirectAttributes;
import org.springframework.web.util.UriComponentsBuilder;

import com.cdcexport.auth.ConsumerService;
import com.cdcexport.consumer.ConsumerId;
import com.cdcexport.export.access.TableAccessStore;
import com.cdcexport.export.capture.CapturedTables;
import com.cdcexport.export.format.ExportFormat;
import com.cdcexport.export.job.ExportJob;
import com.cdcexport.export.job.ExportJobService;
import com.cdcexport.export.job.JobCursor;
import com.cdcexport.export.job.JobPage;
import com.cdcexport.export.job.JobStatus;
import com.cdcexport.export.job.JobView;
import com.cdcexport.export.model.ExportType;
import com.cdcexport.export.model.TableName;

/**
 * The jobs pages: a filtered list that refreshes itself while jobs run, one job with its files, downloads,
 * cancelling, and starting an export. A consumer's session sees only that consumer's jobs; another consumer's job
 * is answered like a missing one.
 */
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
@Controller
class JobPagesController {

    static final int PAGE_SIZE = 50;
    /** The header that tells the page's script an answer is the fragment it asked for, not a sign-in page. */
    static final String FRAGMENT_HEADER = "X-Console-Fragment";

    private final ExportJobService jobs;
    private final JobRows rows;
    private final CapturedTables captured;
    private final TableAccessStore access;
    private final ConsumerService consumers;

    JobPagesController(ExportJobService jobs, JobRows rows, CapturedTables captured, TableAccessStore access,
                   ConsumerService consumers) {
        this.jobs = jobs;
        this.rows = rows;
        this.captured = captured;
        this.access = access;
        this.consumers = consumers;
    }

    @GetMapping("/console/jobs")
    String list(@RequestParam(required = false) String status, @RequestParam(required = false) String consumer,
                @RequestParam(required = false) String type, @RequestParam(required = false) String cursor,
                Model model) {
        Viewer viewer = Viewer.current();
        addRows(viewer, status, consumer, type, cursor, model);
        model.addAttribute("statuses", Arrays.stream(JobStatus.values()).map(JobStatus::slug).toList());
        model.addAttribute("types", Arrays.stream(ExportType.values()).map(ExportType::slug).toList());
        model.addAttribute("tables", captured.all().stream().map(TableName::qualified).toList());
        model.addAttribute("formats", Arrays.stream(ExportFormat.values()).map(ExportFormat::slug).toList());
        model.addAttribute("consumers", viewer.admin()
                ? consumers.list().stream().map(ConsumerService.ConsumerView::consumerId).toList()
                : List.of(viewer.consumerId()));
        return "console/jobs";
    }

    /** The list's table alone, for the page's script to swap in while jobs run. */
    @GetMapping("/console/jobs/rows")
    String rows(@RequestParam(required = false) String status, @RequestParam(required = false) String consumer,
                @RequestParam(required = false) String type, @RequestParam(required = false) String cursor,
                Model model, HttpServletResponse response) {
        addRows(Viewer.current(), status, consumer, type, cursor, model);
        response.setHeader(FRAGMENT_HEADER, "rows");
        return "console/jobs :: rows";
    }

    @GetMapping("/console/jobs/{jobId}")
    String job(@PathVariable UUID jobId, Model model) {
        model.addAttribute("job", rows.of(visibleJob(jobId)));
        addErrorDetail(jobId, model);
        return "console/job";
    }

    @GetMapping("/console/jobs/{jobId}/summary")
    String summary(@PathVariable UUID jobId, Model model, HttpServletResponse response) {
        model.addAttribute("job", rows.of(visibleJob(jobId)));
        addErrorDetail(jobId, model);
        response.setHeader(FRAGMENT_HEADER, "summary");
        return "console/job :: summary";
    }

    /** The admin also sees what a failed job's consumer is not told: the database's or file system's own message. */
    private void addErrorDetail(UUID jobId, Model model) {
        if (Viewer.current().admin()) {
            jobs.errorDetail(jobId).ifPresent(detail -> model.addAttribute("errorDetail", detail));
        }
    }

    @GetMapping("/console/jobs/{jobId}/files/{index}")
    ResponseEntity<Resource> file(@PathVariable UUID jobId, @PathVariable int index) {
        JobView job = completedJob(jobId);
        if (index < 0 || index >= job.files().size()) {
            throw ConsoleErrors.NotFound.hidden("such file");
        }
        return download(job.files().get(index).filename());
    }

    @GetMapping("/console/jobs/{jobId}/manifest")
    ResponseEntity<Resource> manifest(@PathVariable UUID jobId) {
        JobView job = completedJob(jobId);
        return download(rows.manifestOf(job).orElseThrow(() -> ConsoleErrors.NotFound.hidden("manifest")));
    }

    @PostMapping("/console/jobs/{jobId}/cancel")
    String cancel(@PathVariable UUID jobId, RedirectAttributes redirect) {
        visibleJob(jobId);
        try {
            jobs.cancel(jobId);
            redirect.addFlashAttribute("notice", "Job cancelled: it leaves no file and moves no watermark.");
        } catch (ExportJobService.JobFinishedException e) {
            redirect.addFlashAttribute("error", e.getMessage());
        }
        return "redirect:/console/jobs/" + jobId;
    }

    /** Starts an export as the API's POST /exports/{type} would, for the signed-in consumer or, by the admin, any. */
    @PostMapping("/console/exports")
    String start(@RequestParam String type, @RequestParam(required = false) String consumer,
                 @RequestParam(required = false) String format,
                 @RequestParam(name = "table", required = false) List<String> tables, RedirectAttributes redirect) {
        Viewer viewer = Viewer.current();
        ExportType exportType = ExportType.fromSlug(type)
                .orElseThrow(() -> new ConsoleErrors.BadInput("The export type must be full, incremental or delta"));
        Optional<ExportFormat> wantedFormat = Inputs.blank(format) ? Optional.empty() : Optional.of(ExportFormat
                .fromSlug(format).orElseThrow(() -> new ConsoleErrors.BadInput("The format must be one of "
                        + ExportFormat.names())));
        ConsumerId target = viewer.consumer().orElseGet(() -> Inputs.consumerId(consumer));
        List<TableName> names = new ArrayList<>();
        for (String table : tables == null || tables.isEmpty() ? List.of(TableName.USERS.qualified()) : tables) {
            TableName name = TableName.parse(table).filter(captured::isCaptured)
                    .orElseThrow(() -> new ConsoleErrors.BadInput("Not a captured table: " + Inputs.shorten(table)));
            if (!names.contains(name)) {
                names.add(name);
            }
        }
        try {
            for (TableName name : names) {
                access.accessOf(target, name);
            }
            // A consumer's own request counts against its EXPORTS_PER_HOUR, as through the API; the admin's does not.
            ExportJob job = viewer.admin() ? jobs.submit(exportType, wantedFormat, target, names)
                    : jobs.request(exportType, wantedFormat, target, names);
            redirect.addFlashAttribute("notice", "Export started.");
            return "redirect:/console/jobs/" + job.id();
        } catch (ExportJobService.ConsumerBusyException e) {
            redirect.addFlashAttribute("error", e.getMessage());
            return "redirect:/console/jobs/" + e.activeJobId();
        } catch (ExportJobService.QueueFullException | ExportJobService.ExportRateLimitedException
                 | TableAccessStore.TableNotAllowedException e) {
            redirect.addFlashAttribute("error", e instanceof TableAccessStore.TableNotAllowedException refused
                    ? refused.getBody().getDetail() : e.getMessage());
            return "redirect:/console/jobs";
        }
    }

    private void addRows(Viewer viewer, String status, String consumer, String type, String cursor, Model model) {
        Optional<JobStatus> wantedStatus = Inputs.blank(status) ? Optional.empty() : Optional.of(Arrays
                .stream(JobStatus.values()).filter(s -> s.slug().equals(status)).findFirst()
                .orElseThrow(() -> new ConsoleErrors.BadInput("Unknown status: " + Inputs.shorten(status))));
        Optional<ExportType> wantedType = Inputs.blank(type) ? Optional.empty() : Optional.of(ExportType.fromSlug(type)
                .orElseThrow(() -> new ConsoleErrors.BadInput("Unknown export type: " + Inputs.shorten(type))));
        Optional<ConsumerId> wantedConsumer = viewer.consumer()
                .or(() -> Inputs.blank(consumer) ? Optional.empty() : Optional.of(Inputs.consumerId(consumer)));
        Optional<JobCursor> after;
        try {
            after = Inputs.blank(cursor) ? Optional.empty() : Optional.of(JobCursor.decode(cursor));
        } catch (IllegalArgumentException e) {
            throw new ConsoleErrors.BadInput("That link to older jobs is not valid");
        }
        JobPage page = jobs.list(wantedConsumer, wantedStatus, wantedType, PAGE_SIZE, after);
        List<JobRow> shown = page.jobs().stream().map(rows::of).toList();

        Map<String, String> filters = new LinkedHashMap<>();
        filters.put("status", wantedStatus.map(JobStatus::slug).orElse(""));
        filters.put("consumer", viewer.admin() ? wantedConsumer.map(ConsumerId::value).orElse("") : "");
        filters.put("type", wantedType.map(ExportType::slug).orElse(""));
        model.addAttribute("filter", filters);
        model.addAttribute("jobs", shown);
        model.addAttribute("active", shown.stream().anyMatch(JobRow::active));
        model.addAttribute("liveUrl", link("/console/jobs/rows", filters, cursor));
        model.addAttribute("olderUrl", page.nextCursor() == null ? null
                : link("/console/jobs", filters, page.nextCursor()));
        model.addAttribute("filtered", wantedStatus.isPresent() || wantedType.isPresent()
                || (viewer.admin() && wantedConsumer.isPresent()) || after.isPresent());
    }

    private static String link(String path, Map<String, String> filters, String cursor) {
        UriComponentsBuilder uri = UriComponentsBuilder.fromPath(path);
        filters.forEach((name, value) -> {
            if (!value.isEmpty()) {
                uri.queryParam(name, value);
            }
        });
        if (!Inputs.blank(cursor)) {
            uri.queryParam("cursor", cursor);
        }
        return uri.encode().build().toUriString();
    }

    private JobView visibleJob(UUID jobId) {
        Viewer viewer = Viewer.current();
        return jobs.find(jobId).filter(job -> viewer.maySee(job.consumerId()))
                .orElseThrow(() -> ConsoleErrors.NotFound.hidden("job " + jobId));
    }

    private JobView completedJob(UUID jobId) {
        JobView job = visibleJob(jobId);
        if (!job.status().equals(JobStatus.COMPLETED.slug())) {
            throw new ConsoleErrors.NotFound("Job " + jobId + " is " + job.status() + "; its files can be downloaded once it has completed.");
        }
        return job;
    }

    private ResponseEntity<Resource> download(String filename) {
        Resource file = rows.download(filename)
                .orElseThrow(() -> new ConsoleErrors.NotFound("The file " + filename + " is no longer there (retention removes old files)."));
        MediaType type = MediaTypeFactory.getMediaType(filename).orElse(MediaType.APPLICATION_OCTET_STREAM);
        return ResponseEntity.ok()
                .contentType(type)
                .header(HttpHeaders.CONTENT_DISPOSITION, ContentDisposition.attachment().filename(filename).build()
                        .toString())
                .body(file);
    }
}
