package com.cdcexport.export;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.Locale;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.cdcexport.export.job.JobStatus;
import com.cdcexport.export.model.ExportType;

/** Names the API and the database share must not depend on the default locale (Turkish dotless ı). */
class LocaleIndependenceTest {

    private Locale saved;

    @BeforeEach
    void turkish() {
        saved = Locale.getDefault();
        Locale.setDefault(Locale.forLanguageTag("tr-TR"));
    }

    @AfterEach
    void restore() {
        Locale.setDefault(saved);
    }

    @Test
    void exportTypesAndJobStatusesKeepTheirAsciiNamesUnderATurkishLocale() {
        assertThat(ExportType.fromSlug("incremental")).contains(ExportType.INCREMENTAL);
        assertThat(Arrays.stream(ExportType.values()).map(ExportType::slug))
                .containsExactly("full", "incremental", "delta");
        assertThat(Arrays.stream(JobStatus.values()).map(JobStatus::slug))
                .containsExactly("queued", "running", "completed", "failed", "cancelled");
    }
}
