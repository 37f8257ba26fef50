package com.cdcexport.export.api;

import java.util.List;

import io.swagger.v3.oas.models.Components;
import io.swagger.v3.oas.models.headers.Header;
import io.swagger.v3.oas.models.media.Content;
import io.swagger.v3.oas.models.media.IntegerSchema;
import io.swagger.v3.oas.models.media.MediaType;
import io.swagger.v3.oas.models.media.ObjectSchema;
import io.swagger.v3.oas.models.media.Schema;
import io.swagger.v3.oas.models.media.StringSchema;
import io.swagger.v3.oas.models.responses.ApiResponse;
import io.swagger.v3.oas.models.responses.ApiResponses;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.info.Info;
import io.swagger.v3.oas.models.security.SecurityRequirement;
import io.swagger.v3.oas.models.security.SecurityScheme;
import io.swagger.v3.oas.models.servers.Server;

import org.springdoc.core.customizers.OpenApiCustomizer;
import org.springdoc.core.properties.SpringDocConfigProperties;
import org.springdoc.core.properties.SwaggerUiConfigParameters;
import org.springdoc.core.properties.SwaggerUiConfigProperties;
import org.springdoc.core.providers.SpringWebProvider;
import org.springdoc.webmvc.ui.SwaggerWelcomeWebMvc;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
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

    /**
     * What every operation can answer besides its own outcomes, so that the document lists each status the service
     * really sends: 400 (a refused request target or header), 503 (database unavailable) everywhere but /health;
     * 401, 403 and 429 where a key is checked. Every error answer is problem+json (416 has no body).
     */
    @Bean
    OpenApiCustomizer commonResponses() {
        return openApi -> {
            openApi.getComponents().addSchemas(PROBLEM_SCHEMA, problemSchema());
            openApi.getPaths().forEach((path, item) -> item.readOperations().forEach(operation -> {
                ApiResponses responses = operation.getResponses();
                if (!path.equals("/health")) {
                    responses.putIfAbsent("400", new ApiResponse().description("The request is malformed or invalid"));
                    responses.putIfAbsent("503", new ApiResponse().description("The database is unavailable; "
                            + "retry after Retry-After seconds").addHeaderObject("Retry-After", retryAfter()));
                }
                if (operation.getRequestBody() != null) {
                    responses.putIfAbsent("413", new ApiResponse().description("The request body is larger than "
                            + "1 MiB"));
                }
                if (path.startsWith("/exports") || path.startsWith("/consumers")) {
                    responses.putIfAbsent("401", new ApiResponse().description("No key, or a key that is not valid"));
                    responses.putIfAbsent("403", new ApiResponse().description("The key may not do this"));
                    responses.putIfAbsent("429", new ApiResponse().description("Too many requests (rate limit, "
                            + "failed keys, or a full queue); retry after Retry-After seconds")
                            .addHeaderObject("Retry-After", retryAfter()));
                }
                responses.forEach((status, response) -> {
                    if (status.matches("[45]\\d\\d") && !status.equals("416")) {
                        Content content = response.getContent() == null ? new Content() : response.getContent();
                        MediaType problem = content.computeIfAbsent(ApiDocs.PROBLEM, type -> new MediaType());
                        problem.setSchema(new Schema<>().$ref("#/components/schemas/" + PROBLEM_SCHEMA));
                        content.keySet().removeIf(type -> !type.equals(ApiDocs.PROBLEM));
                        response.setContent(content);
                    }
                });
            }));
        };
    }

    private static final String PROBLEM_SCHEMA = "ProblemDetail";

    /** RFC 9457 as Spring writes it: extension members (activeJobId) at top level, instance a relative reference. */
    @SuppressWarnings("rawtypes")
    private static Schema problemSchema() {
        return new ObjectSchema()
                .addProperty("type", new StringSchema().example("about:blank"))
                .addProperty("title", new StringSchema())
                .addProperty("status", new IntegerSchema().format("int32"))
                .addProperty("detail", new StringSchema())
                .addProperty("instance", new StringSchema().description("The request path, e.g. /exports/full"))
                .required(List.of("status", "detail"))
                .additionalProperties(Boolean.TRUE);
    }

    private static Header retryAfter() {
        return new Header().description("Seconds to wait").schema(new IntegerSchema());
    }

    /**
     * springdoc builds Swagger UI's OAuth redirect from the request (its Host, and X-Forwarded-* whatever
     * server.forward-headers-strategy says) unless it is configured as an absolute URL: this one is PUBLIC_URL's,
     * else relative to wherever Swagger UI was loaded from.
     */
    @Bean
    @ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
    @ConditionalOnProperty(name = "springdoc.swagger-ui.enabled", matchIfMissing = true)
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
