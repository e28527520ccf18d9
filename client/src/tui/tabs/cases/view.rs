//! Drawing the Cases tab, the intake form and the typical-case preview.
//! Every cut and wrap goes through `text`, so Chinese never breaks the layout.

use crate::tui::i18n::Texts;
use crate::tui::theme::{bold, dim};
use lianxi_shared::case::{CaseCategory, CaseState, Support, Urgency};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::case_file::{Names, describe};
use crate::time_fmt;
use crate::tui::app::{App, Mode};
use crate::tui::tabs::cases::{IntakeField, OVERDUE_DAYS, TypicalView};
use crate::tui::widgets::editor::Editor;
use crate::tui::widgets::text::{fit, truncate, width, wrap};

fn overdue(app: &App, s: &CaseState) -> bool {
    !s.status.is_finished() && app.now_ms - s.updated_at > OVERDUE_DAYS * 86_400_000
}

/// The Cases tab: the list on the left, the selected case on the right.
pub fn render_cases(f: &mut Frame, app: &App, area: Rect) {
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(area);
    let t = app.lang.t();
    let ct = app.lang.cases();
    let c = &app.cases;
    let view = if c.view > 0 {
        format!(" · {}", ct.views[c.view])
    } else {
        String::new()
    };
    let block = Block::new()
        .borders(Borders::ALL)
        .title(format!(" {}{view} ", t.tabs[1]))
        .title_bottom(Span::styled(format!(" {} ", ct.list_hint), dim()));
    let inner = block.inner(left);
    f.render_widget(block, left);
    let w = usize::from(inner.width);
    let mut lines = Vec::new();
    for (i, s) in c
        .rows
        .iter()
        .enumerate()
        .skip(c.scroll)
        .take(usize::from(inner.height))
    {
        let mut style = if i == c.selected {
            Style::new().bg(Color::Blue).fg(Color::White)
        } else {
            Style::new()
        };
        let mut marks = String::new();
        if overdue(app, s) {
            marks.push_str(&format!(" [{}]", ct.overdue));
            style = style.fg(Color::Red);
        }
        if !s.is_handler(&app.me.node_id) {
            marks.push_str(&format!(" [{}]", ct.shared_mark));
        }
        if s.facts.urgency != Urgency::Normal {
            style = style.add_modifier(Modifier::BOLD);
        }
        let status = app.lang.pick(s.status.zh(), s.status.en()).to_owned();
        let head = format!("{} {} ", s.facts.number, fit(&status, 6));
        let rest = w.saturating_sub(width(&head));
        let title = fit(&format!("{}{marks}", s.facts.title), rest);
        lines.push(Line::styled(format!("{head}{title}"), style));
    }
    if lines.is_empty() {
        lines.push(Line::styled(t.empty, dim()));
    }
    f.render_widget(Paragraph::new(lines), inner);
    render_case_detail(f, app, right);
}

