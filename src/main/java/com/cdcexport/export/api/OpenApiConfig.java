package com.cdcexport.export.api;

import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.info.Info;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The OpenAPI document's header; the operations describe themselves (/v3/api-docs, /swagger-ui.html). */
@Configuration(proxyBeanMethods = false)
class OpenApiConfig {

    @Bean
    OpenAPI cdcExportApi() {
        return new OpenAPI().info(new Info()
                .title("CDC Export Service")
                .version("0.1.0")
                .description("Exports the users table to CSV files: full, incremental and delta exports, each "
                        + "consumer with its own watermark. Errors are application/problem+json with a `detail`."));
    }
}
