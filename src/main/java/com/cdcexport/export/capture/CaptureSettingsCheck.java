package com.cdcexport.export.capture;

import org.springframework.stereotype.Component;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.config.SettingsCheck;

/**
 * EXPORT_TABLES (its form: whether the tables exist is the database's to say, when capture is installed), checked
 * before the database is touched.
 */
@Component
class CaptureSettingsCheck implements SettingsCheck {

    private final CdcProperties properties;

    CaptureSettingsCheck(CdcProperties properties) {
        this.properties = properties;
    }

    @Override
    public void checkSettings() {
        CapturedTables.parse(properties.exportTables());
    }
}
