//! The `lianxi` command line: `args` (the clap definitions), `commands`
//! (the dispatcher and the top-level commands), one module per command family
//! (`bulletins`, `cases`, `conference`, `keys`), `delivery` (send what was
//! just queued), `conf_view` (the conference's
//! text and JSON views) and `output` (the one sink every printed line goes
//! through, escaping remote text).

pub mod args;
pub mod bulletins;
pub mod cases;
pub mod commands;
pub mod conf_view;
pub mod conference;
pub mod delivery;
pub mod keys;
pub mod output;
