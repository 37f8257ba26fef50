package com.cdcexport.export.destination.iceberg;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.springframework.stereotype.Component;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.config.InvalidSettingException;
import com.cdcexport.config.SettingsCheck;

/** ICEBERG_WAREHOUSE, when set, must be a directory the service can write (created if missing), before any export. */
@Component
class IcebergSettingsCheck implements SettingsCheck {

    private final CdcProperties properties;

    IcebergSettingsCheck(CdcProperties properties) {
        this.properties = properties;
    }

    @Override
    public void checkSettings() {
        if (properties.iceberg().warehouse().isEmpty()) {
            return; // under EXPORT_OUTPUT_DIR, which the file store checks
        }
        Path directory = IcebergDestination.warehouseDirectory(properties);
        try {
            Files.createDirectories(directory);
            Files.delete(Files.createTempFile(directory, ".write-check", ""));
        } catch (IOException | UnsupportedOperationException e) {
            throw new InvalidSettingException("ICEBERG_WAREHOUSE=" + directory + " is not a directory the service "
                    + "can write (" + e.getMessage() + "); create it or point ICEBERG_WAREHOUSE elsewhere", e);
        }
    }
}
