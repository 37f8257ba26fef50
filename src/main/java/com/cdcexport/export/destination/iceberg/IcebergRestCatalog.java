package com.cdcexport.export.destination.iceberg;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.apache.iceberg.CatalogProperties;
import org.apache.iceberg.exceptions.ForbiddenException;
import org.apache.iceberg.exceptions.NotAuthorizedException;
import org.apache.iceberg.exceptions.RESTException;
import org.apache.iceberg.rest.RESTCatalog;
import org.apache.iceberg.rest.auth.OAuth2Properties;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.health.contributor.Health;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.config.InvalidSettingException;
import com.cdcexport.config.SettingsCheck;

/**
 * The Iceberg REST catalog (ICEBERG_CATALOG=rest): Iceberg's own {@link RESTCatalog} at ICEBERG_REST_URI, with
 * OAuth2 client credentials (ICEBERG_REST_CREDENTIAL) or a bearer token (ICEBERG_REST_TOKEN). Connected before the
 * database is touched: a URI that is not a URL, a catalog that does not answer within {@link #CHECK_TIMEOUT} or
 * that refuses the credentials stops start-up with one line naming the setting. Neither secret is ever part of a
 * message: the catalog's own error texts are shown with them cut out.
 *
 * <p>FileIO: the tables' FileIO is made from the warehouse's settings (ICEBERG_WAREHOUSE: a directory, or S3 with
 * the S3 sink's endpoint, region and the SDK's credential chain), asking the catalog for vended credentials; what
 * the catalog returns in its configuration or a table's (an {@code io-impl}, S3 keys it vends) takes precedence.
 */
@Component
public class IcebergRestCatalog implements SettingsCheck, DisposableBean {

    /** How long start-up waits for the catalog's configuration (and token), all of it. */
    static final Duration CHECK_TIMEOUT = Duration.ofSeconds(20);
    /** The catalog's name in Iceberg's client (only in its messages and metrics). */
    static final String NAME = "rest";

    private final CdcProperties.Iceberg settings;
    private final IcebergWarehouse warehouse;
    private final Duration checkTimeout;
    private RESTCatalog catalog;

    @Autowired
    public IcebergRestCatalog(CdcProperties properties, IcebergWarehouse warehouse) {
        this(properties, warehouse, CHECK_TIMEOUT);
    }

    /** @param checkTimeout how long start-up waits for the catalog (tests wait less than {@link #CHECK_TIMEOUT}) */
    IcebergRestCatalog(CdcProperties properties, IcebergWarehouse warehouse, Duration checkTimeout) {
        this.settings = properties.iceberg();
        this.warehouse = warehouse;
        this.checkTimeout = checkTimeout;
    }

    /** Whether ICEBERG_CATALOG=rest. */
    public boolean enabled() {
        return settings.rest();
    }

    /** The connected catalog (connected now if start-up's check did not run, as in a context without it). */
    public synchronized RESTCatalog catalog() {
        if (catalog == null) {
            checkSettings();
        }
        return catalog;
    }

