package com.cdcexport.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Directories an embedded PostgreSQL may live under when the tests run as root: the server then runs as an
 * unprivileged user, who must pass through every directory above its data. The build's target/ is used when that
 * user can reach it (a checkout in a home or /work is 0755); a clone under a 0700 /tmp or /root is not, and then
 * /var/tmp (1777 on Debian) is.
 */
public final class OpenDirectories {

    private OpenDirectories() {
    }

    /** A new 0755 directory named {@code prefix…}, which other users may pass through. */
    public static Path create(String prefix) throws IOException {
        Path target = Files.createDirectories(Path.of("target").toAbsolutePath());
        Path base = passable(target) ? target : Path.of("/var/tmp");
        if (!passable(base)) {
            throw new IllegalStateException("Neither " + target + " nor /var/tmp can be passed through by other users;"
                    + " an embedded PostgreSQL run as an unprivileged user could not reach its data there");
        }
        Path directory = Files.createTempDirectory(base, prefix);
        Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwxr-xr-x"));
        return directory;
    }

    private static boolean passable(Path directory) throws IOException {
        for (Path above = directory; above != null; above = above.getParent()) {
            if (!Files.getPosixFilePermissions(above).contains(PosixFilePermission.OTHERS_EXECUTE)) {
                return false;
            }
        }
        return true;
    }
}
