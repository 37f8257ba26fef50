package com.cdcexport.config;

import java.util.Arrays;
import java.util.stream.Collectors;

import ch.qos.logback.classic.pattern.ClassicConverter;
import ch.qos.logback.classic.spi.ILoggingEvent;
import net.logstash.logback.argument.StructuredArgument;

/**
 * {@code %fields} in a text pattern: the key=value arguments that JSON lines carry as fields (event, jobId, ...),
 * which a plain {@code %msg} would drop.
 */
public class StructuredArgumentsConverter extends ClassicConverter {

    @Override
    public String convert(ILoggingEvent event) {
        Object[] arguments = event.getArgumentArray();
        if (arguments == null) {
            return "";
        }
        String fields = Arrays.stream(arguments)
                .filter(StructuredArgument.class::isInstance)
                .map(Object::toString)
                .collect(Collectors.joining(" "));
        return fields.isEmpty() ? "" : " " + fields;
    }
}
