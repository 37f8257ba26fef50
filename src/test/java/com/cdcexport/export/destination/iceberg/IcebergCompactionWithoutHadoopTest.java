package com.cdcexport.export.destination.iceberg;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * The packaged service has no Hadoop jar (hadoop-common is only on the compile and test class paths). Upkeep's
 * rewrite reads the tables' files with parquet-java and writes them with the export encoder: run on the test class
 * path less every Hadoop jar, it completes, and -verbose:class shows that no Hadoop class was even asked for.
 */
class IcebergCompactionWithoutHadoopTest {

    @Test
    void aRewriteCompletesAndLoadsNoHadoopClassWhereHadoopIsAbsent() throws Exception {
        String testPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> entries = Stream.of(testPath.split(File.pathSeparator)).toList();
        String withoutHadoop = entries.stream().filter(e -> !e.replace('\\', '/').contains("/org/apache/hadoop/"))
                .collect(Collectors.joining(File.pathSeparator));
        assertThat(withoutHadoop.length()).as("the test class path has Hadoop jars to leave out")
                .isLessThan(testPath.length());

        Process bench = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx64m", "-verbose:class", "-cp", withoutHadoop, IcebergCompactionBench.class.getName(), "20000",
                "9", "1").redirectErrorStream(true).start();
        String output = new String(bench.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(bench.waitFor(60, TimeUnit.SECONDS)).isTrue();

        assertThat(bench.exitValue()).as(output.lines().filter(l -> !l.contains("[class,load]"))
                .collect(Collectors.joining("\n"))).isZero();
        assertThat(output).contains("committed=true").contains("now 20000 records in 1 data files, 0 delete files")
                .contains("org.apache.parquet.hadoop.ParquetFileReader");
        assertThat(output.lines().filter(l -> l.contains(" org.apache.hadoop."))).isEmpty();
    }
}
