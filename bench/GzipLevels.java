import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.zip.Deflater;

/**
 * What each gzip level costs on a file, compressed as the service does (ParallelGzip: independent members of 1 MiB,
 * the JDK's zlib): size over the file's, and the CPU-seconds one thread spends (its own CPU time, so other load on
 * the machine does not count). The best of three passes per level.
 *
 *   java bench/GzipLevels.java FILE [MAX-LEVEL]
 */
public final class GzipLevels {

    private static final int CHUNK = 1 << 20;

    public static void main(String[] args) throws Exception {
        byte[] data = Files.readAllBytes(Path.of(args[0]));
        int maxLevel = args.length > 1 ? Integer.parseInt(args[1]) : 6;
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        byte[] out = new byte[CHUNK + CHUNK / 8];
        System.out.printf(Locale.ROOT, "%-6s %-10s %-10s %s%n", "level", "size", "CPU s", "MB/s on one core");
        for (int level = 1; level <= maxLevel; level++) {
            long best = Long.MAX_VALUE;
            long size = 0;
            for (int pass = 0; pass < 3; pass++) {
                long t0 = threads.getCurrentThreadCpuTime();
                size = 0;
                Deflater deflater = new Deflater(level, true);
                for (int at = 0; at < data.length; at += CHUNK) {
                    deflater.reset();
                    deflater.setInput(data, at, Math.min(CHUNK, data.length - at));
                    deflater.finish();
                    while (!deflater.finished()) {
                        size += deflater.deflate(out);
                    }
                    size += 18; // header and trailer of the member
                }
                deflater.end();
                best = Math.min(best, threads.getCurrentThreadCpuTime() - t0);
            }
            System.out.printf(Locale.ROOT, "%-6d %-10.4f %-10.3f %.0f%n", level, (double) size / data.length,
                    best / 1e9, data.length / 1e6 / (best / 1e9));
        }
    }
}
