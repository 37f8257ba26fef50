package com.cdcexport.export.job;

import jakarta.persistence.AttributeConverter;
import jakarta.persistence.Converter;

import com.cdcexport.export.ExportType;

/** The database stores enums as the lowercase words the API shows (and the CHECK constraints allow). */
final class LowercaseEnumConverters {

    private LowercaseEnumConverters() {
    }

    @Converter(autoApply = true)
    static final class JobStatusConverter implements AttributeConverter<JobStatus, String> {
        @Override
        public String convertToDatabaseColumn(JobStatus value) {
            return value == null ? null : value.slug();
        }

        @Override
        public JobStatus convertToEntityAttribute(String value) {
            return value == null ? null : JobStatus.valueOf(value.toUpperCase());
        }
    }

    @Converter(autoApply = true)
    static final class ExportTypeConverter implements AttributeConverter<ExportType, String> {
        @Override
        public String convertToDatabaseColumn(ExportType value) {
            return value == null ? null : value.slug();
        }

        @Override
        public ExportType convertToEntityAttribute(String value) {
            return value == null ? null : ExportType.valueOf(value.toUpperCase());
        }
    }
}
