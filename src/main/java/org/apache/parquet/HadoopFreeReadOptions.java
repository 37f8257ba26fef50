package org.apache.parquet;

import java.util.HashMap;

import org.apache.parquet.bytes.HeapByteBufferAllocator;
import org.apache.parquet.compression.CompressionCodecFactory;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.filter2.compat.FilterCompat;
import org.apache.parquet.format.converter.ParquetMetadataConverter;

/**
 * parquet-java's read options without Hadoop. Both constructors of {@link ParquetReadOptions.Builder} build Hadoop's
 * codec factory and ask {@code ParquetInputFormat} (a Hadoop {@code FileInputFormat}) for its record filter, even
 * when a codec factory is given, so a builder cannot be made where Hadoop is absent (the service ships none; the
 * Iceberg upkeep's rewrite reads the tables' files with parquet-java). The options' own constructor does neither, but
 * is package-private: hence this class in parquet's package (the service's jar loads it and parquet-java with the
 * same class loader). It passes the builder's defaults but the codecs; a parquet upgrade that changes the
 * constructor fails the build here.
 */
public final class HadoopFreeReadOptions {

    /** The builder's default: at most 8 MiB in one allocation. */
    private static final int MAX_ALLOCATION_BYTES = 8 << 20;

    private HadoopFreeReadOptions() {
    }

    /** Options reading every row (no filter, no statistics or bloom filters used), with {@code codecs}' pages. */
    public static ParquetReadOptions of(CompressionCodecFactory codecs) {
        return new ParquetReadOptions(false, false, false, false, false, false, false, false, false,
                FilterCompat.NOOP, ParquetMetadataConverter.NO_FILTER, codecs, new HeapByteBufferAllocator(),
                MAX_ALLOCATION_BYTES, new HashMap<>(), null, null, new PlainParquetConfiguration());
    }
}
