package com.cdcexport.config;

import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.logging.LogLevel;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ApplicationContext;
import org.springframework.core.env.Environment;
import org.springframework.stereotype.Component;

/**
 * Every setting checked before the database is touched: the DataSource depends on this bean, and everything that
 * writes (Flyway, capture installation, seeding, consumers' keys) depends on the DataSource. A bad PORT used to be
 * found only when the web server started, after the tables had been created and the embedded PostgreSQL started.
 */
@Component
public class StartupChecks {

    /** @param logFormat LOG_FORMAT: a parameter, so that it is bound (and checked) now, not whenever */
    StartupChecks(CdcProperties properties, LogFormat.Setting logFormat, Environment environment,
                  ApplicationContext context, ObjectProvider<SettingsCheck> checks) {
        if (!properties.databaseUrl().isBlank()) {
            DatabaseUrl.parse(properties.databaseUrl());
        }
        // Only where this context starts a web server (not in tests without one, nor with a mock servlet context).
        // Spring's own settings that are otherwise bound late (the shutdown grace when the context has started).
        Binder binder = Binder.get(environment);
        binder.bind("spring.lifecycle.timeout-per-shutdown-phase", Duration.class);
        binder.bind("logging.level.root", LogLevel.class);
        if (context instanceof WebServerApplicationContext) {
            checkPort(environment.getProperty("server.port", "8080"), environment.getProperty("server.address"));
        }
        checks.orderedStream().forEach(SettingsCheck::checkSettings);
    }

    /** PORT is a port number, and free: binding it once here is what Tomcat would do at the very end of start-up. */
    static void checkPort(String value, String address) {
        int port;
        try {
            port = Integer.parseInt(value.strip());
        } catch (NumberFormatException e) {
            port = -1;
        }
        if (port < 0 || port > 65_535) {
            throw new InvalidSettingException("Invalid configuration: PORT='" + value + "': must be between 0 and "
                    + "65535 (0: any free port); fix PORT and start again");
        }
        if (port == 0) {
            return;
        }
        try (ServerSocket socket = new ServerSocket()) {
            // As Tomcat binds it: a port left in TIME_WAIT by a previous run is free.
            socket.setReuseAddress(true);
            socket.bind(address == null || address.isBlank() ? new InetSocketAddress(port)
                    : new InetSocketAddress(InetAddress.getByName(address.strip()), port));
        } catch (BindException e) {
            if (String.valueOf(e.getMessage()).contains("ermission denied")) {
                throw new InvalidSettingException("PORT=" + port + " needs privileges this process lacks (ports below "
                        + "1024 need root or CAP_NET_BIND_SERVICE): set PORT to a port above 1023", e);
            }
            throw new InvalidSettingException("PORT=" + port + " is already in use by another process; stop that "
                    + "process or set PORT to a free port", e);
        } catch (IOException e) {
            throw new InvalidSettingException("Cannot listen on PORT=" + port + " (" + e.getMessage() + "): set PORT "
                    + "to a free port", e);
        }
    }
}
