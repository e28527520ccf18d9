//! Pieces every tab uses: the text editor, width-aware text, scrolling,
//! the draft questions.

pub mod draft_popup;
pub mod editor;
pub mod scroll;
pub mod text;
