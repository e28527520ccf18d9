//! The `lianxi` program: its terminal UI ([`tui`]) and the embedded demo
//! network ([`demo`]); the CLI lives with `main.rs`. The node itself (identity,
//! archive, network, sync, operations) is the `lianxi-node` library, re-exported
//! here so front-end code and tests name it as `lianxi::…`.

pub use lianxi_node::*;

pub mod demo;
pub mod tui;
