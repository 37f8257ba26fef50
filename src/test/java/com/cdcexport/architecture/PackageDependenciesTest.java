package com.cdcexport.architecture;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The feature packages stay apart: authentication and exports share only the consumer package (the consumer id
 * and who a request acts for), so either can change without the other, and neither knows the other's errors. The
 * console sits on top of both; neither knows it.
 */
class PackageDependenciesTest {

    private static final Path SOURCES = Path.of("src/main/java/com/cdcexport");

    @ParameterizedTest(name = "{0} does not import {1}")
    @CsvSource({"auth, com.cdcexport.export", "export, com.cdcexport.auth", "consumer, com.cdcexport.auth",
            "consumer, com.cdcexport.export", "auth, com.cdcexport.console", "export, com.cdcexport.console"})
    void aPackageDoesNotDependOnAnother(String from, String forbidden) throws IOException {
        try (Stream<Path> files = Files.walk(SOURCES.resolve(from))) {
            List<String> offenders = files.filter(p -> p.toString().endsWith(".java"))
                    .filter(p -> imports(p, forbidden))
                    .map(p -> SOURCES.relativize(p).toString())
                    .toList();
            assertThat(offenders).as("files of %s importing %s", from, forbidden).isEmpty();
        }
    }

    private static boolean imports(Path file, String forbidden) {
        try (Stream<String> lines = Files.lines(file)) {
            return lines.anyMatch(line -> line.startsWith("import " + forbidden + ".")
                    || line.startsWith("import static " + forbidden + "."));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
