package com.cdcexport.export.api;

import java.util.List;

import io.swagger.v3.oas.models.Components;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.info.Info;
import io.swagger.v3.oas.models.security.SecurityRequirement;
import io.swagger.v3.oas.models.security.SecurityScheme;
import io.swagger.v3.oas.models.servers.Server;

import org.springdoc.core.properties.SpringDocConfigProperties;
import org.springdoc.core.properties.SwaggerUiConfigParameters;
import org.springdoc.core.properties.SwaggerUiConfigProperties;
import org.springdoc.core.providers.SpringWebProvider;
import org.springdoc.webmvc.ui.SwaggerWelcomeWebMvc;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.web.filter.ForwardedHeaderFilter;
import org.springframework.web.util.UriComponentsBuilder;

import com.cdcexport.config.CdcProperties;

/** The OpenAPI document's header; the operations describe themselves (/v3/api-docs, /swagger-ui.html). */
@Configuration(proxyBeanMethods = false)
class OpenApiConfig {

    /**
     * The server is PUBLIC_URL, else "/" (relative to wherever the document was fetched from): never the
     * request's Host, which any client can set and which would then be served to other clients.
     */
    @Bean
    OpenAPI cdcExportApi(CdcProperties properties) {
        String publicUrl = properties.publicUrl().isBlank() ? "/" : properties.publicUrl().replaceFirst("/+$", "");
        return new OpenAPI().servers(List.of(new Server().url(publicUrl))).info(new Info()
                .title("CDC Export Service")
                .version("0.1.0")
                .description("Exports the users table to CSV files: full, incremental and delta exports, each "
                        + "consumer with its own watermark. Errors are application/problem+json with a `detail`. "
                        + "With AUTH_MODE=api-key, /exports needs the consumer's key (Bearer or X-API-Key) and "
                        + "/consumers the admin token."))
                .components(new Components()
                        .addSecuritySchemes("apiKey", bearer("A consumer's API key (or send it as X-API-Key)"))
                        .addSecuritySchemes("adminToken", bearer("ADMIN_TOKEN")))
                .addSecurityItem(new SecurityRequirement().addList("apiKey"));
    }

    /**
     * springdoc builds Swagger UI's OAuth redirect from the request (its Host, and X-Forwarded-* whatever
     * server.forward-headers-strategy says) unless it is configured as an absolute URL: this one is PUBLIC_URL's,
     * else relative to wherever Swagger UI was loaded from.
     */
    @Bean
    SwaggerWelcomeWebMvc swaggerWelcome(SwaggerUiConfigProperties swaggerUi, SpringDocConfigProperties springDoc,
                                        ObjectProvider<SpringWebProvider> springWeb, CdcProperties properties) {
        String publicUrl = properties.publicUrl().replaceFirst("/+$", "");
        return new SwaggerWelcomeWebMvc(swaggerUi, springDoc, springWeb) {
            @Override
            protected void calculateOauth2RedirectUrl(SwaggerUiConfigParameters parameters,
                                                      UriComponentsBuilder fromRequest) {
                parameters.setOauth2RedirectUrl(publicUrl + parameters.getUiRootPath() + getOauth2RedirectUrl());
            }
        };
    }

    /**
     * Unless a proxy is declared (FORWARD_HEADERS_STRATEGY), X-Forwarded-* and Forwarded are dropped on arrival:
     * Spring's URL builders would otherwise believe them even where Tomcat does not.
     */
    @Bean
    @ConditionalOnProperty(name = "server.forward-headers-strategy", havingValue = "none", matchIfMissing = true)
    FilterRegistrationBean<ForwardedHeaderFilter> dropForwardedHeaders() {
        ForwardedHeaderFilter filter = new ForwardedHeaderFilter();
        filter.setRemoveOnly(true);
        FilterRegistrationBean<ForwardedHeaderFilter> registration = new FilterRegistrationBean<>(filter);
        registration.setOrder(Ordered.HIGHEST_PRECEDENCE);
        return registration;
    }

    private static SecurityScheme bearer(String description) {
        return new SecurityScheme().type(SecurityScheme.Type.HTTP).scheme("bearer").description(description);
    }
}
