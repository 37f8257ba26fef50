package com.cdcexport.export.destination.iceberg;

import java.io.IOException;

import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;
import org.springframework.stereotype.Component;

/**
 * Readiness of where Iceberg tables go, shown as icebergWarehouse (see {@link IcebergWarehouse#checkHealth}), and
 * with ICEBERG_CATALOG=rest of the REST catalog (see {@link IcebergRestCatalog#checkHealth}).
 */
// Named icebergWarehouse (the suffix is dropped), the warehouse itself being the bean of that name.
@Component("icebergWarehouseHealthIndicator")
class IcebergWarehouseHealthIndicator extends AbstractHealthIndicator {

    private final IcebergWarehouse warehouse;
    private final IcebergRestCatalog rest;

    IcebergWarehouseHealthIndicator(IcebergWarehouse warehouse, IcebergRestCatalog rest) {
        super("Iceberg warehouse check failed");
        this.warehouse = warehouse;
        this.rest = rest;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) throws IOException {
        warehouse.checkHealth(builder);
        if (rest.enabled()) {
            rest.checkHealth(builder);
        }
    }
}
