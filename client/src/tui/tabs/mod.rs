//! The tabs that have their own state, update and view.

pub mod bulletins;
pub mod cases;
pub mod directory;
pub mod meetings;
pub mod outbox;
