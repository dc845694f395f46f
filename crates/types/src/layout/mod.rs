//! Chart layout as plain functions of data: where each Gantt bar and DAG node goes. No rendering here, so
//! the geometry is unit-tested directly; `components/` turns it into SVG.

pub mod dag;
pub mod gantt;
pub mod timefmt;
