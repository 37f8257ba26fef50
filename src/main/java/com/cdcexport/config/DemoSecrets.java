package com.cdcexport.config;

import java.nio.file.Path;
import java.util.Map;

import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * The demo (no DATABASE_URL, AUTH_MODE=api-key, neither ADMIN_TOKEN nor CONSUMER_API_KEYS) authenticates like
 * production, with an admin token and a key for consumer {@value #CONSUMER} made once and kept next to the embedded
 * database (.data/admin-token, .data/consumer-1.key, mode 0600). A second start reads the same files, so the key a
 * client already holds keeps working (CONSUMER_API_KEYS semantics: an unchanged key is neither revoked nor
 * replaced). With a DATABASE_URL, missing credentials remain a start-up error: a real deployment chooses its own.
 */
class DemoSecrets implements EnvironmentPostProcessor, Ordered {

    static final String CONSUMER = "consumer-1";
    static final String ADMIN_TOKEN_FILE = "admin-token";
    static final String KEY_FILE = CONSUMER + ".key";
    /** Set when the demo's secrets are in use: the directory that holds them (for the ready line). */
    static final String DIRECTORY = "cdc.demo.secrets-dir";

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        boolean demo = environment.getProperty("cdc.database-url", "").isBlank()
                && environment.getProperty("cdc.auth.mode", "api-key").strip().equalsIgnoreCase("api-key")
                && environment.getProperty("cdc.auth.admin-token", "").isEmpty()
                && environment.getProperty("cdc.auth.consumer-api-keys", "").isEmpty();
        if (!demo) {
            return;
        }
        Path directory = Path.of(environment.getProperty("cdc.embedded-data-dir", ".data/postgres"))
                .toAbsolutePath().normalize().getParent();
        LocalSecrets secrets = new LocalSecrets(directory);
        environment.getPropertySources().addFirst(new MapPropertySource("demoSecrets", Map.of(
                "cdc.auth.admin-token", secrets.readOrCreate(ADMIN_TOKEN_FILE),
                "cdc.auth.consumer-api-keys", CONSUMER + "=" + secrets.readOrCreate(KEY_FILE),
                DIRECTORY, directory.toString())));
    }

    @Override
    public int getOrder() {
        return Ordered.LOWEST_PRECEDENCE;
    }
}
