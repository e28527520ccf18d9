//! Helpers shared by the terminal UI tests: a directory, a fixed clock, and
//! rendering into `TestBackend` for insta snapshots with times and ids filtered.

#![allow(dead_code)]

use lianxi::tui::app::App;
use lianxi::tui::render::render;
use lianxi_shared::{NodeId, NodeInfo, Role, Tier};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

pub const T0: i64 = 1_795_000_000_000;

pub fn node(id: &str, name: &str, tier: Tier, roles: &[Role]) -> NodeInfo {
    NodeInfo {
        node_id: NodeId::new(id).unwrap(),
        name: name.into(),
        org: "秘书处".into(),
        tier,
        roles: roles.to_vec(),
        age_recipient: "age1example".into(),
        signing_key: [0; 32],
        not_before: 0,
        not_after: T0 / 1000 + 365 * 86_400,
    }
}

pub fn directory() -> Vec<NodeInfo> {
    vec![
        node(
            "gd",
            "广东省中小企业协会",
            Tier::Provincial,
            &[Role::Secretary],
        ),
        node(
            "hotline",
            "全国维权热线服务台",
            Tier::National,
            &[Role::LegalAid],
        ),
        node(
            "nat",
            "全国中小企业协会联席会议",
            Tier::National,
            &[Role::Secretary, Role::Chair],
        ),
        node(
            "sz",
            "深圳市中小企业服务协会",
            Tier::Prefecture,
            &[Role::Member],
        ),
    ]
}

pub fn screen(app: &App) -> String {
    let mut t = Terminal::new(TestBackend::new(app.size.0, app.size.1)).unwrap();
    t.draw(|f| render(f, app)).unwrap();
    t.backend().to_string()
}

#[allow(unused_macros)] // not every UI test file snapshots with filters
macro_rules! snap {
    ($name:expr, $app:expr) => {
        insta::with_settings!({filters => vec![
            (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "[datetime]"),
            (r"\d{2}-\d{2} \d{2}:\d{2}", "[time]"),
            (r"\b\d{2}:\d{2}\b", "[hh:mm]"),
            (r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "[id]"),
        ]}, {
            insta::assert_snapshot!($name, screen(&$app));
        });
    };
}
