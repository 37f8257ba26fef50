package com.cdcexport.export.destination.iceberg;

import java.io.IOException;

import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;
import org.springframework.stereotype.Component;

/** Readiness of where Iceberg tables go, shown as icebergWarehouse (see {@link IcebergWarehouse#checkHealth}). */
// Named icebergWarehouse (the suffix is dropped), the warehouse itself being the bean of that name.
@Component("icebergWarehouseHealthIndicator")
class IcebergWarehouseHealthIndicator extends AbstractHealthIndicator {

    private final IcebergWarehouse warehouse;

    IcebergWarehouseHealthIndicator(IcebergWarehouse warehouse) {
        super("Iceberg warehouse check failed");
        this.warehouse = warehouse;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) throws IOException {
        warehouse.checkHealth(builder);
    }
}
