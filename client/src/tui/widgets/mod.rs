//! Pieces every tab uses: the text editor, width-aware text, scrolling.

pub mod editor;
pub mod scroll;
pub mod text;
