//! Reusable view pieces. Pure layout logic lives beside them in plain functions.

pub mod theme;
