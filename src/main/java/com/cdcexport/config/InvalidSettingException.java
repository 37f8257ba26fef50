package com.cdcexport.config;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.Locale;

/** A setting that cannot work; its message names the environment variable and is shown to the user as is. */
public class InvalidSettingException extends IllegalStateException {

    public InvalidSettingException(String message) {
        super(message);
    }

    public InvalidSettingException(String message, Throwable cause) {
        super(message, cause);
    }

    /** "/srv/out: not a directory" rather than "java.nio.file.FileSystemException: /srv/out: Not a directory". */
    public static String describe(IOException e) {
        String what;
        if (e instanceof NoSuchFileException) {
            what = "does not exist";
        } else if (e instanceof AccessDeniedException) {
            what = "permission denied";
        } else if (e instanceof FileAlreadyExistsException) {
            what = "exists and is not a directory";
        } else if (e instanceof NotDirectoryException) {
            what = "not a directory";
        } else if (e instanceof FileSystemException f && f.getReason() != null) {
            what = f.getReason().toLowerCase(Locale.ROOT);
        } else {
            what = e.getMessage();
        }
        return e instanceof FileSystemException f && f.getFile() != null ? f.getFile() + ": " + what : what;
    }
}
