package com.cdcexport.export.api;

import io.swagger.v3.oas.models.Components;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.info.Info;
import io.swagger.v3.oas.models.security.SecurityRequirement;
import io.swagger.v3.oas.models.security.SecurityScheme;

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
                .description("Exports PostgreSQL tables (EXPORT_TABLES; users by default) to CSV files: full, incremental "
                        + "and delta exports of one or several tables in one snapshot, each "
                        + "consumer with its own watermark. Errors are application/problem+json with a `detail`. "
                        + "With AUTH_MODE=api-key, /exports needs the consumer's key (Bearer or X-API-Key) and "
                        + "/consumers the admin token."))
                .components(new Components()
                        .addSecuritySchemes("apiKey", bearer("A consumer's API key (or send it as X-API-Key)"))
                        .addSecuritySchemes("adminToken", bearer("ADMIN_TOKEN")))
                .addSecurityItem(new SecurityRequirement().addList("apiKey"));
    }

    private static SecurityScheme bearer(String description) {
        return new SecurityScheme().type(SecurityScheme.Type.HTTP).scheme("bearer").description(description);
    }
}
