package com.cdcexport.auth;

import org.springframework.stereotype.Component;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.config.SettingsCheck;

/** ADMIN_TOKEN, CONSUMER_API_KEYS and AUTH_MODE, checked before the database is touched (AuthSetup uses them). */
@Component
class AuthSettingsCheck implements SettingsCheck {

    private final CdcProperties.Auth settings;

    AuthSettingsCheck(CdcProperties properties) {
        this.settings = properties.auth();
    }

    @Override
    public void checkSettings() {
        AuthSetup.checked(settings);
    }
}
