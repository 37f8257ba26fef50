package com.cdcexport.config;

/** A setting that cannot work; its message names the environment variable and is shown to the user as is. */
public class InvalidSettingException extends IllegalStateException {

    public InvalidSettingException(String message) {
        super(message);
    }

    public InvalidSettingException(String message, Throwable cause) {
        super(message, cause);
    }
}
