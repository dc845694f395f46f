//! Stepline's vocabulary, shared by the server and the browser: what SageMaker's pipelines, executions and
//! steps are as the dashboard knows them, what each page shows, URLs, and the pure helpers around them.
//!
//! Layout (imports run down this list, never up):
//! - `model`: domain types (statuses, SageMaker's shapes, ARNs, links, upstream errors) and their parts
//!   (`access`, `activity`, `jobs`, `logs`, `version`);
//! - `page`: the data each page is answered with (filled by `stepline-core`, rendered by `stepline-app`);
//! - `error`: `AppError`, what a server function answers when it cannot;
//! - `forms`: the start and action forms' fields and their checks;
//! - `layout`: Gantt and graph geometry and time formatting, computed apart from rendering;
//! - `live`: the events of the live streams; `notify`: the events Stepline tells people about;
//!   `subscriptions`: what one person asked to be told about, and where;
//! - `base`, `codec`, `console`, `diff`, `text`: base paths, JSON in URLs, AWS console links, line diffs,
//!   text helpers.
//!
//! Nothing here does I/O. The `ssr` feature adds what only the server uses (response statuses, the diff).

pub mod base;
pub mod codec;
pub mod compare;
pub mod console;
pub mod cost;
pub mod diff;
pub mod error;
pub mod forms;
pub mod inbox;
pub mod layout;
pub mod live;
pub mod model;
pub mod notify;
pub mod page;
pub mod subscriptions;
pub mod text;
