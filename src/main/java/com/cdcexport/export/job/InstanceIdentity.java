package com.cdcexport.export.job;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.UUID;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Component;

import com.cdcexport.config.CdcProperties;

/**
 * Names this service instance in the job table. The default, host:port, survives a restart of the same
 * container, which lets a restarted instance clean up its own interrupted jobs at once instead of waiting for
 * their heartbeats to go stale.
 */
@Component
public class InstanceIdentity {

    private final String value;

    public InstanceIdentity(CdcProperties properties, @Value("${server.port:8080}") int port) {
        if (!properties.instanceId().isBlank()) {
            value = properties.instanceId();
        } else if (port > 0) {
            value = hostname() + ":" + port;
        } else {
            value = hostname() + ":" + UUID.randomUUID().toString().substring(0, 8);
        }
    }

    public String value() {
        return value;
    }

    private static String hostname() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "localhost";
        }
    }
}
