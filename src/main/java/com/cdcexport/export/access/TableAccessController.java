package com.cdcexport.export.access;

import java.util.List;
import java.util.Map;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;

import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.web.ErrorResponseException;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

import com.cdcexport.consumer.ConsumerId;
import com.cdcexport.export.access.TableAccessStore.FilterCondition;
import com.cdcexport.export.access.TableAccessStore.TableRule;
import com.cdcexport.export.model.TableName;

/** The admin's rules for what a consumer may export (under /consumers, so the admin token guards them). */
@Tag(name = "Consumers")
@RestController
class TableAccessController {

    private final TableAccessStore store;

    TableAccessController(TableAccessStore store) {
        this.store = store;
    }

    record RuleRequest(List<String> columns, List<FilterCondition> filter, Map<String, String> masks) {
    }

    @Operation(summary = "Tables a consumer may export, with their column and row restrictions",
            description = "Empty: the consumer may export every captured table, whole.")
    @ApiResponse(responseCode = "200", description = "The consumer's rules, by table")
    @GetMapping("/consumers/{consumerId}/tables")
    List<TableRule> list(@PathVariable String consumerId) {
        return store.list(new ConsumerId(consumerId));
    }

    @Operation(summary = "Allow a consumer a table, optionally only some columns and rows",
            description = "columns: the columns it receives (the primary key always); filter: conditions "
                    + "{column, op, value|values} that all must hold, op one of =, <>, <, <=, >, >=, in, not in, "
                    + "is null, is not null; masks: {column: hmac-sha256 | null}, columns the consumer receives "
                    + "masked (a keyed token of the value, or NULL; never a key column). Once a consumer has a rule, "
                    + "it may export only tables it has rules for.")
    @ApiResponse(responseCode = "200", description = "The rule as stored")
    @ApiResponse(responseCode = "400", description = "A column that does not exist, an unknown operator, a value "
            + "that does not fit its column's type, an unknown mask, a masked key column or one not among columns",
            content = @Content(mediaType = "application/problem+json"))
    @ApiResponse(responseCode = "404", description = "The table is not in EXPORT_TABLES",
            content = @Content(mediaType = "application/problem+json"))
    @ApiResponse(responseCode = "409", description = "An hmac-sha256 mask, and the service has no MASKING_KEY",
            content = @Content(mediaType = "application/problem+json"))
    @PutMapping("/consumers/{consumerId}/tables/{table}")
    TableRule put(@PathVariable String consumerId, @PathVariable String table, @RequestBody RuleRequest rule) {
        return store.put(new ConsumerId(consumerId), tableName(table), rule.columns(), rule.filter(),
                rule.masks());
    }

    @Operation(summary = "Remove a consumer's rule for a table")
    @ApiResponse(responseCode = "204", description = "Removed")
    @ApiResponse(responseCode = "404", description = "The consumer has no rule for this table",
            content = @Content(mediaType = "application/problem+json"))
    @DeleteMapping("/consumers/{consumerId}/tables/{table}")
    @ResponseStatus(HttpStatus.NO_CONTENT)
    void remove(@PathVariable String consumerId, @PathVariable String table) {
        if (!store.remove(new ConsumerId(consumerId), tableName(table))) {
            throw new ErrorResponseException(HttpStatus.NOT_FOUND, ProblemDetail.forStatusAndDetail(
                    HttpStatus.NOT_FOUND, "Consumer " + consumerId + " has no rule for " + tableName(table)), null);
        }
    }

    static TableName tableName(String text) {
        return TableName.parse(text).orElseThrow(() -> TableAccessStore.badRule(
                "Not a table name: use [schema.]table with letters, digits, _ and $"));
    }
}
