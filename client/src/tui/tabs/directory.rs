//! The directory tab: the verified nodes and one node's certificate.

use crate::tui::i18n::Texts;
use ratatui::style::Style;
use ratatui::text::Line;

use lianxi_shared::NodeInfo;

use crate::time_fmt;
use crate::tui::app::App;
use crate::tui::theme::{bold, selected};
use crate::tui::widgets::scroll::Selection;
use crate::tui::widgets::text::{fit, truncate};

/// The verified nodes, and which one is selected.
pub type DirectoryView = Selection<NodeInfo>;

/// The tab's list, `h` rows at most, each `w` columns wide.
pub fn list_lines(app: &App, w: usize, h: usize, lines: &mut Vec<Line<'static>>) {
    let t = app.lang.t();
    for (i, n) in app.directory.items.iter().enumerate().take(h) {
        let tier = t.tiers[lianxi_shared::Tier::ALL
            .iter()
            .position(|x| *x == n.tier)
            .unwrap_or(0)];
        let text = format!(
            "{} {} {}",
            fit(n.node_id.as_str(), 10),
            fit(tier, 6),
            n.name
        );
        let style = if i == app.directory.selected {
            selected()
        } else {
            Style::new()
        };
        lines.push(Line::styled(fit(&text, w), style));
    }
}

/// The selected entry in full.
pub fn detail_lines(app: &App, w: usize, lines: &mut Vec<Line<'static>>) {
    let t = app.lang.t();
    if let Some(n) = app.directory.current() {
        lines.push(Line::styled(truncate(&n.name, w), bold()));
        lines.push(Line::raw(truncate(
            &format!("{}: {}", t.org_label, n.org),
            w,
        )));
        lines.push(Line::raw(format!("id: {}", n.node_id)));
        let tier = t.tiers[lianxi_shared::Tier::ALL
            .iter()
            .position(|x| *x == n.tier)
            .unwrap_or(0)];
        lines.push(Line::raw(format!("{}: {tier}", t.tier_label)));
        let roles: Vec<&str> = n
            .roles
            .iter()
            .map(|r| {
                t.roles[lianxi_shared::Role::ALL
                    .iter()
                    .position(|x| x == r)
                    .unwrap_or(0)]
            })
            .collect();
        lines.push(Line::raw(truncate(
            &format!("{}: {}", t.roles_label, roles.join("、")),
            w,
        )));
        lines.push(Line::raw(format!(
            "{}: {}",
            t.cert_until,
            time_fmt::long(n.not_after * 1000)
        )));
    }
}
