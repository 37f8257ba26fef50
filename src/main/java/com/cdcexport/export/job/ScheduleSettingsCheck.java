package com.cdcexport.export.job;

import org.springframework.stereotype.Component;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.config.SettingsCheck;

/** EXPORT_SCHEDULES, checked before the database is touched (ExportSchedules needs the job service, hence it). */
@Component
class ScheduleSettingsCheck implements SettingsCheck {

    private final String schedules;

    ScheduleSettingsCheck(CdcProperties properties) {
        this.schedules = properties.schedules();
    }

    @Override
    public void checkSettings() {
        ExportSchedules.parse(schedules);
    }
}
