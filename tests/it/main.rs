//! The dashboard's integration tests, as one binary: each file a module. Built as a binary each, every one
//! linked the whole server and its AWS SDKs again, which took far longer than running them. `base_path` and
//! `observe` stay binaries of their own: they set what is one per process (the base path pages are served
//! under, the metrics recorder).

#[path = "../common/mod.rs"]
mod common;
#[path = "../common/fleet.rs"]
mod fleet;

mod access;
mod alb;
mod assets;
mod compare;
mod cost;
mod demo;
mod hostile;
mod inbox;
mod logs;
mod models;
mod notify;
mod operate;
mod places;
mod replicas;
mod server;
mod store;
mod subscriptions;
mod upstream;
mod versions;
