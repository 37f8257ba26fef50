package com.cdcexport.config;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.diagnostics.FailureAnalysisReporter;

/**
 * Reports an analysed start-up failure as one line on stderr, whatever the log format, so that a person sees what
 * to change and a supervisor's log keeps one greppable line. Spring's own reporter (a multi-line block, JSON-escaped
 * in production) is switched off in application.yml; the exception chain is logged at DEBUG for whoever needs it.
 */
class OneLineFailureReporter implements FailureAnalysisReporter {

    private static final Logger log = LoggerFactory.getLogger(OneLineFailureReporter.class);

    @Override
    public void report(FailureAnalysis analysis) {
        log.debug("Start-up failed", analysis.getCause());
        System.err.println(line(analysis));
        System.err.flush();
    }

    static String line(FailureAnalysis analysis) {
        String description = analysis.getDescription().strip().replaceFirst("\\.$", "");
        String action = analysis.getAction() == null ? "" : analysis.getAction().strip();
        String line = "Cannot start: " + description + (action.isEmpty() ? "" : "; " + action);
        return line.replaceAll("\\s*\\R\\s*", " ");
    }
}
