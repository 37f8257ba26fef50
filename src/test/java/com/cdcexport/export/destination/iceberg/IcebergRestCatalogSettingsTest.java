package com.cdcexport.export.destination.iceberg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import org.apache.iceberg.catalog.Namespace;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.config.InvalidSettingException;
import com.cdcexport.support.RestCatalogServer;
import com.cdcexport.support.ServiceProcess;

/**
 * ICEBERG_CATALOG=rest at start-up, against a real REST catalog over HTTP ({@link RestCatalogServer}, wanting a
 * token or client credentials): a URI that is not a URL, a catalog that refuses connections or never answers, and
 * credentials it refuses each stop start-up with one line naming the setting, within the check's bound, and never
 * showing a secret.
 */
class IcebergRestCatalogSettingsTest {

    private static final String TOKEN = "rest-token-7c1e9a4b2d";
    private static final String CREDENTIAL = "cdc-service:s3cr3t-9f8e7d";

    @TempDir
    static Path directory;

    private static RestCatalogServer server;

    @BeforeAll
    static void startCatalog() throws IOException {
        server = RestCatalogServer.withToken(directory.resolve("warehouse"), TOKEN, CREDENTIAL);
    }

    @AfterAll
    static void stopCatalog() {
        server.close();
    }

    /** The service's settings with ICEBERG_CATALOG=rest, then {@code settings} (names under cdc.iceberg.). */
    private static IcebergRestCatalog rest(String... settings) {
        return rest(IcebergRestCatalog.CHECK_TIMEOUT, settings);
    }

    private static IcebergRestCatalog rest(Duration checkTimeout, String... settings) {
        Map<String, String> map = new LinkedHashMap<>();
        map.put("cdc.output-dir", directory.resolve("output").toString());
        map.put("cdc.iceberg.catalog", "rest");
        for (int i = 0; i < settings.length; i += 2) {
            map.put("cdc.iceberg." + settings[i], settings[i + 1]);
        }
        CdcProperties properties = new Binder(new MapConfigurationPropertySource(map))
                .bindOrCreate("cdc", CdcProperties.class);
        return new IcebergRestCatalog(properties, new IcebergWarehouse(properties), checkTimeout);
    }

    @Test
    void aUriThatIsNotAUrlOrCarriesAPasswordIsRefusedByName() {
        assertThatThrownBy(rest()::checkSettings).isInstanceOf(InvalidSettingException.class)
                .hasMessageStartingWith("ICEBERG_REST_URI is not set: ICEBERG_CATALOG=rest needs");
        assertThatThrownBy(rest("rest-uri", "polaris:8181")::checkSettings)
                .hasMessage("ICEBERG_REST_URI='polaris:8181' is not an http:// or https:// URL of an Iceberg REST "
                        + "catalog");
        assertThatThrownBy(rest("rest-uri", "http://me:pw@polaris:8181")::checkSettings)
                .hasMessageStartingWith("ICEBERG_REST_URI must not carry a user or password").message()
                .doesNotContain("pw");
        assertThatThrownBy(rest("rest-uri", server.uri(), "rest-credential", "no-colon-secret")::checkSettings)
                .hasMessage("ICEBERG_REST_CREDENTIAL is not of the form client-id:client-secret");
        assertThatThrownBy(rest("rest-uri", server.uri(), "rest-credential", CREDENTIAL, "rest-token", TOKEN)
                ::checkSettings).hasMessageStartingWith("ICEBERG_REST_CREDENTIAL and ICEBERG_REST_TOKEN are both set");
        assertThat(rest("rest-uri", "not even checked").enabled()).isTrue();
    }

    @Test
    void aCatalogThatRefusesOrNeverAnswersStopsStartUpWithinSeconds() throws IOException {
        String refused = "http://127.0.0.1:" + ServiceProcess.freePort();
        long started = System.nanoTime();
        assertThatThrownBy(rest("rest-uri", refused, "rest-token", TOKEN)::checkSettings)
                .isInstanceOf(InvalidSettingException.class)
                .hasMessageStartingWith("ICEBERG_REST_URI=" + refused + ": the Iceberg REST catalog cannot be "
                        + "reached (")
                .hasMessageEndingWith("check the URL and that the catalog is running")
                .message().doesNotContain("\n").doesNotContain(TOKEN);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).as("refused: at once").isLessThan(
                Duration.ofSeconds(10));

        // A port that takes connections and never answers (its backlog accepts them, nobody reads); the check's
        // bound shortened from 20 s to 3 s, to keep the test short.
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            String mute = "http://127.0.0.1:" + silent.getLocalPort();
            long before = System.nanoTime();
            assertThatThrownBy(rest(Duration.ofSeconds(3), "rest-uri", mute)::checkSettings)
                    .isInstanceOf(InvalidSettingException.class)
                    .hasMessage("ICEBERG_REST_URI=" + mute + ": the Iceberg REST catalog did not answer within 3 s; "
                            + "check the URL and that the catalog is running");
            assertThat(Duration.ofNanos(System.nanoTime() - before)).as("bounded by the check's timeout")
                    .isLessThan(Duration.ofSeconds(8));
        }
    }

    @Test
    void refusedCredentialsStopStartUpNamingTheSettingWithoutItsSecret() {
        assertThatThrownBy(rest("rest-uri", server.uri(), "rest-token", "wrong-token-1234")::checkSettings)
                .isInstanceOf(InvalidSettingException.class)
                .hasMessageStartingWith("ICEBERG_REST_TOKEN was refused by the Iceberg REST catalog at "
                        + server.uri()).message().doesNotContain("wrong-token-1234").doesNotContain("\n");
        assertThatThrownBy(rest("rest-uri", server.uri(), "rest-credential", "cdc-service:wrong-secret-77")
                ::checkSettings)
                .isInstanceOf(InvalidSettingException.class)
                .hasMessageStartingWith("ICEBERG_REST_CREDENTIAL was refused by the Iceberg REST catalog at "
                        + server.uri()).message().doesNotContain("wrong-secret-77");
        assertThatThrownBy(rest("rest-uri", server.uri())::checkSettings)
                .hasMessageStartingWith("ICEBERG_REST_CREDENTIAL (or ICEBERG_REST_TOKEN, none is set) was refused");
    }

    @Test
    void theRightTokenOrCredentialsConnect() throws IOException {
        for (IcebergRestCatalog catalog : new IcebergRestCatalog[] {rest("rest-uri", server.uri(), "rest-token",
                TOKEN), rest("rest-uri", server.uri() + "/", "rest-credential", CREDENTIAL)}) {
            catalog.checkSettings();
            catalog.catalog().createNamespace(Namespace.of("check_" + System.nanoTime()));
            assertThat(catalog.catalog().listNamespaces()).isNotEmpty();
            catalog.destroy();
        }
    }
}