fn render_case_detail(f: &mut Frame, app: &App, area: Rect) {
    let block = Block::new().borders(Borders::ALL);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let t = app.lang.t();
    let ct = app.lang.cases();
    let w = usize::from(inner.width).max(4);
    let Some(d) = &app.cases.detail else {
        f.render_widget(Paragraph::new(Line::styled(t.no_selection, dim())), inner);
        return;
    };
    let s = &d.file.state;
    let names = Names::new(&app.directory.items);
    let lang = app.lang;
    let mut lines: Vec<Line> = Vec::new();
    for row in wrap(&s.facts.title, w) {
        lines.push(Line::styled(row, bold()));
    }
    let field = |k: &str, v: String| -> Vec<Line<'static>> {
        let head = format!("{k}{}", lang.pick("：", ": "));
        wrap(&format!("{head}{v}"), w)
            .into_iter()
            .map(Line::raw)
            .collect()
    };
    let support: Vec<String> = s
        .facts
        .support
        .iter()
        .map(|x| lang.pick(x.zh(), x.en()).to_owned())
        .collect();
    let list = |ids: &[lianxi_shared::NodeId]| {
        if ids.is_empty() {
            "—".to_owned()
        } else {
            ids.iter()
                .map(|i| names.of(i))
                .collect::<Vec<_>>()
                .join(lang.list_sep())
        }
    };
    let colon = lang.pick("：", ": ");
    let status = lang.pick(s.status.zh(), s.status.en()).to_owned();
    lines.extend(field(
        ct.number,
        format!("{}  {}{colon}{status}", s.facts.number, ct.status),
    ));
    lines.extend(field(
        ct.category,
        format!(
            "{}  {}{colon}{}",
            lang.pick(s.facts.category.zh(), s.facts.category.en())
                .to_owned(),
            ct.urgency,
            lang.pick(s.facts.urgency.zh(), s.facts.urgency.en())
                .to_owned()
        ),
    ));
    lines.extend(field(ct.jurisdiction, s.facts.jurisdiction.clone()));
    lines.extend(field(ct.support, support.join(lang.list_sep())));
    lines.extend(field(ct.handlers, list(&s.handlers)));
    lines.extend(field(ct.shared, list(&s.shared)));
    if !s.recused.is_empty() {
        lines.extend(field(ct.recused, list(&s.recused)));
    }
    if let Some(r) = &s.referral {
        lines.extend(field(ct.referred_to, names.of(&r.to)));
    }
    lines.push(Line::raw(""));
    match &d.confidential {
        Some(c) => {
            lines.push(Line::styled(
                truncate(ct.confidential, w),
                Style::new().fg(Color::Yellow),
            ));
            lines.extend(field(ct.enterprise, c.enterprise.clone()));
            lines.extend(field(ct.contact, c.contact.clone()));
        }
        None => lines.push(Line::styled(truncate(ct.hidden, w), dim())),
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(ct.summary, bold()));
    for row in s.facts.summary.lines().flat_map(|l| wrap(l, w)) {
        lines.push(Line::raw(row));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(ct.timeline, bold()));
    for st in &d.file.steps {
        let who = names.of(&st.event.sender);
        let mut text = format!(
            "{} {who}{}{}",
            time_fmt::minutes(st.event.created_at),
            colon,
            describe(st, &names, lang)
        );
        let style = if st.ignored.is_some() {
            text.push_str(&format!(
                "{}{}{}",
                lang.pick("（", " ("),
                ct.ignored,
                lang.pick("）", ")")
            ));
            dim().add_modifier(Modifier::CROSSED_OUT)
        } else {
            Style::new()
        };
        for row in wrap(&text, w) {
            lines.push(Line::styled(row, style));
        }
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// One single-line field: a label column, then the value; returns where the
/// cursor would go if this field has focus.
fn line_field(f: &mut Frame, area: Rect, label: &str, value: Line<'static>, on: bool) -> Rect {
    let [l, v] = Layout::horizontal([Constraint::Length(18), Constraint::Min(4)]).areas(area);
    f.render_widget(
        Paragraph::new(Line::styled(fit(label, 17), crate::tui::theme::focus(on))),
        l,
    );
    f.render_widget(Paragraph::new(value), v);
    v
}

fn editor_value(e: &Editor, w: usize) -> (Line<'static>, usize) {
    let layout = e.layout(w.max(2) * 8);
    let text = layout.rows.first().cloned().unwrap_or_default();
    (Line::raw(truncate(&text, w)), layout.cursor.1.min(w))
}

/// A row of options; where they do not all fit in `w` columns, only the
/// current one (`at`, else the first chosen) between arrows.
fn choices(
    labels: Vec<String>,
    chosen: &dyn Fn(usize) -> bool,
    at: Option<usize>,
    w: usize,
) -> Line<'static> {
    let all: usize = labels.iter().map(|l| width(l) + 3).sum();
    if all > w {
        let n = labels.len();
        let i = at.or_else(|| (0..n).find(|i| chosen(*i))).unwrap_or(0);
        let mark = if chosen(i) { "■" } else { "□" };
        let style = if chosen(i) {
            Style::new().fg(Color::Black).bg(Color::Cyan)
        } else {
            Style::new()
        };
        return Line::from(vec![
            Span::raw("◀ "),
            Span::styled(format!("{mark} {}", labels[i]), style),
            Span::raw(format!(" ▶  {}/{n}", i + 1)),
        ]);
    }
    let mut spans = Vec::new();
    for (i, l) in labels.into_iter().enumerate() {
        let mut style = if chosen(i) {
            Style::new().fg(Color::Black).bg(Color::Cyan)
        } else {
            Style::new()
        };
        if at == Some(i) {
            style = style.add_modifier(Modifier::UNDERLINED);
        }
        spans.push(Span::styled(format!(" {l} "), style));
        spans.push(Span::raw(" "));
    }
    Line::from(spans)
}

