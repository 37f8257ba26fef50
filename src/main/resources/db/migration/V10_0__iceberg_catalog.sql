-- The embedded Iceberg catalog: each Iceberg table's current metadata file, in the layout of Iceberg's own JDBC
-- catalog (schema version V1), so that any engine with an Iceberg JDBC catalog can read the tables the service
-- writes. The service swaps a table's metadata_location in the same transaction that moves the watermark.
CREATE TABLE iceberg_tables (
    catalog_name               VARCHAR(255) NOT NULL,
    table_namespace            VARCHAR(255) NOT NULL,
    table_name                 VARCHAR(255) NOT NULL,
    metadata_location          VARCHAR(1000),
    previous_metadata_location VARCHAR(1000),
    iceberg_type               VARCHAR(5),
    PRIMARY KEY (catalog_name, table_namespace, table_name)
);

CREATE TABLE iceberg_namespace_properties (
    catalog_name   VARCHAR(255) NOT NULL,
    namespace      VARCHAR(255) NOT NULL,
    property_key   VARCHAR(255),
    property_value VARCHAR(1000),
    PRIMARY KEY (catalog_name, namespace, property_key)
);

-- An export to Iceberg names its tables where a file export names its files, and every export of a consumer's table
-- goes to the same Iceberg table: only file names must stay unique.
ALTER TABLE export_jobs DROP CONSTRAINT export_jobs_output_filename_key;
CREATE UNIQUE INDEX export_jobs_output_filename_key ON export_jobs (output_filename) WHERE format <> 'iceberg';

-- For each consumer and source table, the watermark its Iceberg table was last brought to, written in the transaction
-- that moves the watermark. A window since the watermark P is applied only to a table that is at P: after exports
-- in another format moved the watermark, or before the table's first export, the next export reads the whole table.
CREATE TABLE iceberg_applied (
    consumer_id VARCHAR(255) NOT NULL,
    table_name  TEXT         NOT NULL,
    snapshot    PG_SNAPSHOT  NOT NULL,
    PRIMARY KEY (consumer_id, table_name)
);

-- The last upkeep of each Iceberg table (snapshot expiry, orphan files), for the console.
CREATE TABLE iceberg_upkeep (
    table_namespace   VARCHAR(255) NOT NULL,
    table_name        VARCHAR(255) NOT NULL,
    finished_at       TIMESTAMPTZ  NOT NULL,
    expired_snapshots INT          NOT NULL,
    removed_files     INT          NOT NULL,
    PRIMARY KEY (table_namespace, table_name)
);
