//! The `lianxi` command line: `args` (the clap definitions), `commands`
//! (the dispatcher and shared helpers), `identity`, `session` and `archive`
//! (the node's own commands), one module per command family
//! (`bulletins`, `cases`, `conference`, `keys`), `delivery` (send what was
//! just queued) and `output` (the one sink every printed line goes
//! through, escaping remote text).

pub mod archive;
pub mod args;
pub mod backup;
pub mod bulletins;
pub mod cases;
pub mod commands;
pub mod conference;
pub mod delivery;
pub mod drafts;
pub mod identity;
pub mod keys;
pub mod output;
pub mod session;
