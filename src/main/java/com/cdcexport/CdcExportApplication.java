package com.cdcexport;

import java.util.TimeZone;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;
import org.springframework.scheduling.annotation.EnableScheduling;

@SpringBootApplication
@ConfigurationPropertiesScan
@EnableScheduling
public class CdcExportApplication {

    public static void main(String[] args) {
        // Timestamps are UTC end to end: the JVM default feeds PgJDBC's session time zone and every formatter.
        TimeZone.setDefault(TimeZone.getTimeZone("UTC"));
        SpringApplication.run(CdcExportApplication.class, args);
    }
}
