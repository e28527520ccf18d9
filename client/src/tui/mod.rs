//! The terminal UI: one [`app::App`] state, [`update::Action`]s, a pure
//! [`update::update`], and [`render::render`] for any ratatui backend. The
//! runtime ([`runtime::run`]) does all I/O off the render loop.

pub mod app;
pub mod case_effects;
pub mod case_render;
pub mod cases;
pub mod editor;
pub mod i18n;
pub mod meeting_render;
pub mod meetings;
pub mod render;
pub mod runtime;
pub mod text;
pub mod update;
