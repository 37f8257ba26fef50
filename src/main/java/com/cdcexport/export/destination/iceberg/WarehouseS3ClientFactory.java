package com.cdcexport.export.destination.iceberg;

import java.util.Map;

import org.apache.iceberg.aws.AwsClientProperties;
import org.apache.iceberg.aws.HttpClientProperties;
import org.apache.iceberg.aws.s3.S3FileIOAwsClientFactory;
import org.apache.iceberg.aws.s3.S3FileIOProperties;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The S3 client of a warehouse's S3FileIO ({@code s3.client-factory-impl}): Iceberg's default one (region, HTTP
 * client, endpoint, path style, credentials, user agent, retries, all from the FileIO's properties), except that it
 * sends and checks checksums only where S3 requires them, as the S3 sink's client does (docs/object-storage.md,
 * "Checksums"): the SDK's default CRC32 trailers are refused by some S3-compatible stores and cost a pass over every
 * byte. Public, with the no-argument constructor Iceberg instantiates it by.
 */
public final class WarehouseS3ClientFactory implements S3FileIOAwsClientFactory {

    private static final long serialVersionUID = 1L;

    private Map<String, String> properties = Map.of();

    public WarehouseS3ClientFactory() {
        // configured by initialize
    }

    @Override
    public void initialize(Map<String, String> fileIoProperties) {
        this.properties = Map.copyOf(fileIoProperties);
    }

    @Override
    public S3Client s3() {
        AwsClientProperties aws = new AwsClientProperties(properties);
        HttpClientProperties http = new HttpClientProperties(properties);
        S3FileIOProperties s3 = new S3FileIOProperties(properties);
        return S3Client.builder()
                .applyMutation(b -> aws.applyClientRegionConfiguration(b))
                .applyMutation(http::applyHttpClientConfigurations)
                .applyMutation(b -> s3.applyEndpointConfigurations(b))
                .applyMutation(s3::applyServiceConfigurations)
                .applyMutation(b -> s3.applyCredentialConfigurations(aws, b))
                .applyMutation(s3::applyUserAgentConfigurations)
                .applyMutation(s3::applyRetryConfigurations)
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .build();
    }

    /** S3FileIO asks for it only for its analytics accelerator and the CRT client, which the service leaves off. */
    @Override
    public S3AsyncClient s3Async() {
        throw new UnsupportedOperationException("The warehouse's S3FileIO has no async client (no Netty or CRT "
                + "HTTP client is shipped)");
    }
}
