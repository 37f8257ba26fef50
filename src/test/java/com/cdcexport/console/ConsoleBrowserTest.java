package com.cdcexport.console;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.openqa.selenium.By;
import org.openqa.selenium.Cookie;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.Select;

import org.springframework.test.context.TestPropertySource;

import com.cdcexport.support.Api;
import com.cdcexport.support.IntegrationTest;
import com.cdcexport.support.TestDatabase;
import com.cdcexport.support.UsersTableLock;

/**
 * The console in a real browser (headless Chromium): what an operator does, clicked through, with the outcomes
 * checked in the page and in the database. The last test spends this address's allowance of bad tokens.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@TestPropertySource(properties = {
        "cdc.auth.mode=api-key",
        "cdc.auth.admin-token=" + ConsoleBrowserTest.ADMIN_TOKEN,
        "cdc.auth.failures-per-minute=" + ConsoleBrowserTest.FAILURES_PER_MINUTE,
        "server.forward-headers-strategy=native"})
class ConsoleBrowserTest extends IntegrationTest {

    static final String ADMIN_TOKEN = "console-admin-token-5d1e9b7c3a2f4e6d8c0b1a2f3e4d5c6b";
    static final int FAILURES_PER_MINUTE = 5;
    private static final By JOB_STATUS = By.cssSelector("#job-live .status");

    private static Browser browser;
    /** Consumers are not reset between tests (or runs on one database): each test names its own. */
    private final String run = UUID.randomUUID().toString().substring(0, 6);

    @BeforeEach
    void freshBrowserSession() throws IOException {
        if (browser == null) {
            browser = Browser.open(port);
        }
        browser.driver().manage().deleteAllCookies();
    }

    @AfterAll
    static void closeBrowser() throws IOException {
        if (browser != null) {
            browser.close();
            browser = null;
        }
    }

    @Test
    @Order(1)
    void anExportStartedInTheConsoleShowsItsProgressLiveUntilOneHundredPercentAndItsFileDownloads() throws Exception {
        TestDatabase.resetWithUsers(5_000);
        browser.signIn(ADMIN_TOKEN);
        assertThat(browser.path()).isEqualTo("/console/jobs");

        String jobId;
        try (UsersTableLock lock = UsersTableLock.acquire()) {
            jobId = startExport("analytics-" + run, "full", "public.users");
            browser.awaitText(JOB_STATUS, "running");
            markPage();
            lock.release();
            // No reload: the page's own script swaps in the finished job.
            browser.awaitText(JOB_STATUS, "completed");
        }
        assertThat(pageWasNotReloaded()).isTrue();
        assertThat(browser.present(By.id("cancel-job"))).as("nothing left to cancel").isFalse();
        assertThat(browser.text(By.cssSelector("#job-live .pct"))).isEqualTo("100.0 %");
        assertThat(browser.text(By.cssSelector("#job-live dl"))).contains("5,000 of 5,000 rows", "rows/s");

        String filename = (String) jobRow(jobId).get("output_filename");
        browser.click(By.cssSelector("#job-live a[download]"));
        Path downloaded = browser.awaitDownload(filename);
        assertThat(Files.readAllBytes(downloaded)).isEqualTo(Files.readAllBytes(OUTPUT_DIR.resolve(filename)));
        assertThat(readCsv(downloaded)).hasSize(5_001);
        browser.screenshot(Path.of("target/console-job.png"), 1360, 900);

        browser.go("/console/jobs");
        WebElement row = browser.driver().findElement(By.id("job-" + jobId));
        assertThat(row.getText()).contains("completed", "full", "analytics-" + run, "public.users", "100.0 %");
    }

    @Test
    @Order(2)
    void cancellingARunningJobFromItsPageStopsItWithoutAFile() throws Exception {
        TestDatabase.resetWithUsers(1_000);
        browser.signIn(ADMIN_TOKEN);
        String jobId;
        try (UsersTableLock lock = UsersTableLock.acquire()) {
            jobId = startExport("search-" + run, "full", "public.users");
            browser.awaitText(JOB_STATUS, "running");
            browser.navigate(By.id("cancel-job"));
            browser.awaitText(JOB_STATUS, "cancelled");
            assertThat(browser.text(By.cssSelector(".notice"))).contains("Job cancelled");
            assertThat(browser.present(By.id("cancel-job"))).as("nothing left to cancel").isFalse();
        }
        assertThat(awaitJob(jobId)).isEqualTo("cancelled");
        assertThat(outputFiles()).isEmpty();
    }

    @Test
    @Order(3)
    void keysCreatedAndRotatedInTheConsoleAreShownOnceAndARevokedKeyStopsWorking() throws Exception {
        String consumer = "billing-" + run;
        browser.signIn(ADMIN_TOKEN);
        browser.go("/console/consumers");
        browser.driver().findElement(By.id("new-consumer")).sendKeys(consumer);
        browser.navigate(By.xpath("//button[normalize-space()='Create consumer']"));
        assertThat(browser.path()).isEqualTo("/console/consumers/" + consumer);
        String firstKey = shownKey();

        new Select(browser.driver().findElement(By.id("overlap"))).selectByValue("PT1H");
        browser.navigate(By.id("rotate-key"));
        String newKey = shownKey();
        assertThat(newKey).isNotEqualTo(firstKey);
        assertThat(browser.pageText()).contains("shown this once", "keep working until");
        assertThat(api.send("GET", "/exports/jobs", bearer(newKey), null).status()).isEqualTo(200);
        assertThat(api.send("GET", "/exports/jobs", bearer(firstKey), null).status())
                .as("the previous key works during the overlap").isEqualTo(200);
        assertThat(browser.driver().findElements(By.cssSelector("table.keys tbody tr"))).hasSize(2);
        browser.screenshot(Path.of("target/console-consumer.png"), 1360, 1100);

        browser.driver().navigate().refresh();
        assertThat(browser.present(By.id("new-key-value"))).as("shown once: gone after a reload").isFalse();
        assertThat(browser.driver().getPageSource()).doesNotContain(newKey).doesNotContain(firstKey);

        String firstKeyId = browser.driver().findElements(By.cssSelector("table.keys tbody tr td.mono")).get(0).getText();
        browser.navigate(By.cssSelector("#key-" + firstKeyId + " button"));
        assertThat(browser.text(By.cssSelector(".notice"))).contains("revoked");
        assertThat(browser.text(By.id("key-" + firstKeyId))).contains("revoked");
        assertThat(api.send("GET", "/exports/jobs", bearer(firstKey), null).status()).isEqualTo(401);
        assertThat(api.send("GET", "/exports/jobs", bearer(newKey), null).status()).isEqualTo(200);
    }

    @Test
    @Order(4)
    void aConsumersSessionSeesOnlyItsOwnJobsAndConsumer() {
        TestDatabase.resetWithUsers(10);
        String alice = "alice-" + run;
        String bob = "bob-" + run;
        Api.Response aliceCreated = createConsumerResponse(alice);
        String aliceKey = aliceCreated.field("apiKey");
        String aliceKeyId = aliceCreated.field("keyId");
        String bobKey = createConsumer(bob);
        String bobJob = api.send("POST", "/exports/full", bearer(bobKey), null).field("jobId");
        assertThat(awaitJob(bobJob)).isEqualTo("completed");

        browser.signIn(aliceKey);
        assertThat(browser.pageText()).contains("Signed in as consumer " + alice);
        String aliceJob = startExport(null, "full", "public.users");
        browser.awaitText(JOB_STATUS, "completed");
        assertThat(jobRow(aliceJob).get("consumer_id")).isEqualTo(alice);

        browser.go("/console/jobs");
        assertThat(browser.present(By.id("job-" + aliceJob))).isTrue();
        assertThat(browser.present(By.id("job-" + bobJob))).isFalse();
        browser.go("/console/jobs?consumer=" + bob);
        assertThat(browser.present(By.id("job-" + bobJob))).as("the consumer filter cannot widen a session").isFalse();

        browser.go("/console/jobs/" + bobJob);
        assertThat(browser.title()).startsWith("Not found");
        assertThat(browser.fetchStatus("GET", "/console/jobs/" + bobJob)).isEqualTo(404);
        assertThat(browser.fetchStatus("GET", "/console/jobs/" + bobJob + "/files/0")).isEqualTo(404);
        assertThat(browser.fetchStatus("GET", "/console/consumers/" + bob)).isEqualTo(404);
        assertThat(browser.fetchStatus("GET", "/console/health")).isEqualTo(403);
        browser.go("/console/consumers");
        assertThat(browser.path()).isEqualTo("/console/consumers/" + alice);
        assertThat(browser.present(By.id("rotate-key"))).as("keys are the administrator's").isFalse();
        assertThat(browser.text(By.cssSelector("section[aria-labelledby=watermarks-heading] tbody")))
                .contains("public.users").contains("never exported"); // app.* tables: none yet
        assertThat(browser.text(By.cssSelector("section[aria-labelledby=watermarks-heading]")))
                .contains("Last completed export: full");
        assertThat(browser.text(By.cssSelector("table.keys tbody"))).contains("active");

        // Revoking the key a session signed in with ends that session at its next request.
        api.send("DELETE", "/consumers/" + alice + "/keys/" + aliceKeyId, bearer(ADMIN_TOKEN), null);
        browser.go("/console/jobs");
        assertThat(browser.path()).startsWith("/console/sign-in");
        assertThat(browser.pageText()).contains("Your session ended");
    }

    @Test
    @Order(5)
    void aChangeWithoutTheCsrfTokenIsRefusedAndChangesNothing() {
        browser.signIn(ADMIN_TOKEN);
        browser.go("/console/jobs");
        ((JavascriptExecutor) browser.driver()).executeScript(
                "document.querySelectorAll('input[name=_csrf]').forEach(e => e.remove())");
        browser.driver().findElement(By.id("start-consumer")).sendKeys("forged-" + run);
        browser.navigate(By.xpath("//button[normalize-space()='Start export']"));

        assertThat(browser.title()).startsWith("Refused");
        assertThat(browser.pageText()).contains("403", "security token");
        assertThat(browser.fetchStatus("POST", "/console/exports?type=full&consumer=forged-" + run)).isEqualTo(403);
        assertThat(jdbc.queryForObject("SELECT count(*) FROM export_jobs", Long.class)).isZero();
    }

    @Test
    @Order(6)
    void theSessionCookieIsHttpOnlyStrictAndScopedToTheConsoleAndSignOutEndsIt() {
        browser.signIn(ADMIN_TOKEN);
        Cookie session = browser.driver().manage().getCookieNamed("CDC_CONSOLE_SESSION");
        assertThat(session).isNotNull();
        assertThat(session.isHttpOnly()).isTrue();
        assertThat(session.getSameSite()).isEqualTo("Strict");
        assertThat(session.getPath()).isEqualTo("/console");
        assertThat(browser.driver().getCurrentUrl()).doesNotContain(ADMIN_TOKEN).doesNotContainIgnoringCase("jsessionid");

        browser.go("/console/nowhere/at-all");
        assertThat(browser.title()).startsWith("Not found");
        assertThat(browser.fetchStatus("GET", "/console/nowhere")).isEqualTo(404);
        assertThat(browser.fetchStatus("GET", "/console/assets/console.css")).isEqualTo(200);

        browser.signOut();
        assertThat(browser.path()).startsWith("/console/sign-in");
        assertThat(browser.pageText()).contains("You have signed out");
        browser.go("/console/jobs");
        assertThat(browser.path()).as("signed out: back to the sign-in page").startsWith("/console/sign-in");
    }

    @Test
    @Order(7)
    void theHealthPageShowsChecksQueueInstancesAndCapturedTables() throws Exception {
        browser.signIn(ADMIN_TOKEN);
        browser.go("/console/health");
        browser.awaitText(By.id("instances-heading"), "Instances");
        String page = browser.pageText();
        assertThat(page).contains("db", "exportOutput", "UP", "Queued", "public.users", "app.orders");
        assertThat(browser.text(By.cssSelector("section[aria-labelledby=instances-heading] tbody")))
                .contains("alive", "(this one)");
        browser.screenshot(Path.of("target/console-health.png"), 1360, 1100);
    }

    /** Also docs/operations.md's screenshot: -Dconsole.screenshot.docs=true copies it to docs/console.png. */
    @Test
    @Order(8)
    void theJobsListShowsJobsOfEveryStateAndFiltersThem() throws Exception {
        TestDatabase.resetWithUsers(10_000);
        jdbc.update("INSERT INTO app.orders (id, customer, total, status) SELECT g, 'customer ' || g, g * 1.5, 'paid' "
                + "FROM generate_series(1, 500) AS g");
        browser.signIn(ADMIN_TOKEN);
        String analytics = startExport("analytics", "full", "public.users");
        browser.awaitText(JOB_STATUS, "completed");
        String billing = startExport("billing", "delta", "app.orders", "app.order_lines");
        browser.awaitText(JOB_STATUS, "completed");
        try (UsersTableLock lock = UsersTableLock.acquire()) {
            String search = startExport("search", "incremental", "public.users");
            browser.awaitText(JOB_STATUS, "running");
            browser.navigate(By.id("cancel-job"));
            browser.awaitText(JOB_STATUS, "cancelled");
            String warehouse = startExport("warehouse", "full", "public.users");
            browser.awaitText(JOB_STATUS, "running");

            browser.go("/console/jobs");
            browser.awaitText(By.id("job-" + warehouse), "running");
            assertThat(browser.text(By.id("job-" + analytics))).contains("completed", "10,000 of 10,000 rows");
            assertThat(browser.text(By.id("job-" + billing))).contains("completed", "app.orders", "app.order_lines");
            assertThat(browser.text(By.id("job-" + search))).contains("cancelled", "Cancelled on request");
            Path screenshot = Path.of("target/console.png");
            browser.screenshot(screenshot, 1360, 780);
            if (Boolean.getBoolean("console.screenshot.docs")) {
                Files.copy(screenshot, Path.of("docs/console.png"), StandardCopyOption.REPLACE_EXISTING);
            }

            browser.go("/console/jobs?status=completed&type=delta");
            assertThat(browser.present(By.id("job-" + billing))).isTrue();
            assertThat(browser.driver().findElements(By.cssSelector("#jobs-live tbody tr"))).hasSize(1);
            browser.go("/console/jobs?consumer=search");
            assertThat(browser.driver().findElements(By.cssSelector("#jobs-live tbody tr"))).hasSize(1);
            assertThat(browser.present(By.id("job-" + search))).isTrue();
        }
    }

    @Test
    @Order(9)
    void theSessionCookieIsSecureOverTlsAndTheApiStaysStatelessAndClosedToSessions() throws Exception {
        HttpClient client = HttpClient.newHttpClient();
        ConsoleClient viaTlsProxy = new ConsoleClient(port, null).viaTls();
        HttpResponse<String> signInPage = viaTlsProxy.get("/console/sign-in");
        assertThat(ConsoleClient.setCookie(signInPage, ConsoleClient.SESSION_COOKIE)).as("no session before sign-in")
                .isNull();
        assertThat(ConsoleClient.setCookie(signInPage, ConsoleCsrfTokens.COOKIE))
                .contains("Path=/console/sign-in", "Secure", "HttpOnly", "SameSite=Strict");
        HttpResponse<String> signedIn = viaTlsProxy.post("/console/sign-in",
                Map.of("token", ADMIN_TOKEN, "_csrf", ConsoleClient.csrf(signInPage.body())));
        assertThat(ConsoleClient.setCookie(signedIn, ConsoleClient.SESSION_COOKIE))
                .contains("Path=/console", "Secure", "HttpOnly", "SameSite=Strict");
        viaTlsProxy.signOut();
        ConsoleClient plain = new ConsoleClient(port, null);
        HttpResponse<String> plainPage = plain.get("/console/sign-in");
        assertThat(ConsoleClient.setCookie(plainPage, ConsoleCsrfTokens.COOKIE)).doesNotContain("Secure");
        assertThat(ConsoleClient.setCookie(plain.signIn(ADMIN_TOKEN), ConsoleClient.SESSION_COOKIE))
                .doesNotContain("Secure");
        plain.signOut();
        assertThat(plainPage.headers().firstValue("Content-Security-Policy")).get().asString()
                .contains("script-src 'self'", "frame-ancestors 'none'");

        String key = createConsumer("stateless-" + run);
        Api.Response jobs = api.send("GET", "/exports/jobs", bearer(key), null);
        assertThat(jobs.status()).isEqualTo(200);
        assertThat(jobs.header("Set-Cookie")).as("the API never opens a session").isNull();
        HttpResponse<String> bearerOnConsole = client.send(HttpRequest.newBuilder(URI.create(browser.url(
                "/console/jobs"))).header("Authorization", "Bearer " + ADMIN_TOKEN).build(), BodyHandlers.ofString());
        assertThat(bearerOnConsole.statusCode()).as("the console opens with a session only").isEqualTo(302);
        assertThat(bearerOnConsole.headers().firstValue("Location")).get().asString().endsWith("/console/sign-in");
        HttpResponse<String> apiDocs = client.send(HttpRequest.newBuilder(URI.create(browser.url("/v3/api-docs")))
                .build(), BodyHandlers.ofString());
        assertThat(apiDocs.body()).as("the console is no part of the API's description").doesNotContain("/console");
    }

    @Test
    @Order(100)
    void wrongTokensAreThrottledLikeTheApi() {
        for (int i = 1; i <= FAILURES_PER_MINUTE; i++) {
            browser.signIn("cdc_wrong-token-number-" + i + "-0123456789abcdef0123456789");
            assertThat(browser.text(By.cssSelector(".error"))).as("attempt %d", i).contains("not valid");
        }
        browser.signIn(ADMIN_TOKEN);
        assertThat(browser.text(By.cssSelector(".error"))).contains("Too many sign-in attempts");
        assertThat(browser.path()).startsWith("/console/sign-in");
        long status = ((Number) ((JavascriptExecutor) browser.driver()).executeAsyncScript(
                "const done = arguments[arguments.length - 1];"
                        + "const form = document.querySelector('form[method=post]');"
                        + "const body = new URLSearchParams(new FormData(form)); body.set('token', arguments[0]);"
                        + "fetch(form.action, {method: 'POST', body: body, credentials: 'same-origin'})"
                        + ".then(r => done(r.status), e => done(-1));", ADMIN_TOKEN)).longValue();
        assertThat(status).isEqualTo(429);
    }

    /** The detail behind a failed job's error (PostgreSQL's own text) is the admin's; its consumer sees the message. */
    @Test
    @Order(10)
    void aFailedJobsPageShowsTheAdminTheDetailBehindItsError() {
        String dave = "dave-" + run;
        String daveKey = createConsumer(dave);
        String jobId = UUID.randomUUID().toString();
        jdbc.update("""
                INSERT INTO export_jobs (id, consumer_id, export_type, status, output_filename, tables, files,
                                         instance_id, heartbeat_at, created_at, started_at, finished_at, attempts,
                                         error, error_detail)
                VALUES (?::uuid, ?, 'full', 'failed', ?, ARRAY['app.orders'],
                        jsonb_build_array(jsonb_build_object('table', 'app.orders', 'filename', ?::text)),
                        'elsewhere', now(), now(), now(), now(), 1, 'A table of this export changed its shape',
                        'ERROR: column t.status does not exist')""",
                jobId, dave, "full_" + dave + ".csv", "full_" + dave + ".csv");

        browser.signIn(ADMIN_TOKEN);
        browser.go("/console/jobs/" + jobId);
        assertThat(browser.pageText()).contains("A table of this export changed its shape");
        assertThat(browser.text(By.id("error-detail"))).isEqualTo("ERROR: column t.status does not exist");

        browser.signOut();
        browser.signIn(daveKey);
        browser.go("/console/jobs/" + jobId);
        assertThat(browser.pageText()).contains("A table of this export changed its shape")
                .doesNotContain("does not exist");
        assertThat(browser.present(By.id("error-detail"))).isFalse();
    }

    /** Fills in the console's start form and returns the new job's id, from the job page it leads to. */
    private String startExport(String consumer, String type, String... tables) {
        browser.go("/console/jobs");
        if (consumer != null) {
            WebElement field = browser.driver().findElement(By.id("start-consumer"));
            field.clear();
            field.sendKeys(consumer);
        }
        new Select(browser.driver().findElement(By.id("start-type"))).selectByValue(type);
        for (WebElement box : browser.driver().findElements(By.cssSelector("input[name=table]"))) {
            if (box.isSelected() != List.of(tables).contains(box.getDomProperty("value"))) {
                box.click();
            }
        }
        browser.navigate(By.xpath("//button[normalize-space()='Start export']"));
        browser.awaitPath("/console/jobs/[0-9a-f-]{36}");
        return browser.path().substring("/console/jobs/".length());
    }

    private String createConsumer(String consumer) {
        return createConsumerResponse(consumer).field("apiKey");
    }

    private Api.Response createConsumerResponse(String consumer) {
        Api.Response created = api.send("POST", "/consumers", bearer(ADMIN_TOKEN),
                "{\"consumerId\":\"" + consumer + "\"}");
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        return created;
    }

    /** The key on the page a key change led to: 256 random bits behind the cdc_ prefix. */
    private String shownKey() {
        String key = browser.driver().findElement(By.id("new-key-value")).getDomProperty("value");
        assertThat(key).startsWith("cdc_").hasSizeGreaterThan(40);
        return key;
    }

    private void markPage() {
        ((JavascriptExecutor) browser.driver()).executeScript("window.consoleTestMark = true");
    }

    private boolean pageWasNotReloaded() {
        return Boolean.TRUE.equals(((JavascriptExecutor) browser.driver())
                .executeScript("return window.consoleTestMark === true"));
    }

    private static Map<String, String> bearer(String key) {
        return Map.of("Authorization", "Bearer " + key);
    }
}
