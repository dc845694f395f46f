//! One module per route.

pub mod activity;
pub mod compare;
pub mod definition;
pub mod execution;
pub mod home;
pub mod inbox;
pub mod models;
pub mod not_found;
pub mod notifications;
pub mod pipeline;
pub mod start;
pub mod title;
