package com.cdcexport.config;

/**
 * A check of settings that needs no database. {@link StartupChecks} makes and runs every bean of this type before
 * the DataSource exists, so a setting that cannot work stops start-up before the embedded PostgreSQL starts and
 * before anything (Flyway's schema, capture triggers, the seed, consumers' keys) is written to the database.
 * An implementation must therefore not depend on the DataSource nor on anything built on it.
 */
public interface SettingsCheck {

    /** @throws InvalidSettingException whose message names the environment variable and what to do */
    void checkSettings();
}
