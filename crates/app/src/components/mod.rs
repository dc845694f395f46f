//! Reusable view pieces. Their geometry and formatting live in `stepline_types::layout`; these only render.

pub mod actions;
pub mod cost;
pub mod cost_trend;
pub mod dag;
pub mod decide;
pub mod error;
pub mod gantt;
pub mod inbox_link;
pub mod job;
pub mod live;
pub mod logs;
pub mod me;
pub mod notify_me;
pub mod places;
pub mod post_form;
pub mod shortcuts;
pub mod stale;
pub mod status;
pub mod steps;
pub mod theme;
pub mod time;
