package com.cdcexport.export.read;

import org.springframework.stereotype.Component;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.config.SettingsCheck;

/**
 * EXPORT_CHUNK_DIR (where parallel readers spill chunks) and DATABASE_READ_URL's form, checked before any database is
 * touched.
 */
@Component
class ReadSettingsCheck implements SettingsCheck {

    private final CdcProperties properties;

    ReadSettingsCheck(CdcProperties properties) {
        this.properties = properties;
    }

    @Override
    public void checkSettings() {
        ParallelCopy.checkChunkDirectory(properties.parallel(), properties.jobs().workers());
        properties.standby().urls();
    }
}
