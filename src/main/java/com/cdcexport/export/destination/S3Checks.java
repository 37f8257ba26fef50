package com.cdcexport.export.destination;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Optional;

import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.model.S3Exception;

import com.cdcexport.config.CdcProperties;
import com.cdcexport.config.InvalidSettingException;

/**
 * The S3 settings as every S3 client of the service reads them (the S3 sink's, and the S3FileIO of an Iceberg
 * warehouse in S3), and what a failed request says: one line, naming the setting to fix, never a secret.
 */
public final class S3Checks {

    public static final String NO_REGION = "AWS_REGION is not set and no AWS profile names a region: set "
            + "AWS_REGION to the bucket's region";

    private S3Checks() {
    }

    /** S3_ENDPOINT as a URI, or empty for AWS. */
    public static Optional<URI> endpoint(CdcProperties.S3 settings) {
        if (settings.endpoint().isBlank()) {
            return Optional.empty();
        }
        try {
            URI endpoint = new URI(settings.endpoint().strip());
            if (endpoint.getScheme() == null || endpoint.getHost() == null) {
                throw new URISyntaxException(settings.endpoint(), "not an http(s) URL");
            }
            return Optional.of(endpoint);
        } catch (URISyntaxException e) {
            throw new InvalidSettingException("S3_ENDPOINT='" + settings.endpoint() + "' is not a URL such as "
                    + "http://localhost:9000");
        }
    }

    /** AWS_REGION; else us-east-1 with an S3_ENDPOINT (S3-compatible stores accept any, signing needs one). */
    public static Optional<String> region(CdcProperties.S3 settings) {
        if (!settings.region().isBlank()) {
            return Optional.of(settings.region().strip());
        }
        return settings.endpoint().isBlank() ? Optional.empty() : Optional.of("us-east-1");
    }

    /**
     * Why a bucket cannot be used, from its HEAD request's failure at start-up.
     *
     * @param named    the bucket as the message names it, with the setting that chose it: {@code S3_BUCKET=exports}
     * @param instead  the other fix for a bucket that does not exist: {@code set S3_BUCKET to an existing bucket}
     * @param endpoint S3_ENDPOINT ("" for AWS)
     */
    public static InvalidSettingException unusableBucket(SdkException e, String named, String instead,
                                                         String endpoint) {
        String where = endpoint.isBlank() ? "" : " at S3_ENDPOINT=" + endpoint.strip();
        if (e instanceof S3Exception s) {
            if (s.statusCode() == 404) {
                return new InvalidSettingException(named + " does not exist" + where + ": create it or " + instead, e);
            }
            if (s.statusCode() == 403 || s.statusCode() == 401) {
                return new InvalidSettingException("S3 refused access to " + named + where + " (" + describe(e)
                        + "): check the credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE) and "
                        + "that they may s3:ListBucket", e);
            }
        }
        if (e instanceof SdkClientException client) {
            if (isMissingCredentials(client)) {
                return new InvalidSettingException("No AWS credentials for " + named + ": set AWS_ACCESS_KEY_ID "
                        + "and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run with an instance role", e);
            }
            return new InvalidSettingException("Cannot reach S3" + (where.isEmpty() ? " (S3_ENDPOINT empty: AWS)"
                    : where) + " for " + named + ": " + describe(e) + ": check S3_ENDPOINT and that the store is "
                    + "running", e);
        }
        return new InvalidSettingException("Cannot use " + named + where + ": " + describe(e), e);
    }

    static boolean isMissingCredentials(SdkClientException e) {
        String message = String.valueOf(e.getMessage());
        return message.contains("Unable to load credentials") || message.contains("credentials provider");
    }

    /**
     * What went wrong, in one line and without secrets: S3's error code and message, or the client's reason
     * (connection refused, no credentials). The SDK never puts the secret key into either.
     */
    public static String describe(SdkException e) {
        if (e instanceof S3Exception s && s.awsErrorDetails() != null) {
            String code = s.awsErrorDetails().errorCode();
            String message = s.awsErrorDetails().errorMessage();
            return s.statusCode() + (code == null ? "" : " " + code) + (message == null ? "" : ": " + message);
        }
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        Throwable cause = e.getCause();
        if (cause != null && cause.getMessage() != null && !message.contains(cause.getMessage())) {
            message += " (" + cause.getMessage() + ")";
        }
        // The credential chain lists every provider it tried over several lines: the first sentence says it.
        int cut = message.indexOf(": [");
        return (cut > 0 ? message.substring(0, cut) : message).replace('\n', ' ');
    }
}
