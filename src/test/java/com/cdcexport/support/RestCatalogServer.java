package com.cdcexport.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import com.fasterxml.jackson.annotation.JsonAutoDetect;
import com.fasterxml.jackson.annotation.PropertyAccessor;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.apache.catalina.Context;
import org.apache.catalina.LifecycleException;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.apache.iceberg.CatalogProperties;
import org.apache.iceberg.TableMetadata;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.exceptions.AlreadyExistsException;
import org.apache.iceberg.exceptions.CommitFailedException;
import org.apache.iceberg.exceptions.NoSuchNamespaceException;
import org.apache.iceberg.exceptions.NoSuchTableException;
import org.apache.iceberg.exceptions.NotAuthorizedException;
import org.apache.iceberg.exceptions.ValidationException;
import org.apache.iceberg.jdbc.JdbcCatalog;
import org.apache.iceberg.rest.CatalogHandlers;
import org.apache.iceberg.rest.Endpoint;
import org.apache.iceberg.rest.RESTCatalogProperties;
import org.apache.iceberg.rest.RESTSerializers;
import org.apache.iceberg.rest.requests.CommitTransactionRequest;
import org.apache.iceberg.rest.requests.CreateNamespaceRequest;
import org.apache.iceberg.rest.requests.CreateTableRequest;
import org.apache.iceberg.rest.requests.UpdateTableRequest;
import org.apache.iceberg.rest.responses.ConfigResponse;
import org.apache.iceberg.rest.responses.ErrorResponse;
import org.apache.iceberg.rest.responses.ErrorResponseParser;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.cdcexport.export.destination.iceberg.LocalFileIO;

/**
 * A real Iceberg REST catalog over HTTP, for tests: an embedded Tomcat (the service's own web server) routing the REST specification's paths
 * to Iceberg's own server-side handlers ({@link CatalogHandlers}, what Iceberg's RESTCatalogAdapter and the
 * reference catalog server use) over Iceberg's {@link JdbcCatalog} (in a schema of the test database of its own),
 * whose files are in a local directory. The service
 * talks to it with Iceberg's RESTCatalog client, unchanged. (Iceberg's packaged test server, RESTCatalogServer in
 * iceberg-open-api 1.11.0's test fixtures, is only its main class: the adapter and servlet it runs are in
 * iceberg-core's test jar, of which no 1.12.0 resolves, and 1.11's would run against the service's 1.12 core.)
 *
 * <p>With a token, every request but the OAuth2 token endpoint must carry it; client credentials "id:secret" are
 * exchanged for it there. A multi-table commit checks every table's requirements, then applies them all, under one
 * lock: all or none, as a catalog with multi-table transactions does. {@link #beforeNextCommit} lets a test commit
 * as another writer just before the service's commit is handled.
 */
