package com.cdcexport.auth;

import java.util.ArrayList;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.stereotype.Component;

import com.cdcexport.auth.ConsumerService.EnvironmentKey;
import com.cdcexport.config.CdcProperties;
import com.cdcexport.config.CdcProperties.AuthMode;
import com.cdcexport.config.InvalidSettingException;
import com.cdcexport.consumer.ConsumerId;

/**
 * Checks the AUTH_ settings and registers CONSUMER_API_KEYS before the server takes requests. Messages name the
 * variable and the consumer, never a key.
 */
@Component
class AuthSetup implements SmartInitializingSingleton {

    private static final Logger log = LoggerFactory.getLogger(AuthSetup.class);

    private final CdcProperties.Auth settings;
    private final ConsumerService consumers;

    AuthSetup(CdcProperties properties, ConsumerService consumers) {
        this.settings = properties.auth();
        this.consumers = consumers;
    }

    @Override
    public void afterSingletonsInstantiated() {
        // Always, so that emptying CONSUMER_API_KEYS revokes the keys it used to hold.
        consumers.reconcileEnvironmentKeys(checked(settings));
        if (settings.mode() == AuthMode.OFF) {
            log.warn("AUTH_MODE=off: /exports trusts the X-Consumer-ID header, so anyone who can reach this service "
                    + "can export every user's personal data and move any consumer's watermark. Use it for local "
                    + "demos only; set AUTH_MODE=api-key anywhere else.");
        }
    }

    /** The keys of CONSUMER_API_KEYS, once ADMIN_TOKEN, the keys and AUTH_MODE are found to work together. */
    static List<EnvironmentKey> checked(CdcProperties.Auth settings) {
        String adminToken = settings.adminToken();
        if (!adminToken.isEmpty() && (!ApiKeys.isWellFormed(adminToken) || ApiKeys.isOneRepeatedCharacter(adminToken))) {
            throw new InvalidSettingException("ADMIN_TOKEN must be at least " + ApiKeys.MIN_LENGTH
                    + " characters from A-Z a-z 0-9 . _ ~ + / = -, not one character repeated (128 bits or more; "
                    + "e.g. `openssl rand -hex 32`)");
        }
        List<EnvironmentKey> keys = parse(settings.consumerApiKeys(), adminToken);
        if (settings.mode() == AuthMode.API_KEY && adminToken.isEmpty() && keys.isEmpty()) {
            throw new InvalidSettingException("AUTH_MODE=api-key needs ADMIN_TOKEN (to create consumers and keys) "
                    + "or CONSUMER_API_KEYS (consumer=key;...); for a local demo without authentication set "
                    + "AUTH_MODE=off");
        }
        return keys;
    }

    /** consumer=key entries separated by ';' (the form of EXPORT_SCHEDULES). */
    static List<EnvironmentKey> parse(String spec, String adminToken) {
        List<EnvironmentKey> keys = new ArrayList<>();
        String[] entries = spec.split(";");
        for (int i = 0; i < entries.length; i++) {
            String entry = entries[i].strip();
            if (entry.isEmpty()) {
                continue;
            }
            int equals = entry.indexOf('=');
            String where = "CONSUMER_API_KEYS entry " + (i + 1);
            if (equals <= 0) {
                throw new InvalidSettingException(where + " is not consumer=key");
            }
            ConsumerId consumer;
            try {
                consumer = new ConsumerId(entry.substring(0, equals).strip());
            } catch (IllegalArgumentException e) {
                throw new InvalidSettingException(where + ": the consumer must be " + ConsumerId.RULE);
            }
            String key = entry.substring(equals + 1).strip();
            if (!ApiKeys.isWellFormed(key)) {
                throw new InvalidSettingException(where + " (consumer '" + consumer + "'): the key must be at least "
                        + ApiKeys.MIN_LENGTH + " characters from A-Z a-z 0-9 . _ ~ + / = - (e.g. `openssl rand -hex 32`)");
            }
            if (ApiKeys.isOneRepeatedCharacter(key)) {
                throw new InvalidSettingException(where + " (consumer '" + consumer + "'): the key is one character "
                        + "repeated, which anyone can guess; use a random key (e.g. `openssl rand -hex 32`)");
            }
            if (key.equals(adminToken)) {
                // The admin token would then authenticate as the admin, never as this consumer.
                throw new InvalidSettingException(where + " (consumer '" + consumer + "'): the key is ADMIN_TOKEN; "
                        + "a consumer's key must differ from the admin token");
            }
            if (keys.stream().anyMatch(k -> k.apiKey().equals(key))) {
                throw new InvalidSettingException(where + " (consumer '" + consumer + "') repeats a key of an "
                        + "earlier entry; every key must be different");
            }
            keys.add(new EnvironmentKey(consumer, key));
        }
        return keys;
    }
}
