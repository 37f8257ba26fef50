package com.cdcexport.consumer;

import java.util.Optional;

/**
 * Who a request acts for, resolved once per request by the authentication layer and handed to controllers as a
 * parameter: the consumer whose key the request carries, or nobody in particular (the administrator, or
 * AUTH_MODE=off, where the X-Consumer-ID header names the consumer).
 *
 * @param keyConsumer the consumer of the request's API key, when it has one
 */
public record Acting(Optional<ConsumerId> keyConsumer) {

    /**
     * The consumer an /exports request acts for: the key's consumer (the header, when sent, was checked to be the
     * same), or, without a consumer's key, the X-Consumer-ID header.
     */
    public ConsumerId consumerFor(String consumerHeader) {
        return keyConsumer.orElseGet(() -> new ConsumerId(consumerHeader));
    }

    /** Whether the request may see data of {@code consumer}: its own, or anyone's without a consumer's key. */
    public boolean maySee(ConsumerId consumer) {
        return keyConsumer.map(consumer::equals).orElse(true);
    }
}
