package com.cdcexport.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

import com.cdcexport.CdcExportApplication;

/** MASKING_KEY too weak to key tokens stops start-up with one line naming it, never showing it. */
@ExtendWith(OutputCaptureExtension.class)
class MaskingKeySettingTest {

    @ParameterizedTest
    @ValueSource(strings = {"shortMaskingSecret1", "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"})
    void aWeakMaskingKeyFailsStartupWithoutShowingIt(String key, CapturedOutput output) {
        assertThatThrownBy(() -> new SpringApplicationBuilder(CdcExportApplication.class)
                .web(WebApplicationType.NONE)
                .run("--cdc.masking.key=" + key, "--cdc.database-url=postgresql://nowhere.invalid/none",
                        "--logging.level.com.cdcexport=debug").close())
                .isNotNull();

        assertThat(output.getErr()).contains("Cannot start: Invalid configuration: MASKING_KEY: must be at least 32 "
                + "characters, not one character repeated");
        assertThat(output.getAll()).doesNotContain(key);
    }
}
