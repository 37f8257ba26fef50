package com.cdcexport.export.job;

import java.util.Locale;

import jakarta.persistence.AttributeConverter;
import jakarta.persistence.Converter;

import com.cdcexport.export.ExportType;

/** The database stores enums as the lowercase words the API shows (and the CHECK constraints allow). */
final class LowercaseEnumConverters {

    private LowercaseEnumConverters() {
    }

    abstract static class LowercaseEnumConverter<E extends Enum<E>> implements AttributeConverter<E, String> {

        private final Class<E> type;

        LowercaseEnumConverter(Class<E> type) {
            this.type = type;
        }

        @Override
        public String convertToDatabaseColumn(E value) {
            return value == null ? null : value.name().toLowerCase(Locale.ROOT);
        }

        @Override
        public E convertToEntityAttribute(String value) {
            return value == null ? null : Enum.valueOf(type, value.toUpperCase(Locale.ROOT));
        }
    }

    @Converter(autoApply = true)
    static final class JobStatusConverter extends LowercaseEnumConverter<JobStatus> {
        JobStatusConverter() {
            super(JobStatus.class);
        }
    }

    @Converter(autoApply = true)
    static final class ExportTypeConverter extends LowercaseEnumConverter<ExportType> {
        ExportTypeConverter() {
            super(ExportType.class);
        }
    }
}
