//! The terminal UI: one [`app::App`] state, [`update::Action`]s, a pure
//! [`update::update`], and [`render::render`] for any ratatui backend. The
//! runtime ([`runtime::run`]) does all I/O off the render loop.
//!
//! Where things go: a tab's state, update and view live in `tabs/<tab>/`
//! (the bulletins list's state and update, and the directory's and outbox's
//! selection, are still in `app.rs` and `update.rs`); reusable pieces (the text editor, width-aware
//! text, keeping a selection in view) in `widgets/`; every colour and text
//! style in `theme.rs`; every user-facing string in `i18n.rs`.

pub mod app;
pub mod drafting;
pub mod i18n;
pub mod render;
pub mod runtime;
pub mod search;
pub mod tabs;
pub mod theme;
pub mod update;
pub mod widgets;