public final class RestCatalogServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RestCatalogServer.class);

    private final Tomcat tomcat = new Tomcat();
    private final Connector connector = new Connector();
    /** Where the catalog keeps its tables' pointers: a schema of the test database of its own. */
    private static final String SCHEMA = "rest_catalog";

    private final JdbcCatalog catalog = new JdbcCatalog();
    private final ObjectMapper mapper = new ObjectMapper();
    private final String token;
    private final String credential;
    private final Object lock = new Object();
    private volatile Consumer<JdbcCatalog> beforeNextCommit;
    private final AtomicInteger commits = new AtomicInteger();

    private RestCatalogServer(Path warehouse, String token, String credential) throws IOException {
        this.token = token;
        this.credential = credential;
        // Iceberg's JDBC catalog would look for its tables in every schema, find the service's (cdc) and create none
        // here: they are made as it would make them (schema version V1).
        TestDatabase.jdbc().execute("DROP SCHEMA IF EXISTS " + SCHEMA + " CASCADE; CREATE SCHEMA " + SCHEMA + ";"
                + "CREATE TABLE " + SCHEMA + ".iceberg_tables (catalog_name VARCHAR(255) NOT NULL, "
                + "table_namespace VARCHAR(255) NOT NULL, table_name VARCHAR(255) NOT NULL, "
                + "metadata_location VARCHAR(1000), previous_metadata_location VARCHAR(1000), "
                + "iceberg_type VARCHAR(5), PRIMARY KEY (catalog_name, table_namespace, table_name));"
                + "CREATE TABLE " + SCHEMA + ".iceberg_namespace_properties (catalog_name VARCHAR(255) NOT NULL, "
                + "namespace VARCHAR(255) NOT NULL, property_key VARCHAR(255), property_value VARCHAR(1000), "
                + "PRIMARY KEY (catalog_name, namespace, property_key))");
        Map<String, String> properties = IcebergTables.jdbcCatalog(SCHEMA);
        properties.put(CatalogProperties.WAREHOUSE_LOCATION, warehouse.toUri().toString().replaceAll("/$", ""));
        properties.put(CatalogProperties.FILE_IO_IMPL, LocalFileIO.class.getName());
        properties.put("jdbc.init-catalog-tables", "false");
        catalog.initialize("test-rest", properties);
        mapper.setVisibility(PropertyAccessor.FIELD, JsonAutoDetect.Visibility.ANY);
        mapper.configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
        mapper.setPropertyNamingStrategy(new PropertyNamingStrategies.KebabCaseStrategy());
        RESTSerializers.registerAll(mapper);
        tomcat.setBaseDir(warehouse.resolveSibling(warehouse.getFileName() + "-tomcat").toString());
        connector.setPort(0);
        connector.setProperty("address", "127.0.0.1");
        tomcat.setConnector(connector);
        Context context = tomcat.addContext("", null);
        Tomcat.addServlet(context, "iceberg-rest", new HttpServlet() {
            @Override
            protected void service(HttpServletRequest request, HttpServletResponse response) throws IOException {
                handle(request, response);
            }
        });
        context.addServletMappingDecoded("/*", "iceberg-rest");
        try {
            tomcat.start();
        } catch (LifecycleException e) {
            throw new IOException("The test REST catalog did not start", e);
        }
    }

    /** A catalog anyone may use, its files under {@code warehouse}. */
    public static RestCatalogServer start(Path warehouse) throws IOException {
        return new RestCatalogServer(warehouse, null, null);
    }

    /** A catalog that wants {@code token} as bearer, or client credentials {@code credential} exchanged for it. */
    public static RestCatalogServer withToken(Path warehouse, String token, String credential) throws IOException {
        return new RestCatalogServer(warehouse, token, credential);
    }

    /** The catalog's base URL, as a client's {@code uri}. */
    public String uri() {
        return "http://127.0.0.1:" + connector.getLocalPort();
    }

    /** The catalog's tables, in-process, as a second writer (or a reader) sees them. */
    public JdbcCatalog catalog() {
        return catalog;
    }

    /** Runs {@code writer} on the catalog once, just before the next table or multi-table commit is handled. */
    public void beforeNextCommit(Consumer<JdbcCatalog> writer) {
        beforeNextCommit = writer;
    }

    /** Table and multi-table commits received (each counts once, whether it succeeded or not). */
    public int commits() {
        return commits.get();
    }

    @Override
    public void close() {
        try {
            tomcat.stop();
            tomcat.destroy();
            catalog.close();
        } catch (LifecycleException e) {
            throw new IllegalStateException(e);
        }
    }

    private void handle(HttpServletRequest request, HttpServletResponse response) throws IOException {
        String method = request.getMethod();
        String path = request.getRequestURI();
        byte[] body;
        try (InputStream in = request.getInputStream()) {
            body = in.readAllBytes();
        }
        try {
            if (path.equals("/v1/oauth/tokens")) {
                token(response, new String(body, StandardCharsets.UTF_8));
                return;
            }
            if (token != null && !("Bearer " + token).equals(request.getHeader("Authorization"))) {
                throw new NotAuthorizedException("Not authorized: a valid bearer token is required");
            }
            Object answer = route(method, path, body);
            if (answer == null) {
                response.setStatus(204);
            } else {
                send(response, 200, mapper.writeValueAsBytes(answer));
            }
        } catch (RuntimeException e) {
            int code = e instanceof NoSuchTableException || e instanceof NoSuchNamespaceException ? 404
                    : e instanceof AlreadyExistsException || e instanceof CommitFailedException ? 409
                    : e instanceof NotAuthorizedException ? 401
                    : e instanceof ValidationException || e instanceof IllegalArgumentException ? 400 : 500;
            if (code == 500) {
                log.warn("Test REST catalog: {} {} failed", method, path, e);
            }
            if (method.equals("HEAD")) {
                response.setStatus(code);
                return;
            }
            ErrorResponse error = ErrorResponse.builder().responseCode(code)
                    .withType(e.getClass().getSimpleName()).withMessage(String.valueOf(e.getMessage())).build();
            send(response, code, ErrorResponseParser.toJson(error).getBytes(StandardCharsets.UTF_8));
        }
    }

    private static void send(HttpServletResponse response, int code, byte[] json) throws IOException {
        response.setStatus(code);
        response.setContentType("application/json");
        response.setContentLength(json.length);
        try (OutputStream out = response.getOutputStream()) {
            out.write(json);
        }
    }

    /** OAuth2 client credentials, form-encoded, for the token; an OAuth2 error otherwise. */
    private void token(HttpServletResponse response, String form) throws IOException {
        Map<String, String> fields = new HashMap<>();
        for (String pair : form.split("&")) {
            int eq = pair.indexOf('=');
            if (eq > 0) {
                fields.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
                        URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
            }
        }
        String given = fields.get("client_id") + ":" + fields.get("client_secret");
        if (credential == null || !credential.equals(given)) {
            send(response, 401, "{\"error\":\"invalid_client\",\"error_description\":\"unknown client\"}"
                    .getBytes(StandardCharsets.UTF_8));
            return;
        }
        send(response, 200, mapper.writeValueAsBytes(Map.of("access_token", token, "token_type", "bearer",
                "issued_token_type", "urn:ietf:params:oauth:token-type:access_token", "expires_in", 3600)));
    }

    private Object route(String method, String path, byte[] body) throws IOException {
        List<String> parts = new ArrayList<>();
        for (String part : path.split("/")) {
            if (!part.isEmpty()) {
                parts.add(part);
            }
        }
        if (parts.size() < 2 || !parts.get(0).equals("v1")) {
            throw new IllegalArgumentException("No such path: " + path);
        }
        String what = method + " " + String.join("/", parts.subList(1, Math.min(parts.size(), 2)))
                + (parts.size() > 3 ? "/" + parts.get(3) : "") + (parts.size() > 5 ? "/" + parts.get(5) : "");
        Namespace namespace = parts.size() > 2 && parts.get(1).equals("namespaces")
                ? Namespace.of(URLDecoder.decode(parts.get(2), StandardCharsets.UTF_8).split("\u001f")) : null;
        TableIdentifier table = parts.size() > 4 && parts.get(3).equals("tables")
                ? TableIdentifier.of(namespace, URLDecoder.decode(parts.get(4), StandardCharsets.UTF_8)) : null;
        switch (what) {
            case "GET config":
                return ConfigResponse.builder().withEndpoints(List.of(Endpoint.V1_LIST_NAMESPACES,
                        Endpoint.V1_LOAD_NAMESPACE, Endpoint.V1_NAMESPACE_EXISTS, Endpoint.V1_CREATE_NAMESPACE,
                        Endpoint.V1_LIST_TABLES, Endpoint.V1_LOAD_TABLE, Endpoint.V1_TABLE_EXISTS,
                        Endpoint.V1_CREATE_TABLE, Endpoint.V1_UPDATE_TABLE, Endpoint.V1_DELETE_TABLE,
                        Endpoint.V1_COMMIT_TRANSACTION)).build();
            case "GET namespaces":
                if (namespace == null) {
                    return CatalogHandlers.listNamespaces(catalog, Namespace.empty());
                }
                break;
            case "POST namespaces":
                if (namespace == null) {
                    return CatalogHandlers.createNamespace(catalog,
                            mapper.readValue(body, CreateNamespaceRequest.class));
                }
                break;
            case "GET namespaces/tables":
                if (table == null) {
                    return CatalogHandlers.listTables(catalog, namespace);
                }
                return CatalogHandlers.loadTable(catalog, table, RESTCatalogProperties.SnapshotMode.ALL);
            case "HEAD namespaces/tables":
                CatalogHandlers.tableExists(catalog, table);
                return null;
            case "POST namespaces/tables":
                if (table == null) {
                    CreateTableRequest create = mapper.readValue(body, CreateTableRequest.class);
                    return create.stageCreate() ? CatalogHandlers.stageTableCreate(catalog, namespace, create)
                            : CatalogHandlers.createTable(catalog, namespace, create);
                }
                return commit(List.of(withIdentifier(mapper.readValue(body, UpdateTableRequest.class), table)),
                        true);
            case "DELETE namespaces/tables":
                CatalogHandlers.dropTable(catalog, table);
                return null;
            case "POST transactions":
                commit(mapper.readValue(body, CommitTransactionRequest.class).tableChanges(), false);
                return null;
            case "POST namespaces/tables/metrics":
                return null;
            default:
                break;
        }
        if (namespace != null && parts.size() == 3) {
            switch (method) {
                case "GET":
                    return CatalogHandlers.loadNamespace(catalog, namespace);
                case "HEAD":
                    CatalogHandlers.namespaceExists(catalog, namespace);
                    return null;
                default:
                    break;
            }
        }
        throw new IllegalArgumentException("No such route: " + method + " " + path);
    }

    private static UpdateTableRequest withIdentifier(UpdateTableRequest request, TableIdentifier table) {
        return UpdateTableRequest.create(table, request.requirements(), request.updates());
    }

    /**
     * Every table's requirements checked on its current metadata, then every table's updates applied, under one
     * lock (and after the test's other writer, if any, committed).
     */
    private Object commit(List<UpdateTableRequest> changes, boolean single) {
        commits.incrementAndGet();
        Consumer<JdbcCatalog> writer = beforeNextCommit;
        beforeNextCommit = null;
        if (writer != null) {
            writer.accept(catalog);
        }
        synchronized (lock) {
            for (UpdateTableRequest change : changes) {
                TableMetadata current = ((org.apache.iceberg.HasTableOperations) catalog.loadTable(
                        change.identifier())).operations().current();
                change.requirements().forEach(requirement -> requirement.validate(current));
            }
            Object last = null;
            for (UpdateTableRequest change : changes) {
                last = CatalogHandlers.updateTable(catalog, change.identifier(), change);
            }
            return single ? last : null;
        }
    }
}
