package com.cdcexport.export.api;

import java.util.List;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;

import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RestController;

import com.cdcexport.consumer.Acting;
import com.cdcexport.export.destination.iceberg.IcebergDestination;
import com.cdcexport.export.destination.iceberg.IcebergDestination.TableState;

/** The consumer's Iceberg tables: what its exports with format=iceberg made, and where an engine opens them. */
@Tag(name = "Exports")
@RestController
class IcebergTablesController {

    private final IcebergDestination iceberg;

    IcebergTablesController(IcebergDestination iceberg) {
        this.iceberg = iceberg;
    }

    record IcebergTables(List<TableState> tables) {
    }

    @Operation(summary = "The consumer's Iceberg tables",
            description = "Each table its exports with format=iceberg applied to: its current metadata file (what "
                    + "an engine opens, or read the embedded catalog), snapshot, records and files.")
    @ApiResponse(responseCode = "200", description = "The tables, by name; none before the first such export")
    @ApiDocs.BadRequest
    @GetMapping("/exports/iceberg")
    IcebergTables tables(@ApiDocs.ConsumerHeader @RequestHeader(name = ExportController.CONSUMER_HEADER,
                                 required = false) String consumerId,
                         @Parameter(hidden = true) Acting acting) {
        return new IcebergTables(iceberg.tables(acting.consumerFor(consumerId)));
    }
}
