package com.cdcexport.config;

import java.nio.file.Path;

import javax.sql.DataSource;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.core.env.Environment;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

import com.cdcexport.config.CdcProperties.AuthMode;

/** The one line that says the service is ready and how to use it: URL, authentication, users, where files go. */
@Component
class ReadyLine {

    private static final Logger log = LoggerFactory.getLogger(ReadyLine.class);

    private final CdcProperties properties;
    private final Environment environment;
    private final JdbcTemplate jdbc;

    ReadyLine(CdcProperties properties, Environment environment, DataSource dataSource) {
        this.properties = properties;
        this.environment = environment;
        this.jdbc = new JdbcTemplate(dataSource);
    }

    @EventListener(ApplicationReadyEvent.class)
    void ready() {
        log.info(line(environment.getProperty("local.server.port"), users(), environment.getProperty(DemoSecrets.DIRECTORY)));
    }

    String line(String port, long users, String demoSecrets) {
        String auth;
        if (properties.auth().mode() == AuthMode.OFF) {
            auth = "auth off (X-Consumer-ID is trusted)";
        } else if (demoSecrets != null) {
            Path dir = shortest(Path.of(demoSecrets));
            auth = "auth api-key (admin token: cat " + dir.resolve(DemoSecrets.ADMIN_TOKEN_FILE) + "; "
                    + DemoSecrets.CONSUMER + "'s key: cat " + dir.resolve(DemoSecrets.KEY_FILE) + ")";
        } else {
            auth = "auth api-key";
        }
        return "Ready at http://localhost:" + (port == null ? "?" : port) + " - " + auth + " - " + users
                + " users in the table (SEED_USERS=" + properties.seedUsers() + ") - export files go to "
                + (properties.sink() == CdcProperties.Sink.S3 ? properties.s3().location()
                        : properties.outputDir().toAbsolutePath().normalize());
    }

    private long users() {
        // The planner's figure (the seeder analyses what it loads) rather than a count(*) over millions of rows.
        // The demo's table is public.users (qualified: the service's connections do not search public), and it may
        // not exist at all when EXPORT_TABLES leaves it out.
        Long estimate = jdbc.query("SELECT greatest(c.reltuples, 0)::bigint FROM pg_class c"
                + " WHERE c.oid = to_regclass('public.users')", rs -> rs.next() ? rs.getLong(1) : 0L);
        return estimate == null ? 0 : estimate;
    }

    /** .data rather than /home/me/project/.data when it is under the working directory. */
    private static Path shortest(Path path) {
        Path here = Path.of("").toAbsolutePath();
        return path.startsWith(here) ? here.relativize(path) : path;
    }
}
