-- Instance prices read from the AWS Price List (stepline_core::prices): per region and instance type, each
-- component's on-demand USD per hour as JSON ({} when the list has none), and when they were asked. Kept a
-- day, so a restart asks nothing.
CREATE TABLE prices (
    region TEXT NOT NULL,
    instance TEXT NOT NULL,
    components TEXT NOT NULL,
    fetched_ms BIGINT NOT NULL,
    PRIMARY KEY (region, instance)
);
