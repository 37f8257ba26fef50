package com.cdcexport.config;

import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Set;

/** Octal file modes (0640) and Java's permission sets, both ways. */
public final class FileModes {

    private FileModes() {
    }

    public static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> permissions = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] byBit = PosixFilePermission.values(); // OWNER_READ ... OTHERS_EXECUTE
        for (int i = 0; i < byBit.length; i++) {
            if ((mode & (0400 >> i)) != 0) {
                permissions.add(byBit[i]);
            }
        }
        return permissions;
    }

    public static int mode(Set<PosixFilePermission> permissions) {
        return permissions.stream().mapToInt(p -> 0400 >> p.ordinal()).reduce(0, (a, b) -> a | b);
    }
}
