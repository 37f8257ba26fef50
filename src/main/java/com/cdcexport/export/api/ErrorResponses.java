package com.cdcexport.export.api;

import jakarta.servlet.DispatcherType;
import jakarta.servlet.RequestDispatcher;
import jakarta.servlet.http.HttpServletRequest;

import io.swagger.v3.oas.annotations.Hidden;
import org.apache.catalina.Valve;
import org.apache.catalina.core.StandardHost;
import org.apache.catalina.valves.ErrorReportValve;

import org.springframework.boot.tomcat.servlet.TomcatServletWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.boot.webmvc.error.ErrorController;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.security.web.firewall.RequestRejectedHandler;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * The errors that never reach a controller, as problem+json like the rest: Spring Security's firewall rejections,
 * anything sent with {@code response.sendError} (Spring Boot's /error page), and Tomcat's own error pages.
 */
@Configuration(proxyBeanMethods = false)
class ErrorResponses {

    static final String REJECTED = "The request target or a header contains a sequence this service refuses "
            + "(such as '//', ';', an encoded '.', '/' or '%', or a control character)";

    /** The firewall refuses e.g. /exports//full, /exports/full;x=1, /exports/%2e%2e/full: a 400 with a reason. */
    @Bean
    RequestRejectedHandler requestRejectedHandler() {
        return (request, response, rejected) -> response.sendError(HttpStatus.BAD_REQUEST.value(), REJECTED);
    }

    @Bean
    ProblemJsonValveInstaller problemJsonErrorReportValve() {
        return new ProblemJsonValveInstaller();
    }

    /** Runs after Spring Boot's customizer, which installs Tomcat's HTML ErrorReportValve, and replaces it. */
    static final class ProblemJsonValveInstaller
            implements WebServerFactoryCustomizer<TomcatServletWebServerFactory>, Ordered {

        @Override
        public void customize(TomcatServletWebServerFactory factory) {
            factory.addContextCustomizers(context -> {
                if (context.getParent() instanceof StandardHost host) {
                    for (Valve valve : host.getPipeline().getValves()) {
                        if (valve instanceof ErrorReportValve && !(valve instanceof ProblemJsonErrorReportValve)) {
                            host.getPipeline().removeValve(valve);
                        }
                    }
                    host.getPipeline().addValve(new ProblemJsonErrorReportValve());
                    // So that the host does not add its default ErrorReportValve when it starts.
                    host.setErrorReportValveClass(ProblemJsonErrorReportValve.class.getName());
                }
            });
        }

        @Override
        public int getOrder() {
            return Ordered.LOWEST_PRECEDENCE;
        }
    }

    /** Replaces Spring Boot's /error, whose JSON is not problem+json. */
    @Hidden
    @RestController
    static class ProblemErrorController implements ErrorController {

        @RequestMapping("${server.error.path:/error}")
        ResponseEntity<ProblemDetail> error(HttpServletRequest request) {
            if (request.getDispatcherType() != DispatcherType.ERROR) {
                // Asked for directly (GET /error): there is no error to report, and no such resource.
                return ProblemHandler.problem(HttpStatus.NOT_FOUND, "No such resource", HttpHeaders.EMPTY);
            }
            Object code = request.getAttribute(RequestDispatcher.ERROR_STATUS_CODE);
            HttpStatus status = code instanceof Integer c && HttpStatus.resolve(c) != null
                    ? HttpStatus.resolve(c) : HttpStatus.INTERNAL_SERVER_ERROR;
            Object message = request.getAttribute(RequestDispatcher.ERROR_MESSAGE);
            // Only our own messages (sendError with a text we chose) are shown; the container's may quote input.
            String detail = REJECTED.equals(message) ? REJECTED
                    : status.is5xxServerError() ? "Internal error; see the service log" : status.getReasonPhrase();
            return ProblemHandler.problem(status, detail, HttpHeaders.EMPTY);
        }
    }
}