    @Override
    public synchronized void checkSettings() {
        if (!enabled() || catalog != null) {
            return;
        }
        Map<String, String> properties = properties();
        RESTCatalog connecting = new RESTCatalog();
        FutureTask<Void> connect = new FutureTask<>(() -> {
            connecting.initialize(NAME, properties);
            return null;
        });
        Thread thread = new Thread(connect, "iceberg-rest-catalog-check");
        thread.setDaemon(true);
        thread.start();
        try {
            connect.get(checkTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            connect.cancel(true);
            throw new InvalidSettingException("ICEBERG_REST_URI=" + settings.restUri().strip() + ": the Iceberg "
                    + "REST catalog did not answer within " + checkTimeout.toSeconds() + " s; check the URL and "
                    + "that the catalog is running");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while connecting to the Iceberg REST catalog", e);
        } catch (ExecutionException e) {
            throw unusable(e.getCause());
        }
        catalog = connecting;
    }

    /** The client's properties: the catalog's URL and credentials, the warehouse's FileIO, sane HTTP timeouts. */
    private Map<String, String> properties() {
        String uri = settings.restUri().strip();
        if (uri.isEmpty()) {
            throw new InvalidSettingException("ICEBERG_REST_URI is not set: ICEBERG_CATALOG=rest needs the REST "
                    + "catalog's URL (e.g. http://polaris:8181/api/catalog)");
        }
        URI parsed;
        try {
            parsed = new URI(uri);
        } catch (URISyntaxException e) {
            parsed = null;
        }
        if (parsed == null || parsed.getHost() == null || parsed.getScheme() == null
                || !parsed.getScheme().toLowerCase(Locale.ROOT).matches("https?")) {
            throw new InvalidSettingException("ICEBERG_REST_URI='" + uri + "' is not an http:// or https:// URL of "
                    + "an Iceberg REST catalog");
        }
        if (parsed.getUserInfo() != null) {
            throw new InvalidSettingException("ICEBERG_REST_URI must not carry a user or password: set "
                    + "ICEBERG_REST_CREDENTIAL or ICEBERG_REST_TOKEN instead");
        }
        String credential = settings.restCredential().strip();
        String token = settings.restToken().strip();
        if (!credential.isEmpty() && !token.isEmpty()) {
            throw new InvalidSettingException("ICEBERG_REST_CREDENTIAL and ICEBERG_REST_TOKEN are both set: set one "
                    + "(client credentials, or a bearer token)");
        }
        if (!credential.isEmpty() && (credential.indexOf(':') <= 0 || credential.endsWith(":"))) {
            throw new InvalidSettingException("ICEBERG_REST_CREDENTIAL is not of the form client-id:client-secret");
        }
        Map<String, String> properties = new HashMap<>(warehouse.ioProperties());
        properties.put(CatalogProperties.URI, uri);
        if (!settings.restWarehouse().isBlank()) {
            properties.put(CatalogProperties.WAREHOUSE_LOCATION, settings.restWarehouse().strip());
        }
        if (!credential.isEmpty()) {
            properties.put(OAuth2Properties.CREDENTIAL, credential);
            if (!settings.restScope().isBlank()) {
                properties.put(OAuth2Properties.SCOPE, settings.restScope().strip());
            }
        }
        if (!token.isEmpty()) {
            properties.put(OAuth2Properties.TOKEN, token);
        }
        // Ask for credentials scoped to each table where the catalog vends them (Polaris, Lakekeeper, Gravitino).
        properties.put("header.X-Iceberg-Access-Delegation", "vended-credentials");
        properties.put("rest.client.connection-timeout-ms", "10000");
        properties.put("rest.client.socket-timeout-ms", "120000");
        // The client's scan reports are of no use to the catalog for writes, and one more request per commit.
        properties.put("rest-metrics-reporting-enabled", "false");
        return properties;
    }

    /** One line naming the setting, without either secret. */
    private InvalidSettingException unusable(Throwable e) {
        String uri = settings.restUri().strip();
        if (e instanceof NotAuthorizedException || e instanceof ForbiddenException) {
            String which = !settings.restCredential().isBlank() ? "ICEBERG_REST_CREDENTIAL"
                    : !settings.restToken().isBlank() ? "ICEBERG_REST_TOKEN"
                    : "ICEBERG_REST_CREDENTIAL (or ICEBERG_REST_TOKEN, none is set)";
            return new InvalidSettingException(which + " was refused by the Iceberg REST catalog at " + uri + " ("
                    + redacted(e.getMessage()) + ")");
        }
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        if (root instanceof ConnectException || root instanceof UnknownHostException
                || root instanceof IOException && e instanceof RESTException) {
            return new InvalidSettingException("ICEBERG_REST_URI=" + uri + ": the Iceberg REST catalog cannot be "
                    + "reached (" + redacted(root.toString()) + "); check the URL and that the catalog is running");
        }
        String warehouseHint = settings.restWarehouse().isBlank() ? ""
                : " (with ICEBERG_REST_WAREHOUSE=" + settings.restWarehouse().strip() + ")";
        return new InvalidSettingException("ICEBERG_REST_URI=" + uri + warehouseHint + ": the Iceberg REST catalog "
                + "refused the connection: " + redacted(String.valueOf(e.getMessage())));
    }

    /** {@code text} with the configured secrets cut out, should a catalog echo them. */
    private String redacted(String text) {
        String result = text == null ? "" : text;
        for (String secret : new String[] {settings.restCredential().strip(), settings.restToken().strip()}) {
            if (!secret.isEmpty()) {
                result = result.replace(secret, "****");
                int colon = secret.indexOf(':');
                if (colon > 0 && colon < secret.length() - 1) {
                    result = result.replace(secret.substring(colon + 1), "****");
                }
            }
        }
        return result.length() > 300 ? result.substring(0, 300) + "…" : result;
    }

    /**
     * Readiness: the catalog lists its namespaces within {@link IcebergWarehouse#HEALTH_TIMEOUT} (a probe must
     * answer well within a load balancer's own timeout, and the client's own HTTP timeouts are made for commits).
     */
    void checkHealth(Health.Builder builder) throws IOException {
        builder.withDetail("catalog", settings.restUri().strip());
        RESTCatalog connected = catalog();
        FutureTask<Integer> list = new FutureTask<>(() -> connected.listNamespaces().size());
        Thread thread = new Thread(list, "iceberg-rest-catalog-health");
        thread.setDaemon(true);
        thread.start();
        try {
            list.get(IcebergWarehouse.HEALTH_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            list.cancel(true);
            throw new IOException("The Iceberg REST catalog did not answer within "
                    + IcebergWarehouse.HEALTH_TIMEOUT.toSeconds() + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("Interrupted while asking the Iceberg REST catalog", e);
        } catch (ExecutionException e) {
            throw new IOException("The Iceberg REST catalog refused: " + redacted(String.valueOf(
                    e.getCause().getMessage())));
        }
    }

    @Override
    public synchronized void destroy() throws IOException {
        if (catalog != null) {
            catalog.close();
        }
    }
}
