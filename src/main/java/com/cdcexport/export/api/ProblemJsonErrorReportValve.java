package com.cdcexport.export.api;

import java.io.IOException;
import java.io.Writer;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.valves.ErrorReportValve;
import org.apache.coyote.ActionCode;

import org.springframework.http.HttpStatus;

/**
 * Tomcat's own error answers (a request it refuses before any servlet sees it: an encoded '/' or NUL, a malformed
 * request line, headers too large) as problem+json instead of its HTML page. Installed by {@link ErrorResponses}.
 */
public class ProblemJsonErrorReportValve extends ErrorReportValve {

    @Override
    protected void report(Request request, Response response, Throwable throwable) {
        int status = response.getStatus();
        // The same conditions as Tomcat's page: an error, nothing written yet, reported once, the socket usable.
        if (status < 400 || response.getContentWritten() > 0 || !response.setErrorReported()) {
            return;
        }
        AtomicBoolean ioAllowed = new AtomicBoolean(true);
        response.getCoyoteResponse().action(ActionCode.IS_IO_ALLOWED, ioAllowed);
        if (!ioAllowed.get()) {
            return;
        }
        HttpStatus known = HttpStatus.resolve(status);
        String title = known == null ? "Error" : known.getReasonPhrase();
        // Tomcat's message may quote the request; a fixed text says enough and reflects nothing.
        String detail = status == 400
                ? "The request is not valid HTTP or its target contains characters this service refuses "
                        + "(such as an encoded '/', '\\\\' or NUL), or its headers are too large"
                : "The server could not process the request (" + title + ")";
        try {
            response.setContentType(ApiDocs.PROBLEM);
            response.setCharacterEncoding("UTF-8");
            Writer writer = response.getReporter();
            if (writer != null) {
                writer.write(ProblemJson.of(status, title, detail, null));
                response.finishResponse();
            }
        } catch (IOException | IllegalStateException e) {
            // The client is gone or the response cannot be written: nothing more to tell it.
        }
    }
}
