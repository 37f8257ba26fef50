package com.cdcexport.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;

/**
 * A PostgreSQL location as the seed writes it ({@code postgresql://user:password@host:port/db}, user and
 * password optional) or as JDBC does ({@code jdbc:postgresql://...}), split into what a DataSource needs.
 */
public record DatabaseUrl(String jdbcUrl, String username, String password) {

    public static DatabaseUrl parse(String value) {
        return parse(value, "DATABASE_URL");
    }

    /** @param setting the variable the value came from, for the error's text */
    public static DatabaseUrl parse(String value, String setting) {
        String url = value.strip();
        if (url.startsWith("jdbc:postgresql:")) {
            return new DatabaseUrl(url, null, null);
        }
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            throw invalid(setting, value, e.getReason());
        }
        String scheme = uri.getScheme();
        if (!"postgresql".equals(scheme) && !"postgres".equals(scheme)) {
            throw invalid(setting, value, "expected postgresql://user:password@host:port/database or jdbc:postgresql://...");
        }
        if (uri.getHost() == null) {
            throw invalid(setting, value, "no host");
        }
        String database = uri.getPath() == null ? "" : uri.getPath().replaceFirst("^/", "");
        if (database.isEmpty()) {
            throw invalid(setting, value, "no database name");
        }
        StringBuilder jdbc = new StringBuilder("jdbc:postgresql://").append(uri.getHost());
        if (uri.getPort() != -1) {
            jdbc.append(':').append(uri.getPort());
        }
        jdbc.append('/').append(database);
        if (uri.getRawQuery() != null) {
            jdbc.append('?').append(uri.getRawQuery());
        }
        String username = null;
        String password = null;
        if (uri.getRawUserInfo() != null) {
            String[] parts = uri.getRawUserInfo().split(":", 2);
            username = decode(parts[0]);
            password = parts.length > 1 ? decode(parts[1]) : null;
        }
        return new DatabaseUrl(jdbc.toString(), username, password);
    }

    private static String decode(String s) {
        return URLDecoder.decode(s, StandardCharsets.UTF_8);
    }

    private static InvalidSettingException invalid(String setting, String value, String why) {
        // Never echo the password back into logs.
        return new InvalidSettingException(setting + " is not a PostgreSQL URL (" + why + "): "
                + value.replaceAll("//([^:/@]*):[^@]*@", "//$1:***@"));
    }
}
