package com.cdcexport.config;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Secrets of the no-configuration demo (admin token, a consumer's key, the embedded database's password), each
 * in its own file under a directory only the owner can enter, made once and read again at every start so that a
 * restart keeps them (and keys that clients already hold keep working).
 */
public final class LocalSecrets {

    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path directory;

    public LocalSecrets(Path directory) {
        this.directory = directory.toAbsolutePath().normalize();
    }

    public Path directory() {
        return directory;
    }

    /** The file's content, or 256 random bits in hex (as `openssl rand -hex 32`) written to it first (0600). */
    public String readOrCreate(String name) {
        Path file = directory.resolve(name);
        try {
            createPrivateDirectory(directory);
            if (!Files.exists(file)) {
                byte[] bytes = new byte[32];
                RANDOM.nextBytes(bytes);
                try {
                    Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                    Files.writeString(file, HexFormat.of().formatHex(bytes) + "\n");
                } catch (FileAlreadyExistsException raced) {
                    // another process made it first; use theirs
                }
            }
            String secret = Files.readString(file).strip();
            if (secret.isEmpty()) {
                throw new InvalidSettingException(file + " is empty: delete it and start again to make a new one");
            }
            return secret;
        } catch (IOException e) {
            throw new InvalidSettingException("Cannot keep the demo's secrets in " + directory + " ("
                    + InvalidSettingException.describe(e) + "): make it writable, set EMBEDDED_DATA_DIR elsewhere, "
                    + "or set DATABASE_URL", e);
        }
    }

    /** Creates the directory (and missing parents) and makes it 0700 even if it existed. */
    static void createPrivateDirectory(Path directory) throws IOException {
        Files.createDirectories(directory);
        Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwx------"));
    }
}
