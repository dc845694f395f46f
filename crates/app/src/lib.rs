#![recursion_limit = "512"]
//! Stepline's user interface: the pages and components, rendered on the server (`ssr`) and hydrated in
//! the browser (`hydrate`), and the server functions they call.
//!
//! Layout (imports run down this list, never up; below it all, `stepline-types`, and on the server
//! `stepline-core`):
//! - `app`: the shell and the routes;
//! - `pages`: one module per page;
//! - `components`: the parts pages are made of;
//! - `api`, `actions`, `subscribe`, `registry`: server functions (reads, actions, personal subscriptions,
//!   the model registry), each one call into `stepline-core`.

pub mod actions;
pub mod api;
pub mod app;
pub mod compare;
pub mod components;
pub mod cost;
pub mod pages;
pub mod registry;
pub mod subscribe;