/// The intake form (登记).
pub fn render_intake(f: &mut Frame, app: &App, area: Rect) {
    let Mode::Intake(form) = &app.mode else {
        return;
    };
    let ct = app.lang.cases();
    let lang = app.lang;
    let block = Block::new()
        .borders(Borders::ALL)
        .title(format!(" {} ", ct.intake_title))
        .title_bottom(Span::styled(format!(" {} ", ct.intake_hint), dim()));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let rows = Layout::vertical([
        Constraint::Length(1), // title
        Constraint::Length(1), // category
        Constraint::Length(1), // jurisdiction
        Constraint::Length(1), // enterprise
        Constraint::Length(1), // contact
        Constraint::Length(1), // support
        Constraint::Length(1), // urgency
        Constraint::Min(3),    // summary
        Constraint::Length(1), // error
    ])
    .split(inner);
    let mut cursor: Option<Position> = None;
    let on = |x: IntakeField| form.focus == x;
    let cw = usize::from(inner.width).saturating_sub(18);
    let mut text_field = |f: &mut Frame, area: Rect, i: usize, field: IntakeField, e: &Editor| {
        let w = usize::from(area.width).saturating_sub(18);
        let (value, x) = editor_value(e, w);
        let v = line_field(f, area, ct.fields[i], value, on(field));
        if on(field) {
            cursor = Some(Position::new(v.x + x as u16, v.y));
        }
    };
    text_field(f, rows[0], 0, IntakeField::Title, &form.title);
    let cats = CaseCategory::ALL
        .iter()
        .map(|c| lang.pick(c.zh(), c.en()).to_owned())
        .collect();
    line_field(
        f,
        rows[1],
        ct.fields[1],
        choices(cats, &|i| i == form.category, Some(form.category), cw),
        on(IntakeField::Category),
    );
    text_field(f, rows[2], 2, IntakeField::Jurisdiction, &form.jurisdiction);
    text_field(f, rows[3], 3, IntakeField::Enterprise, &form.enterprise);
    text_field(f, rows[4], 4, IntakeField::Contact, &form.contact);
    let sup = Support::ALL
        .iter()
        .map(|s| lang.pick(s.zh(), s.en()).to_owned())
        .collect();
    line_field(
        f,
        rows[5],
        ct.fields[6],
        choices(
            sup,
            &|i| form.support[i],
            on(IntakeField::Support).then_some(form.support_at),
            cw,
        ),
        on(IntakeField::Support),
    );
    let urg = Urgency::ALL
        .iter()
        .map(|u| lang.pick(u.zh(), u.en()).to_owned())
        .collect();
    line_field(
        f,
        rows[6],
        ct.fields[7],
        choices(urg, &|i| i == form.urgency, Some(form.urgency), cw),
        on(IntakeField::Urgency),
    );
    let sb = Block::new()
        .borders(Borders::ALL)
        .border_style(crate::tui::theme::focus(on(IntakeField::Summary)))
        .title(Span::styled(
            format!(" {} ", ct.fields[5]),
            crate::tui::theme::focus(on(IntakeField::Summary)),
        ));
    let si = sb.inner(rows[7]);
    f.render_widget(sb, rows[7]);
    let layout = form.summary.layout(usize::from(si.width).max(2));
    let top = layout
        .cursor
        .0
        .saturating_sub(usize::from(si.height).saturating_sub(1));
    let body: Vec<Line> = layout
        .rows
        .iter()
        .skip(top)
        .map(|r| Line::raw(r.clone()))
        .collect();
    f.render_widget(Paragraph::new(body), si);
    if on(IntakeField::Summary) {
        cursor = Some(Position::new(
            si.x + layout.cursor.1 as u16,
            si.y + (layout.cursor.0 - top) as u16,
        ));
    }
    if let Some(e) = &form.error {
        f.render_widget(
            Paragraph::new(Line::styled(
                truncate(e, usize::from(rows[8].width)),
                Style::new().fg(Color::Red),
            )),
            rows[8],
        );
    }
    if crate::tui::widgets::draft_popup::render(f, app, &form.drafting, area) {
        return;
    }
    if let Some(p) = cursor {
        f.set_cursor_position(p);
    }
}

/// The typical-case preview: the redacted text as it will be published.
pub fn render_typical(f: &mut Frame, app: &App, area: Rect) {
    let Mode::Typical(v) = &app.mode else {
        return;
    };
    render_typical_view(f, app, v, area);
}

fn render_typical_view(f: &mut Frame, app: &App, v: &TypicalView, area: Rect) {
    let ct = app.lang.cases();
    let block = Block::new()
        .borders(Borders::ALL)
        .title(format!(" {} · {} ", ct.typical_title, v.number))
        .title_bottom(Span::styled(format!(" {} ", ct.typical_hint), dim()));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let [title_a, state_a, body_a] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(1),
    ])
    .areas(inner);
    let w = usize::from(inner.width).max(2);
    let (title, tx) = editor_value(&v.title, w);
    f.render_widget(
        Paragraph::new(
            title.style(crate::tui::theme::focus(v.on_title).add_modifier(Modifier::BOLD)),
        ),
        title_a,
    );
    let (msg, style) = match (&v.error, v.leaks) {
        (Some(e), _) => (e.clone(), Style::new().fg(Color::Red)),
        (None, 0) => (ct.clean.to_owned(), Style::new().fg(Color::Green)),
        (None, n) => (
            format!("{}（{n}）", ct.still_confidential),
            Style::new().fg(Color::Red),
        ),
    };
    f.render_widget(
        Paragraph::new(Line::styled(truncate(&msg, w), style)),
        state_a,
    );
    let layout = v.body.layout(w);
    let top = layout
        .cursor
        .0
        .saturating_sub(usize::from(body_a.height).saturating_sub(1));
    let body: Vec<Line> = layout
        .rows
        .iter()
        .skip(top)
        .map(|r| Line::raw(r.clone()))
        .collect();
    f.render_widget(Paragraph::new(body), body_a);
    let p = if v.on_title {
        Position::new(title_a.x + tx as u16, title_a.y)
    } else {
        Position::new(
            body_a.x + layout.cursor.1 as u16,
            body_a.y + (layout.cursor.0 - top) as u16,
        )
    };
    if crate::tui::widgets::draft_popup::render(f, app, &v.drafting, area) {
        return;
    }
    f.set_cursor_position(p);
}
