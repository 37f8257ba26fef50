package com.cdcexport.console;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebDriverException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Debian's headless Chromium driven through its chromedriver, both found at fixed paths: nothing is downloaded
 * (Selenium Manager is never asked, since the driver and the browser are given), and a machine without them fails
 * the test with the packages to install instead of skipping it.
 */
final class Browser implements AutoCloseable {

    static final Path CHROMIUM = Path.of(System.getProperty("console.chromium", "/usr/bin/chromium"));
    static final Path CHROMEDRIVER = Path.of(System.getProperty("console.chromedriver", "/usr/bin/chromedriver"));
    private static final Duration WAIT = Duration.ofSeconds(20);

    private final ChromeDriver driver;
    private final String base;
    private final Path profile;
    final Path downloads;

    private Browser(ChromeDriver driver, String base, Path profile, Path downloads) {
        this.driver = driver;
        this.base = base;
        this.profile = profile;
        this.downloads = downloads;
    }

    static Browser open(int port) throws IOException {
        for (Path required : List.of(CHROMIUM, CHROMEDRIVER)) {
            if (!Files.isExecutable(required)) {
                throw new IllegalStateException("The console's browser tests need Chromium and its driver, but "
                        + required + " is missing: install the Debian packages `chromium` and `chromium-driver` "
                        + "(apt-get install -y chromium chromium-driver; .ci/run does this), or point "
                        + "-Dconsole.chromium / -Dconsole.chromedriver at them");
            }
        }
        // Selenium Manager would try to fetch a browser or driver it does not see; both are given, so stay offline.
        System.setProperty("SE_OFFLINE", "true");
        Path profile = Files.createTempDirectory("console-chromium-profile");
        Path downloads = Files.createTempDirectory("console-downloads");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        // Root in CI: no sandbox; and nothing that phones home (updates, sync, safe browsing lists) or needs a GPU.
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-default-apps", "--disable-extensions", "--window-size=1400,1000",
                "--user-data-dir=" + profile);
        options.setExperimentalOption("prefs", Map.of(
                "download.default_directory", downloads.toString(),
                "download.prompt_for_download", false,
                "safebrowsing.enabled", false));
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort()
                .build();
        ChromeDriver driver = new ChromeDriver(service, options);
        driver.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(30));
        return new Browser(driver, "http://localhost:" + port, profile, downloads);
    }

    WebDriver driver() {
        return driver;
    }

    String url(String path) {
        return base + path;
    }

    void go(String path) {
        driver.get(url(path));
    }

    String path() {
        return driver.getCurrentUrl().substring(base.length());
    }

    void signIn(String token) {
        go("/console/sign-in");
        WebElement field = driver.findElement(By.id("token"));
        field.clear();
        field.sendKeys(token);
        WebElement page = driver.findElement(By.tagName("html"));
        field.submit();
        awaitNewPage(page);
    }

    void signOut() {
        navigate(By.xpath("//button[normalize-space()='Sign out']"));
    }

    String title() {
        return driver.getTitle();
    }

    String text(By by) {
        return driver.findElement(by).getText();
    }

    String pageText() {
        return driver.findElement(By.tagName("body")).getText();
    }

    boolean present(By by) {
        return !driver.findElements(by).isEmpty();
    }

    /** A click that stays on the page (a download). */
    void click(By by) {
        driver.findElement(by).click();
    }

    /** A click that leads to another page (a link, a form): returns once that page has replaced this one. */
    void navigate(By by) {
        WebElement page = driver.findElement(By.tagName("html"));
        clickAsItIsNow(by);
        awaitNewPage(page);
    }

    /**
     * Clicks the element {@code by} finds, finding it again when a live update replaced the page around it while
     * Chrome resolved the click (then Chrome reports the node as no longer in the document and nothing is clicked).
     */
    private void clickAsItIsNow(By by) {
        for (int attempt = 1; ; attempt++) {
            try {
                driver.findElement(by).click();
                return;
            } catch (WebDriverException e) {
                if (!gone(e) || attempt == 5) {
                    throw e;
                }
            }
        }
    }

    /**
     * Waits until {@code previous} has left the document. Chrome reports a node the next page replaced either as a
     * stale element or, when the replacement races the question, as an unknown error saying the node "does not
     * belong to the document"; both mean the same here, while Selenium's own {@code stalenessOf} knows only the first.
     */
    private void awaitNewPage(WebElement previous) {
        new WebDriverWait(driver, WAIT).withMessage("the next page").until(d -> {
            try {
                previous.isEnabled();
                return false;
            } catch (WebDriverException e) {
                if (gone(e)) {
                    return true;
                }
                throw e;
            }
        });
    }

    /** Whether the browser refused to act on an element because the page it belonged to was replaced. */
    private static boolean gone(WebDriverException e) {
        return e instanceof StaleElementReferenceException
                || String.valueOf(e.getMessage()).contains("does not belong to the document");
    }

    /** Waits until the element's text contains {@code wanted}; the element may be replaced by live updates. */
    void awaitText(By by, String wanted) {
        new WebDriverWait(driver, WAIT).ignoring(StaleElementReferenceException.class)
                .withMessage(() -> "'" + wanted + "' in " + by + "; the page says:\n" + pageText())
                .until(d -> !d.findElements(by).isEmpty() && d.findElement(by).getText().contains(wanted));
    }

    /** Waits until the browser is at a path matching {@code regex} (a click's navigation has completed). */
    void awaitPath(String regex) {
        new WebDriverWait(driver, WAIT).withMessage(() -> "a path matching " + regex + "; the page says:\n" + pageText())
                .until(d -> path().matches(regex));
    }

    /** Waits until a download named {@code name} is complete in the download directory. */
    Path awaitDownload(String name) {
        Path file = downloads.resolve(name);
        new WebDriverWait(driver, WAIT).withMessage(() -> "download of " + name + " into " + downloads)
                .until(d -> Files.isRegularFile(file) && !Files.exists(downloads.resolve(name + ".crdownload")));
        return file;
    }

    /** Runs a fetch in the page, with the session's cookie, and returns the HTTP status it got. */
    long fetchStatus(String method, String path) {
        Object status = driver.executeAsyncScript("const done = arguments[arguments.length - 1];"
                + "fetch(arguments[1], {method: arguments[0], credentials: 'same-origin', redirect: 'manual'})"
                + ".then(r => done(r.status), e => done(-1));", method, path);
        return ((Number) status).longValue();
    }

    /** A PNG of the top of the page as a window of this size shows it. */
    void screenshot(Path target, int width, int height) throws IOException {
        Dimension size = driver.manage().window().getSize();
        driver.manage().window().setSize(new Dimension(width, height));
        try {
            Files.createDirectories(target.toAbsolutePath().getParent());
            Files.write(target, driver.getScreenshotAs(OutputType.BYTES));
        } finally {
            driver.manage().window().setSize(size);
        }
    }

    @Override
    public void close() throws IOException {
        driver.quit();
        for (Path dir : List.of(profile, downloads)) {
            org.springframework.util.FileSystemUtils.deleteRecursively(dir);
        }
    }
}
