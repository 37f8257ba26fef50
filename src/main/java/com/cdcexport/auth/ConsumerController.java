package com.cdcexport.auth;

import java.net.URI;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.List;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.security.SecurityRequirement;
import io.swagger.v3.oas.annotations.tags.Tag;

import org.springframework.boot.convert.DurationStyle;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

import com.cdcexport.auth.ConsumerService.ConsumerView;
import com.cdcexport.auth.ConsumerService.IssuedKey;
import com.cdcexport.config.CdcProperties;
import com.cdcexport.consumer.ConsumerId;

/** Consumer and key management; needs the admin token. A key is in the response that creates it and nowhere else. */
@Tag(name = "Consumers")
@SecurityRequirement(name = "adminToken")
@RestController
@RequestMapping("/consumers")
class ConsumerController {

    private static final Duration MAX_OVERLAP = Duration.ofDays(30);

    private final ConsumerService consumers;
    private final Duration defaultOverlap;

    ConsumerController(ConsumerService consumers, CdcProperties properties) {
        this.consumers = consumers;
        this.defaultOverlap = properties.auth().keyRotationOverlap();
    }

    @Operation(summary = "Create a consumer and its first API key (shown only in this response)")
    @ApiResponse(responseCode = "201", description = "Created; Location names the consumer")
    @ApiResponse(responseCode = "409", description = "The consumer exists already")
    @PostMapping
    ResponseEntity<IssuedKey> create(@RequestBody NewConsumer body) {
        IssuedKey issued = consumers.create(consumerId(body == null ? null : body.consumerId()));
        return ResponseEntity.created(URI.create("/consumers/" + issued.consumerId())).body(issued);
    }

    @Operation(summary = "Every consumer with its keys' ids and states (never the keys)")
    @GetMapping
    List<ConsumerView> list() {
        return consumers.list();
    }

    @Operation(summary = "One consumer with its keys' ids and states")
    @ApiResponse(responseCode = "200", description = "The consumer")
    @ApiResponse(responseCode = "404", description = "No such consumer")
    @GetMapping("/{consumerId}")
    ConsumerView get(@PathVariable String consumerId) {
        return consumers.find(consumerId(consumerId));
    }

    @Operation(summary = "Rotate: a new key; the consumer's other keys keep working for the overlap, then expire")
    @ApiResponse(responseCode = "201", description = "The new key")
    @ApiResponse(responseCode = "404", description = "No such consumer")
    @PostMapping("/{consumerId}/keys")
    @ResponseStatus(HttpStatus.CREATED)
    IssuedKey rotate(@PathVariable String consumerId,
                     @Parameter(description = "How long the previous keys stay valid, ISO-8601 (PT1H) or 90s/15m/24h;"
                             + " default KEY_ROTATION_OVERLAP; 0 ends them now", example = "PT1H")
                     @RequestParam(required = false) String overlap) {
        return consumers.rotate(consumerId(consumerId), overlap == null ? defaultOverlap : overlap(overlap));
    }

    @Operation(summary = "Revoke a key at once")
    @ApiResponse(responseCode = "204", description = "Revoked (or revoked already)")
    @ApiResponse(responseCode = "404", description = "No such consumer or key")
    @DeleteMapping("/{consumerId}/keys/{keyId}")
    @ResponseStatus(HttpStatus.NO_CONTENT)
    void revoke(@PathVariable String consumerId, @PathVariable String keyId) {
        consumers.revoke(consumerId(consumerId), keyId);
    }

    private static ConsumerId consumerId(String value) {
        try {
            return new ConsumerId(value);
        } catch (IllegalArgumentException e) {
            throw AuthProblem.badRequest("consumerId must be " + ConsumerId.RULE);
        }
    }

    private static Duration overlap(String text) {
        Duration overlap;
        try {
            overlap = text.matches("\\d+") ? Duration.ofSeconds(Long.parseLong(text))
                    : text.matches("\\d+[smhd]") ? DurationStyle.SIMPLE.parse(text)
                    : Duration.parse(text);
        } catch (DateTimeParseException | IllegalArgumentException | ArithmeticException e) {
            throw AuthProblem.badRequest("overlap must be a duration such as PT1H, 15m or 0");
        }
        if (overlap.isNegative() || overlap.compareTo(MAX_OVERLAP) > 0) {
            throw AuthProblem.badRequest("overlap must be between 0 and 30 days");
        }
        return overlap;
    }

    record NewConsumer(@Parameter(example = "analytics") String consumerId) {
    }
}
