//! The bulletins tab (and the meetings-notice list, which shares its rows):
//! its view and the compose form. Its state and update are still in
//! `app.rs` / `update.rs`.

pub mod compose;
pub mod view;
