package com.cdcexport.export.api;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;

import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.http.HttpStatus;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * At most {@link #MAX_BYTES} in a request body, on every path: the API's largest legitimate body (a consumer's
 * rule at its limit of values) is far smaller. A declared Content-Length beyond it is answered 413 before a byte
 * of the body is read (and before the key is checked); a chunked body is counted as it is read, and the read that
 * passes the limit fails, which {@link ProblemHandler} answers 413 too. Nothing buffers more than the limit.
 */
@Configuration(proxyBeanMethods = false)
class RequestBodyLimit {

    static final long MAX_BYTES = 1024 * 1024;
    static final String TOO_LARGE = "The request body is larger than 1 MiB (1,048,576 bytes), the most this service "
            + "accepts";

    @Bean
    FilterRegistrationBean<OncePerRequestFilter> requestBodyLimitFilter() {
        FilterRegistrationBean<OncePerRequestFilter> registration = new FilterRegistrationBean<>(new Filter());
        // Right after the forwarded-header filter, before Spring Security: no key lookup for a refused body.
        registration.setOrder(Ordered.HIGHEST_PRECEDENCE + 1);
        return registration;
    }

    /** Thrown by a read that passes the limit, so whatever was reading (Jackson) stops there. */
    static final class BodyTooLargeException extends IOException {
        BodyTooLargeException() {
            super(TOO_LARGE);
        }
    }

    private static final class Filter extends OncePerRequestFilter {
        @Override
        protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
                throws ServletException, IOException {
            long declared = request.getContentLengthLong();
            if (declared > MAX_BYTES) {
                response.setStatus(HttpStatus.CONTENT_TOO_LARGE.value());
                response.setContentType(ApiDocs.PROBLEM);
                response.setCharacterEncoding("UTF-8");
                response.getWriter().write(ProblemJson.of(HttpStatus.CONTENT_TOO_LARGE.value(),
                        HttpStatus.CONTENT_TOO_LARGE.getReasonPhrase(), TOO_LARGE, request.getRequestURI()));
                return;
            }
            // Within a declared length the container stops at it; without one (chunked), count.
            chain.doFilter(declared < 0 ? new Counted(request) : request, response);
        }
    }

    private static final class Counted extends HttpServletRequestWrapper {
        private ServletInputStream stream;

        Counted(HttpServletRequest request) {
            super(request);
        }

        @Override
        public ServletInputStream getInputStream() throws IOException {
            if (stream == null) {
                stream = new CountingStream(super.getInputStream());
            }
            return stream;
        }

        @Override
        public BufferedReader getReader() throws IOException {
            String encoding = getCharacterEncoding();
            Charset charset = encoding == null ? StandardCharsets.UTF_8 : Charset.forName(encoding);
            return new BufferedReader(new InputStreamReader(getInputStream(), charset));
        }
    }

    private static final class CountingStream extends ServletInputStream {
        private final ServletInputStream in;
        private long read;

        CountingStream(ServletInputStream in) {
            this.in = in;
        }

        @Override
        public int read() throws IOException {
            int b = in.read();
            if (b >= 0) {
                count(1);
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n > 0) {
                count(n);
            }
            return n;
        }

        private void count(int n) throws BodyTooLargeException {
            read += n;
            if (read > MAX_BYTES) {
                throw new BodyTooLargeException();
            }
        }

        @Override
        public boolean isFinished() {
            return in.isFinished();
        }

        @Override
        public boolean isReady() {
            return in.isReady();
        }

        @Override
        public void setReadListener(ReadListener listener) {
            in.setReadListener(listener);
        }
    }
}
