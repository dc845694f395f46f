//! Stepline's server core.

pub mod access;
pub mod assets;
pub mod cluster;
pub mod config;
pub mod exports;
pub mod gateway;
pub mod health;
pub mod limiter;
pub mod logbook;
pub mod observe;
pub mod places;
pub mod reuse;
pub mod scan;
pub mod stale;
pub mod state;
pub mod step_books;
pub mod step_views;
pub mod store;
pub mod stream_guard;
pub mod streams;
pub mod views;
pub mod watch;
