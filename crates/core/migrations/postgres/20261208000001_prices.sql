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
-- The estimated cost of finished executions (stepline_core::cost_queries), complete ones only: a finished
-- execution's jobs no longer change, so its cost is computed once; the pipeline page's trend and the CSV
-- export read them here. `detail` is the whole estimate as JSON (stepline_types::cost::ExecutionCost).
CREATE TABLE execution_costs (
    place TEXT NOT NULL,
    execution_arn TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    started_ms BIGINT NOT NULL,
    detail TEXT NOT NULL,
    computed_ms BIGINT NOT NULL,
    PRIMARY KEY (place, execution_arn)
);
CREATE INDEX execution_costs_by_pipeline ON execution_costs (place, pipeline, started_ms);
