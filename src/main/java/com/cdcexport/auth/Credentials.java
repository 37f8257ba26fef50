package com.cdcexport.auth;

/** What a refused request presented: what its audit spends and what its 401 tells the client. */
enum Credentials {
    /** No key at all: a client that forgot one, not a guess. */
    NONE,
    /** A key (or token) that opens nothing: counted against the address's allowance, and {@code invalid_token}. */
    INVALID,
    /** A valid key refused for what it asked (403). */
    VALID
}
