//! Every user-visible string of the terminal UI, one table per language.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s.to_ascii_lowercase().as_str() {
            "zh" | "zh-cn" | "zh_cn" | "cn" | "中文" => Some(Lang::Zh),
            "en" | "en-us" | "en_us" | "english" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn t(self) -> &'static Strings {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }
}

pub struct Strings {
    pub app: &'static str,
    pub tabs: [&'static str; 5],
    pub connected: &'static str,
    pub connecting: &'static str,
    pub reconnecting: &'static str,
    pub offline: &'static str,
    pub pending: &'static str,
    pub help_hint: &'static str,
    pub crl_stale: &'static str,
    /// "⚠ certificate expires in" N "days" (within 30 days of its end).
    pub cert_expires_in: &'static str,
    pub cert_days: &'static str,
    pub cert_expired: &'static str,
    pub empty: &'static str,
    pub loading: &'static str,
    pub no_selection: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    pub time: &'static str,
    pub search_title: &'static str,
    pub search_hint: &'static str,
    pub no_results: &'static str,
    pub help_title: &'static str,
    pub compose_title: &'static str,
    pub field_title: &'static str,
    pub field_audience: &'static str,
    pub field_body: &'static str,
    pub compose_hint: &'static str,
    pub picker_title: &'static str,
    pub picker_hint: &'static str,
    pub audience_all: &'static str,
    pub audience_nodes: &'static str,
    pub tiers: [&'static str; 3],
    pub roles: [&'static str; 4],
    pub need_title: &'static str,
    pub need_nodes: &'static str,
    pub queued: &'static str,
    pub sent_n: &'static str,
    pub send_failed: &'static str,
    pub state_queued: &'static str,
    pub state_sent: &'static str,
    pub state_failed: &'static str,
    pub recipients: &'static str,
    pub roles_label: &'static str,
    pub tier_label: &'static str,
    pub org_label: &'static str,
    pub cert_until: &'static str,
    pub field_attachments: &'static str,
    pub ack_option: &'static str,
    pub attach_hint: &'static str,
    pub receipts_title: &'static str,
    pub receipt_states: [&'static str; 4],
    pub overdue: &'static str,
    pub withdrawn: &'static str,
    pub revision: &'static str,
    pub ack_needed: &'static str,
    pub acked: &'static str,
    pub attachments_label: &'static str,
    pub via: &'static str,
    pub reminded: &'static str,
    pub reminded_n: &'static str,
    pub presets: [&'static str; 7],
    pub keys: &'static [(&'static str, &'static str)],
}

pub static ZH: Strings = Strings {
    app: "联席",
    tabs: ["通报", "维权", "会议", "名录", "发件箱"],
    connected: "已连接",
    connecting: "连接中",
    reconnecting: "重连中",
    offline: "离线",
    pending: "待发",
    help_hint: "? 帮助",
    crl_stale: "⚠ 吊销列表已过期",
    cert_expires_in: "⚠ 证书",
    cert_days: "天后到期，请 lianxi renew",
    cert_expired: "⚠ 证书已过期，请 lianxi renew",
    empty: "（暂无内容）",
    loading: "加载中…",
    no_selection: "选择一条查看详情",
    from: "发件",
    to: "对象",
    time: "时间",
    search_title: "搜索",
    search_hint: "输入关键词（中文任意长度）· Enter 打开 · Esc 返回",
    no_results: "无结果",
    help_title: "按键说明",
    compose_title: "撰写通报",
    field_title: "标题",
    field_audience: "发送对象",
    field_body: "正文",
    compose_hint: "Tab 切换栏目 · ←/→ 选择对象 · Enter 选择节点 · Ctrl-S 发送 · Esc 取消",
    picker_title: "选择节点",
    picker_hint: "空格 选中/取消 · Enter 完成",
    audience_all: "全部节点",
    audience_nodes: "指定节点",
    tiers: ["国家级", "省级", "地市级"],
    roles: ["秘书处", "主席", "维权热线", "成员"],
    need_title: "请填写标题",
    need_nodes: "请至少选择一个节点",
    queued: "已放入发件箱",
    sent_n: "已发出",
    send_failed: "发送失败",
    state_queued: "待发",
    state_sent: "已发",
    state_failed: "失败",
    recipients: "收件",
    roles_label: "角色",
    tier_label: "层级",
    org_label: "单位",
    cert_until: "证书有效期至",
    field_attachments: "附件",
    ack_option: "需要回执",
    attach_hint: "输入文件路径后按 Enter 添加 · 退格删除上一个 · Ctrl-R 切换回执",
    receipts_title: "收文回执",
    receipt_states: ["未送达", "已送达", "已阅读", "已确认"],
    overdue: "逾期",
    withdrawn: "已撤回",
    revision: "修订",
    ack_needed: "需回执：按 a 确认收文",
    acked: "已确认收文",
    attachments_label: "附件",
    via: "转发自",
    reminded: "已催办",
    reminded_n: "已提醒未回执单位",
    presets: [
        "全部",
        "未读",
        "待回执",
        "政策法规",
        "发展动态",
        "协会活动",
        "通知",
    ],
    keys: &[
        ("Tab / Shift-Tab / 1-5", "切换标签页"),
        ("↑↓ / j k", "上下移动"),
        ("PgUp PgDn / g G", "翻页 / 首条 / 末条"),
        ("Enter", "打开（标为已读）"),
        ("n", "撰写通报（维权页：登记案件）"),
        ("t", "维权页：典型案例预览"),
        ("e / y", "会议页：编排议程（执行副主席）/ 回复出席"),
        ("a", "确认收文（回执）"),
        ("R", "提醒未回执单位（本单位发出的通报）"),
        ("f", "筛选：全部/未读/待回执/类别"),
        ("/", "搜索存档"),
        ("?", "显示本帮助"),
        ("Esc", "返回"),
        ("Ctrl-S", "发送（撰写时）"),
        ("q / Ctrl-C", "退出"),
    ],
};

pub static EN: Strings = Strings {
    app: "Lianxi",
    tabs: ["Bulletins", "Cases", "Meetings", "Directory", "Outbox"],
    connected: "connected",
    connecting: "connecting",
    reconnecting: "reconnecting",
    offline: "offline",
    pending: "pending",
    help_hint: "? help",
    crl_stale: "⚠ CRL out of date",
    cert_expires_in: "⚠ certificate expires in",
    cert_days: "days: lianxi renew",
    cert_expired: "⚠ certificate expired: lianxi renew",
    empty: "(nothing yet)",
    loading: "loading…",
    no_selection: "Select an item to see it here",
    from: "From",
    to: "To",
    time: "Time",
    search_title: "Search",
    search_hint: "Type to search (Chinese of any length) · Enter open · Esc back",
    no_results: "No results",
    help_title: "Keys",
    compose_title: "New bulletin",
    field_title: "Title",
    field_audience: "Audience",
    field_body: "Body",
    compose_hint: "Tab next field · ←/→ audience · Enter pick nodes · Ctrl-S send · Esc cancel",
    picker_title: "Choose nodes",
    picker_hint: "Space toggle · Enter done",
    audience_all: "All nodes",
    audience_nodes: "Chosen nodes",
    tiers: ["National", "Provincial", "Prefecture"],
    roles: ["Secretaries", "Chairs", "Legal-aid desks", "Members"],
    need_title: "A title is required",
    need_nodes: "Choose at least one node",
    queued: "Put in the outbox",
    sent_n: "Sent",
    send_failed: "Sending failed",
    state_queued: "queued",
    state_sent: "sent",
    state_failed: "failed",
    recipients: "recipients",
    roles_label: "Roles",
    tier_label: "Tier",
    org_label: "Organisation",
    cert_until: "Certificate valid until",
    field_attachments: "Attachments",
    ack_option: "acknowledgement required",
    attach_hint: "Type a file path and press Enter · Backspace removes the last · Ctrl-R receipts",
    receipts_title: "Receipts",
    receipt_states: ["pending", "delivered", "read", "acknowledged"],
    overdue: "overdue",
    withdrawn: "Withdrawn",
    revision: "Revision",
    ack_needed: "Acknowledgement requested: press a",
    acked: "Acknowledged",
    attachments_label: "Attachments",
    via: "Forwarded by",
    reminded: "Reminder received",
    reminded_n: "Reminded",
    presets: [
        "all",
        "unread",
        "to acknowledge",
        "policy",
        "news",
        "activity",
        "notice",
    ],
    keys: &[
        ("Tab / Shift-Tab / 1-5", "switch tab"),
        ("↑↓ / j k", "move"),
        ("PgUp PgDn / g G", "page / first / last"),
        ("Enter", "open (marks read)"),
        ("n", "new bulletin (Cases: intake)"),
        ("t", "Cases: typical-case preview"),
        ("e / y", "Meetings: build the agenda (host) / attend"),
        ("a", "acknowledge (receipt)"),
        ("R", "remind those who have not acknowledged"),
        ("f", "filter: all/unread/to acknowledge/category"),
        ("/", "search the archive"),
        ("?", "this help"),
        ("Esc", "back"),
        ("Ctrl-S", "send (while composing)"),
        ("q / Ctrl-C", "quit"),
    ],
};

/// Strings of the Cases tab, the intake form and the typical-case preview.
pub struct CaseStrings {
    pub views: [&'static str; 4],
    pub list_hint: &'static str,
    pub intake_title: &'static str,
    pub fields: [&'static str; 8],
    pub intake_hint: &'static str,
    pub need_title: &'static str,
    pub need_jurisdiction: &'static str,
    pub need_enterprise: &'static str,
    pub registered: &'static str,
    pub typical_title: &'static str,
    pub typical_hint: &'static str,
    pub still_confidential: &'static str,
    pub clean: &'static str,
    pub published: &'static str,
    pub number: &'static str,
    pub status: &'static str,
    pub category: &'static str,
    pub jurisdiction: &'static str,
    pub urgency: &'static str,
    pub support: &'static str,
    pub handlers: &'static str,
    pub shared: &'static str,
    pub recused: &'static str,
    pub confidential: &'static str,
    pub enterprise: &'static str,
    pub contact: &'static str,
    pub hidden: &'static str,
    pub summary: &'static str,
    pub timeline: &'static str,
    pub ignored: &'static str,
    pub overdue: &'static str,
    pub shared_mark: &'static str,
    pub referred_to: &'static str,
}

impl Lang {
    pub fn cases(self) -> &'static CaseStrings {
        match self {
            Lang::Zh => &CASES_ZH,
            Lang::En => &CASES_EN,
        }
    }

    /// A case enum's label: its Chinese name, or its code in English.
    pub fn label(self, zh: &'static str, code: &'static str) -> String {
        match self {
            Lang::Zh => zh.to_owned(),
            Lang::En => code.replace('_', " "),
        }
    }
}

pub static CASES_ZH: CaseStrings = CaseStrings {
    views: ["全部", "我承办", "共享给我", "逾期"],
    list_hint: "n 登记 · t 典型案例 · f 切换视图",
    intake_title: "案件登记",
    fields: [
        "标题",
        "类别",
        "管辖地",
        "企业（保密）",
        "联系人（保密）",
        "案情简介",
        "请求支持",
        "紧急程度",
    ],
    intake_hint: "Tab 下一项 · ←/→ 选择 · 空格 勾选 · Ctrl-S 登记 · Esc 取消",
    need_title: "请填写标题",
    need_jurisdiction: "请填写管辖地（省份或国家）",
    need_enterprise: "请填写企业名称",
    registered: "已登记",
    typical_title: "典型案例预览",
    typical_hint: "Tab 标题/正文 · 可直接修改 · Ctrl-S 发布给全网 · Esc 取消",
    still_confidential: "仍含保密信息，不能发布",
    clean: "已隐去全部保密信息",
    published: "典型案例已发布",
    number: "编号",
    status: "状态",
    category: "类别",
    jurisdiction: "管辖地",
    urgency: "紧急程度",
    support: "请求支持",
    handlers: "承办方",
    shared: "共享给",
    recused: "回避",
    confidential: "保密信息（仅承办方可见）",
    enterprise: "企业",
    contact: "联系人",
    hidden: "企业与联系人仅承办方可见",
    summary: "案情简介",
    timeline: "办理经过",
    ignored: "未生效",
    overdue: "逾期",
    shared_mark: "共享",
    referred_to: "转办至",
};

pub static CASES_EN: CaseStrings = CaseStrings {
    views: ["all", "mine", "shared with me", "overdue"],
    list_hint: "n intake · t typical case · f view",
    intake_title: "Case intake",
    fields: [
        "Title",
        "Category",
        "Jurisdiction",
        "Enterprise (confidential)",
        "Contact (confidential)",
        "Summary",
        "Support",
        "Urgency",
    ],
    intake_hint: "Tab next · ←/→ choose · Space toggle · Ctrl-S register · Esc cancel",
    need_title: "A title is required",
    need_jurisdiction: "A jurisdiction (province or country) is required",
    need_enterprise: "The enterprise is required",
    registered: "Registered",
    typical_title: "Typical case preview",
    typical_hint: "Tab title/body · edit freely · Ctrl-S publish to everyone · Esc cancel",
    still_confidential: "Still contains confidential text: cannot publish",
    clean: "Every confidential field is removed",
    published: "Typical case published",
    number: "Number",
    status: "Status",
    category: "Category",
    jurisdiction: "Jurisdiction",
    urgency: "Urgency",
    support: "Support",
    handlers: "Handlers",
    shared: "Shared with",
    recused: "Recused",
    confidential: "Confidential (handlers only)",
    enterprise: "Enterprise",
    contact: "Contact",
    hidden: "Enterprise and contact: handlers only",
    summary: "Summary",
    timeline: "Timeline",
    ignored: "not applied",
    overdue: "overdue",
    shared_mark: "shared",
    referred_to: "Referred to",
};

/// Strings of the Meetings tab and the agenda builder.
pub struct MeetingStrings {
    /// Chinese grammar for the formatted strings.
    pub zh: bool,
    pub title: &'static str,
    pub list_hint: &'static str,
    pub next_turn: &'static str,
    pub no_schedule: &'static str,
    pub not_convened: &'static str,
    pub only_host: &'static str,
    pub closed: &'static str,
    pub nothing_to_ack: &'static str,
    pub too_long: &'static str,
    /// convened, held, cancelled, not convened
    pub status: [&'static str; 4],
    pub when: &'static str,
    pub place: &'static str,
    pub host: &'static str,
    pub presidium: &'static str,
    pub deadline: &'static str,
    pub agenda: &'static str,
    pub proposals: &'static str,
    pub attendance: &'static str,
    pub answered: &'static str,
    /// Said instead of "no answer" where this node cannot know the answers.
    pub answers_hidden: &'static str,
    /// attend, delegate, absent, no answer
    pub answers: [&'static str; 4],
    pub minutes: &'static str,
    pub consensus: &'static str,
    pub adopted: &'static str,
    pub rejected: &'static str,
    pub acknowledged: &'static str,
    pub min: &'static str,
    pub builder_title: &'static str,
    pub builder_hint: &'static str,
    pub total: &'static str,
    pub me: &'static str,
}

impl MeetingStrings {
    pub fn session(&self, n: u32) -> String {
        if self.zh {
            format!("第{n}次")
        } else {
            format!("No. {n}")
        }
    }
    pub fn cycle(&self, n: u32) -> String {
        if self.zh {
            format!("第{n}轮")
        } else {
            format!("C{n}")
        }
    }
    pub fn votes(&self, f: usize, a: usize, ab: usize) -> String {
        if self.zh {
            format!("赞成 {f} · 反对 {a} · 弃权 {ab}")
        } else {
            format!("for {f} · against {a} · abstain {ab}")
        }
    }
    pub fn thin_year(&self, year: i16, n: usize) -> String {
        if self.zh {
            format!("{year}年仅召集{n}次会议（每年至少两次）")
        } else {
            format!("only {n} meeting(s) in {year} (at least two a year)")
        }
    }
    pub fn done(&self, (kind, n): (&'static str, usize)) -> String {
        let what = match (kind, self.zh) {
            ("agenda", true) => "议程已发布",
            ("rsvp", true) => "已回复出席",
            ("ack", true) => "已确认纪要",
            ("remind", true) => "已提醒",
            (_, true) => "已发送",
            ("agenda", false) => "agenda published",
            ("rsvp", false) => "answered: attending",
            ("ack", false) => "minutes acknowledged",
            ("remind", false) => "reminded",
            (_, false) => "sent",
        };
        if self.zh {
            format!("{what}（{n}个单位）")
        } else {
            format!("{what} ({n} organisations)")
        }
    }
}

impl Lang {
    pub fn meetings(self) -> &'static MeetingStrings {
        match self {
            Lang::Zh => &MEETINGS_ZH,
            Lang::En => &MEETINGS_EN,
        }
    }
}

pub static MEETINGS_ZH: MeetingStrings = MeetingStrings {
    zh: true,
    title: "联席会议 · 轮值",
    list_hint: "e 编排议程 · y 出席 · a 确认纪要 · R 提醒",
    next_turn: "下一任执行副主席",
    no_schedule: "主席尚未发布轮值表",
    not_convened: "该次会议尚未召集",
    only_host: "只有本次会议的执行副主席可以这样做",
    closed: "该次会议已举行或已取消",
    nothing_to_ack: "没有待确认的纪要",
    too_long: "议程超出会议时长，请缩短或移出议题",
    status: ["已召集", "已举行", "已取消", "未召集"],
    when: "时间",
    place: "地点",
    host: "执行副主席",
    presidium: "主席团",
    deadline: "议题征集截止",
    agenda: "议程",
    proposals: "提议议题",
    attendance: "出席情况",
    answered: "已回复",
    answers_hidden: "其他成员的回复只送主席和执行副主席，本节点不得而知",
    answers: ["出席", "委派", "请假", "未回复"],
    minutes: "纪要",
    consensus: "协商一致",
    adopted: "通过",
    rejected: "未通过",
    acknowledged: "已确认",
    min: "分钟",
    builder_title: "议程编排",
    builder_hint: "空格 选入/移出 · ←/→ 时长 · u/d 上移/下移 · Ctrl-S 发布 · Esc 取消",
    total: "合计",
    me: "本单位",
};

pub static MEETINGS_EN: MeetingStrings = MeetingStrings {
    zh: false,
    title: "Joint conference · rotation",
    list_hint: "e agenda · y attend · a ack minutes · R remind",
    next_turn: "Next executive vice-chair",
    no_schedule: "The chair has not published a rotation yet",
    not_convened: "This session has not been convened",
    only_host: "Only this session's executive vice-chair can do that",
    closed: "This session was held or cancelled",
    nothing_to_ack: "No minutes to acknowledge",
    too_long: "The agenda runs past the meeting's end: shorten or drop items",
    status: ["convened", "held", "cancelled", "not convened"],
    when: "When",
    place: "Where",
    host: "Host",
    presidium: "Presidium",
    deadline: "Agenda items by",
    agenda: "Agenda",
    proposals: "Proposed items",
    attendance: "Attendance",
    answered: "answered",
    answers_hidden: "others' answers go to the chair and host only; this node cannot know them",
    answers: ["attend", "delegate", "absent", "no answer"],
    minutes: "Minutes",
    consensus: "consensus",
    adopted: "adopted",
    rejected: "not adopted",
    acknowledged: "acknowledged",
    min: "min",
    builder_title: "Agenda builder",
    builder_hint: "Space in/out · ←/→ length · u/d move · Ctrl-S publish · Esc cancel",
    total: "Total",
    me: "this node",
};
