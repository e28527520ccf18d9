//! Every text style the UI uses, in one place.

use ratatui::style::{Color, Modifier, Style};

/// Secondary text: times, hints, labels.
pub fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

/// Emphasis: titles, unread rows, names.
pub fn bold() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

/// The selected row of a list.
pub fn selected() -> Style {
    Style::new().add_modifier(Modifier::REVERSED)
}

/// A section heading and the focused field.
pub fn accent() -> Style {
    Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
}

/// The focused field of a form, or nothing.
pub fn focus(on: bool) -> Style {
    if on { accent() } else { Style::new() }
}
