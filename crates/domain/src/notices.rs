//! Who is told what when a case changes: the notice rules, the channels, people's choices,
//! quiet hours and the texts (in Chinese and English, editable by the admin).
//!
//! Pure: the store resolves an [`Audience`] to people and contacts, writes the notices in one
//! transaction, and the server's worker delivers them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::time::local_time;
use crate::{Action, Case, CaseEvent, CaseState, DepartmentId, FieldError, Millis, RegionCode, RegionLevel, Urgency};

/// What a notice is about. Each has a default text per locale ([`default_template`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// To the reporter and the case's followers: the center took the report.
    Accepted,
    /// To the reporter: the report was not taken, with the reason.
    Rejected,
    /// To the reporter and followers: a department is handling it.
    Dispatched,
    /// To the reporter and followers: verified on site as solved (before/after photos).
    Solved,
    /// To the reporter and followers: closed; the reporter may rate it.
    Closed,
    /// To the reporter and followers: opened again.
    Reopened,
    /// To a department: a case was dispatched to it.
    NewDispatch,
    /// To the lead department: verification found it not solved; handle it again.
    Rework,
    /// To the lead department: its extension request was approved or denied.
    ExtensionDecided,
    /// To the linkage center: a department returned a case.
    Returned,
    /// To whoever holds the clock: three quarters of it have passed.
    DeadlineWarning,
    /// To whoever holds the clock: it ran out.
    Overdue,
    /// To the grid leaders of the level supervising (the community, then up at each escalation)
    /// and to the lead department: a supervision order (督办), given or on an overdue case.
    Supervision,
    /// To the grid's members: a result waits for verification on site.
    VerificationNeeded,
    /// To the followers of an area: a problem was reported there (once it is public).
    NewInArea,
    /// To the followers of an area and the grid members and grid leaders working there: an
    /// urgent notice (紧急通知) was published for it.
    UrgentNotice,
    /// To the grid members of its grid: a planned inspection or a campaign task is past due;
    /// overdue by more than `[server.inspections] escalate_after_days` working days, to the grid
    /// leaders of its community too. Once per due and step.
    InspectionOverdue,
}

impl NoticeKind {
    pub const ALL: [NoticeKind; 17] = [
        NoticeKind::Accepted,
        NoticeKind::Rejected,
        NoticeKind::Dispatched,
        NoticeKind::Solved,
        NoticeKind::Closed,
        NoticeKind::Reopened,
        NoticeKind::NewDispatch,
        NoticeKind::Rework,
        NoticeKind::ExtensionDecided,
        NoticeKind::Returned,
        NoticeKind::DeadlineWarning,
        NoticeKind::Overdue,
        NoticeKind::Supervision,
        NoticeKind::VerificationNeeded,
        NoticeKind::NewInArea,
        NoticeKind::UrgentNotice,
        NoticeKind::InspectionOverdue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Accepted => "accepted",
            NoticeKind::Rejected => "rejected",
            NoticeKind::Dispatched => "dispatched",
            NoticeKind::Solved => "solved",
            NoticeKind::Closed => "closed",
            NoticeKind::Reopened => "reopened",
            NoticeKind::NewDispatch => "new_dispatch",
            NoticeKind::Rework => "rework",
            NoticeKind::ExtensionDecided => "extension_decided",
            NoticeKind::Returned => "returned",
            NoticeKind::DeadlineWarning => "deadline_warning",
            NoticeKind::Overdue => "overdue",
            NoticeKind::Supervision => "supervision",
            NoticeKind::VerificationNeeded => "verification_needed",
            NoticeKind::NewInArea => "new_in_area",
            NoticeKind::UrgentNotice => "urgent_notice",
            NoticeKind::InspectionOverdue => "inspection_overdue",
        }
    }

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| FieldError::new("kind", format!("unknown kind of notice `{s}`")))
    }

    /// Notices about the reporter's own case or one they follow (the public side).
    pub fn is_for_residents(self) -> bool {
        matches!(
            self,
            NoticeKind::Accepted
                | NoticeKind::Rejected
                | NoticeKind::Dispatched
                | NoticeKind::Solved
                | NoticeKind::Closed
                | NoticeKind::Reopened
                | NoticeKind::NewInArea
                | NoticeKind::UrgentNotice
        )
    }
}

/// How a notice reaches someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The inbox in the app (always kept, whatever else is chosen).
    Inbox,
    Sms,
    Email,
    /// A WeChat official account's template message (to those who bound their WeChat).
    Wechat,
}

impl Channel {
    pub const ALL: [Channel; 4] = [Channel::Inbox, Channel::Sms, Channel::Email, Channel::Wechat];
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Inbox => "inbox",
            Channel::Sms => "sms",
            Channel::Email => "email",
            Channel::Wechat => "wechat",
        }
    }
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| FieldError::new("channel", format!("unknown channel `{s}`")))
    }
}

/// The people a rule addresses; the store finds who they are now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// The reporter: the signed-in person, else the contact phone left with the report, and the
    /// callers attached to the case by the hotline.
    Reporter,
    /// Those who follow this case.
    Followers,
    /// Those who follow an area (a region, or a radius around a point) the case lies in.
    AreaFollowers,
    /// The staff and heads of these departments.
    Departments(Vec<DepartmentId>),
    /// The person who signed for the case, else the lead department's staff; and its heads.
    Handler(DepartmentId),
    /// The linkage center: dispatchers whose region holds this one (the case's grid, or its
    /// district outside every grid).
    Dispatchers(RegionCode),
    /// The grid members of a grid.
    GridMembers(RegionCode),
    /// The grid leaders and supervisors of a region and of the levels above it up to the district.
    Leaders(RegionCode),
}

/// Whether an event of this action may tell anyone (the store queues only these for
/// [`audiences`]; a new report tells nobody until the center takes it).
pub fn may_notify(action: Action) -> bool {
    matches!(
        action,
        Action::Accept
            | Action::Reject
            | Action::Dispatch
            | Action::Return
            | Action::ApproveExtension
            | Action::DenyExtension
            | Action::SubmitResult
            | Action::Verify
            | Action::Close
            | Action::Reopen
            | Action::Warn
            | Action::MarkOverdue
            | Action::Escalate
            | Action::Supervise
    )
}

/// Who is told what about this event of this case (the case as it is after the event).
pub fn audiences(case: &Case, event: &CaseEvent) -> Vec<(Audience, NoticeKind)> {
    use Audience as A;
    use NoticeKind as K;
    let e = &event.event;
    let data = &e.data;
    let lead = case.lead_department;
    let mut out = Vec::new();
    let to_reporter = |kind, out: &mut Vec<(Audience, NoticeKind)>| {
        out.push((A::Reporter, kind));
        out.push((A::Followers, kind));
    };
    match e.action {
        Action::Accept => {
            to_reporter(K::Accepted, &mut out);
            if case.public {
                out.push((A::AreaFollowers, K::NewInArea));
            }
        }
        Action::Reject => out.push((A::Reporter, K::Rejected)),
        Action::Dispatch => {
            to_reporter(K::Dispatched, &mut out);
            let mut depts: Vec<DepartmentId> = lead.into_iter().chain(case.co_departments.iter().copied()).collect();
            depts.dedup();
            out.push((A::Departments(depts), K::NewDispatch));
        }
        Action::Return => out.push((A::Dispatchers(case.scope_region()), K::Returned)),
        Action::ApproveExtension | Action::DenyExtension => {
            if let Some(d) = lead {
                out.push((A::Handler(d), K::ExtensionDecided));
            }
        }
        Action::SubmitResult => {
            if let Some(g) = &case.grid {
                out.push((A::GridMembers(g.clone()), K::VerificationNeeded));
            }
        }
        Action::Verify => {
            if data.get("passed").and_then(|p| p.as_bool()) == Some(true) {
                to_reporter(K::Solved, &mut out);
            } else if let Some(d) = lead {
                out.push((A::Handler(d), K::Rework));
            }
        }
        Action::Close => to_reporter(K::Closed, &mut out),
        Action::Reopen => to_reporter(K::Reopened, &mut out),
        Action::Warn | Action::MarkOverdue => {
            let kind = if e.action == Action::Warn { K::DeadlineWarning } else { K::Overdue };
            if let Some(a) = clock_holder(case) {
                out.push((a, kind));
            }
            // Marked overdue, the case goes under supervision at the level the data names.
            if let Some(level) = region_in(data.get("supervision").and_then(|s| s.get("level"))) {
                out.push((A::Leaders(level), K::Supervision));
            }
        }
        Action::Escalate => {
            if let Some(level) = region_in(data.get("to")) {
                out.push((A::Leaders(level), K::Supervision));
            }
        }
        Action::Supervise => {
            if let Some(community) = case.grid.as_ref().and_then(|g| g.at_level(RegionLevel::Community)) {
                out.push((A::Leaders(community), K::Supervision));
            }
            if let Some(d) = lead.filter(|_| matches!(case.state, CaseState::Dispatched | CaseState::InProgress)) {
                out.push((A::Handler(d), K::Supervision));
            }
        }
        _ => {}
    }
    out
}

/// A region code in an event's data.
fn region_in(v: Option<&serde_json::Value>) -> Option<RegionCode> {
    v.and_then(|v| v.as_str()).and_then(|c| RegionCode::parse(c).ok())
}

/// Who holds the case's current clock.
fn clock_holder(case: &Case) -> Option<Audience> {
    match case.state {
        CaseState::Dispatched | CaseState::InProgress => case.lead_department.map(Audience::Handler),
        CaseState::Resolved => case.grid.clone().map(Audience::GridMembers),
        CaseState::Reported | CaseState::Accepted | CaseState::Verified => {
            Some(Audience::Dispatchers(case.scope_region()))
        }
        CaseState::Closed | CaseState::Rated | CaseState::Rejected => None,
    }
}

/// A person's choices: channels per kind of notice, quiet hours, a daily cap, their language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NoticeSettings {
    /// `zh` or `en`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^(zh|en)$"))]
    pub locale: String,
    /// Channels chosen per kind (besides the inbox, which always keeps every notice), each
    /// channel once. A kind not listed gets the default ([`default_channels`]).
    pub channels: BTreeMap<NoticeKind, Vec<Channel>>,
    /// Local time (HH:MM) from which no SMS or e-mail is sent, except for emergencies; `None`: no
    /// quiet hours. Given with `quiet_to`, or neither.
    #[cfg_attr(feature = "openapi", schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$"))]
    pub quiet_from: Option<String>,
    /// Local time (HH:MM) at which the quiet hours end.
    #[cfg_attr(feature = "openapi", schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$"))]
    pub quiet_to: Option<String>,
    /// Most SMS and e-mails a day (1–200); further ones stay in the inbox, and the last one says so.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 200))]
    pub daily_cap: u32,
}

impl Default for NoticeSettings {
    fn default() -> Self {
        Self {
            locale: "zh".into(),
            channels: BTreeMap::new(),
            quiet_from: Some("22:00".into()),
            quiet_to: Some("07:00".into()),
            daily_cap: 20,
        }
    }
}

pub const MAX_DAILY_CAP: u32 = 200;

impl NoticeSettings {
    /// Checks the settings, naming the field at fault.
    pub fn validate(&self) -> Result<(), FieldError> {
        if !LOCALES.contains(&self.locale.as_str()) {
            return Err(FieldError::new("locale", "one of zh, en"));
        }
        for (field, v) in [("quiet_from", &self.quiet_from), ("quiet_to", &self.quiet_to)] {
            if let Some(t) = v {
                minutes_of(t).ok_or_else(|| FieldError::new(field, "a time of day as HH:MM, 00:00 to 23:59"))?;
            }
        }
        if self.quiet_from.is_some() != self.quiet_to.is_some() {
            return Err(FieldError::new("quiet_to", "give both ends of the quiet hours, or neither"));
        }
        if self.daily_cap == 0 || self.daily_cap > MAX_DAILY_CAP {
            return Err(FieldError::new("daily_cap", format!("a whole number from 1 to {MAX_DAILY_CAP}")));
        }
        for (kind, chans) in &self.channels {
            let mut seen = chans.clone();
            seen.sort();
            seen.dedup();
            if seen.len() != chans.len() {
                return Err(FieldError::new("channels", format!("{} lists a channel twice", kind.as_str())));
            }
        }
        Ok(())
    }

    /// The channels this person gets a notice of `kind` by: the inbox always, and what they
    /// chose for it (else the default). SMS needs a phone and e-mail an address: the store
    /// leaves out a channel it has no address for.
    pub fn channels_for(&self, kind: NoticeKind, staff: bool) -> Vec<Channel> {
        let mut out = vec![Channel::Inbox];
        let chosen = self.channels.get(&kind).cloned().unwrap_or_else(|| default_channels(kind, staff));
        out.extend(chosen.into_iter().filter(|c| *c != Channel::Inbox));
        out
    }

    /// When a notice created at `now` may be sent by SMS or e-mail: `now`, or the end of the
    /// quiet hours it falls in (an emergency is sent at once).
    pub fn send_at(&self, now: Millis, utc_offset_hours: i32, urgency: Urgency) -> Millis {
        let (Some(from), Some(to)) =
            (self.quiet_from.as_deref().and_then(minutes_of), self.quiet_to.as_deref().and_then(minutes_of))
        else {
            return now;
        };
        if urgency == Urgency::Emergency || from == to {
            return now;
        }
        let day = crate::time::local_day_start(crate::time::local_day(now, utc_offset_hours), utc_offset_hours);
        let minute = (now - day) / crate::MINUTE;
        let quiet = if from < to { minute >= from && minute < to } else { minute >= from || minute < to };
        if !quiet {
            return now;
        }
        // The next `to` after now.
        let end = day + to * crate::MINUTE;
        if end <= now {
            end + crate::time::DAY
        } else {
            end
        }
    }
}

/// The channels a notice of `kind` goes by when its receiver chose nothing for it: residents get
/// an SMS for the steps that matter to them; staff work from the inbox.
pub fn default_channels(kind: NoticeKind, staff: bool) -> Vec<Channel> {
    use NoticeKind as K;
    match (kind, staff) {
        (K::Accepted | K::Rejected | K::Solved | K::Reopened, false) => vec![Channel::Inbox, Channel::Sms],
        (K::Overdue | K::Supervision | K::InspectionOverdue, true) => vec![Channel::Inbox, Channel::Sms],
        (K::UrgentNotice, _) => vec![Channel::Inbox, Channel::Sms],
        _ => vec![Channel::Inbox],
    }
}

pub const LOCALES: [&str; 2] = ["zh", "en"];

fn minutes_of(t: &str) -> Option<i64> {
    let (h, m) = t.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * 60 + m)
}

/// A text of a notice: a subject (e-mail, inbox title) and a body with `{placeholders}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub subject: String,
    pub body: String,
}

/// The placeholders a template may use.
pub const PLACEHOLDERS: [&str; 6] = ["reference", "description", "reason", "deadline", "link", "area"];

pub const MAX_TEMPLATE: usize = 1000;

impl Template {
    /// Checks a template the admin wrote: not empty, not too long, known placeholders only.
    pub fn validate(&self) -> Result<(), FieldError> {
        for (field, text, max) in [("subject", &self.subject, 120), ("body", &self.body, MAX_TEMPLATE)] {
            if text.trim().is_empty() {
                return Err(FieldError::new(field, "must not be empty"));
            }
            if text.chars().count() > max {
                return Err(FieldError::new(field, format!("at most {max} characters")));
            }
            let mut rest = text.as_str();
            while let Some(open) = rest.find('{') {
                let after = &rest[open + 1..];
                let Some(close) = after.find('}') else {
                    return Err(FieldError::new(field, "a `{` without its `}`"));
                };
                let name = &after[..close];
                if !PLACEHOLDERS.contains(&name) {
                    return Err(FieldError::new(
                        field,
                        format!(
                            "unknown placeholder {{{name}}}; use {}",
                            PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
                        ),
                    ));
                }
                rest = &after[close + 1..];
            }
        }
        Ok(())
    }

    /// The text with each `{name}` replaced by its value (an unknown or missing one by nothing).
    pub fn render(&self, values: &BTreeMap<&str, String>) -> (String, String) {
        (fill(&self.subject, values), fill(&self.body, values))
    }
}

fn fill(text: &str, values: &BTreeMap<&str, String>) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                if let Some(v) = values.get(&after[..close]) {
                    out.push_str(v);
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// What fills a notice's placeholders for this event of this case, in `locale`: `link` and
/// `area` (the name of the case's grid) come from the caller.
pub fn values(
    case: &Case,
    event: &CaseEvent,
    locale: &str,
    link: &str,
    area: &str,
    utc_offset_hours: i32,
) -> BTreeMap<&'static str, String> {
    let en = locale == "en";
    let data = &event.event.data;
    let text = |k: &str| data.get(k).and_then(|v| v.as_str()).map(str::trim).filter(|s| !s.is_empty());
    let with_note = |head: String| match text("note") {
        Some(n) if en => format!("{head} ({n})"),
        Some(n) => format!("{head}（{n}）"),
        None => head,
    };
    let reason = match event.event.action {
        Action::Reject => with_note(
            match (text("reason"), en) {
                (Some("duplicate"), true) => "it repeats a report already taken",
                (Some("duplicate"), false) => "与已受理的问题重复",
                (Some("outside_area"), true) => "it lies outside our area",
                (Some("outside_area"), false) => "不属于本辖区",
                (_, true) => "it is not a problem we can handle",
                (_, false) => "不属于受理范围",
            }
            .to_string(),
        ),
        Action::ApproveExtension => with_note(if en { "approved" } else { "同意延期" }.to_string()),
        Action::DenyExtension => {
            let r = text("reason").unwrap_or_default();
            if en {
                format!("denied: {r}")
            } else {
                format!("不同意延期：{r}")
            }
        }
        Action::Verify | Action::Supervise => text("note").unwrap_or_default().to_string(),
        _ => text("reason").unwrap_or_default().to_string(),
    };
    let deadline = match event.event.action {
        Action::Supervise => data
            .get("respond_by")
            .and_then(|v| v.as_str())
            .and_then(|s| crate::time::parse_rfc3339("respond_by", s).ok()),
        Action::MarkOverdue | Action::Warn => {
            data.get("due_at").and_then(|v| v.as_str()).and_then(|s| crate::time::parse_rfc3339("due_at", s).ok())
        }
        _ => case.handle_by.or(case.due_at),
    };
    let description: String = {
        let d = case.description.trim();
        if d.chars().count() > 40 {
            d.chars().take(40).chain(['…']).collect()
        } else {
            d.to_string()
        }
    };
    BTreeMap::from([
        ("reference", case.reference.clone()),
        ("description", description),
        ("reason", reason),
        ("deadline", deadline.map(|d| local_time(d, utc_offset_hours)).unwrap_or_default()),
        ("link", link.to_string()),
        ("area", area.to_string()),
    ])
}

/// What fills the placeholders of an urgent notice: `description` is the article's title and
/// summary (at most 70 characters, one SMS), `area` the name of the region it was published to.
pub fn article_values(
    title: &str,
    summary: &str,
    link: &str,
    area: &str,
    locale: &str,
) -> BTreeMap<&'static str, String> {
    let (title, summary) = (title.trim(), summary.trim());
    let text = match (summary.is_empty(), locale == "en") {
        (true, _) => title.to_string(),
        (false, true) => format!("{title}: {summary}"),
        (false, false) => format!("{title}：{summary}"),
    };
    let description = if text.chars().count() > 70 { text.chars().take(69).chain(['…']).collect() } else { text };
    BTreeMap::from([("description", description), ("link", link.to_string()), ("area", area.to_string())])
}

/// An overdue inspection: of a place or house in a grid, or a campaign's task of it.
#[derive(Debug, Clone, PartialEq)]
pub struct OverdueInspection<'a> {
    /// What is to be inspected: its name.
    pub name: &'a str,
    /// The campaign (专项整治) it is a task of, if any.
    pub campaign: Option<&'a str>,
    pub due_at: Millis,
    /// Whole days past due at the time of the notice.
    pub days_late: i64,
    /// Told to the community's grid leaders (its grid members were told before).
    pub escalated: bool,
}

/// What fills the placeholders of an overdue inspection's notice: `description` the subject's
/// name, `deadline` when it was due, `reason` how late (and the campaign, and that it was
/// escalated), `area` its grid's name.
pub fn overdue_inspection_values(
    o: &OverdueInspection<'_>,
    link: &str,
    area: &str,
    locale: &str,
    utc_offset_hours: i32,
) -> BTreeMap<&'static str, String> {
    let days = o.days_late.max(0);
    let reason = if locale == "en" {
        let mut r = format!("{days} day{} overdue", if days == 1 { "" } else { "s" });
        if let Some(c) = o.campaign {
            r = format!("a task of the campaign “{c}”, {r}");
        }
        if o.escalated {
            r.push_str("; its grid members were told and it is still not done");
        }
        r
    } else {
        let mut r = format!("已逾期{days}天");
        if let Some(c) = o.campaign {
            r = format!("专项整治“{c}”的任务，{r}");
        }
        if o.escalated {
            r.push_str("，已提醒网格员仍未检查");
        }
        r
    };
    BTreeMap::from([
        ("description", o.name.to_string()),
        ("deadline", local_time(o.due_at, utc_offset_hours)),
        ("reason", reason),
        ("link", link.to_string()),
        ("area", area.to_string()),
    ])
}

/// Added to the last SMS or e-mail a person gets on a day before their cap.
pub fn cap_reached(locale: &str) -> &'static str {
    if locale == "en" {
        " Further notices today are in your inbox in the app."
    } else {
        " 今日其余通知请在应用的消息中查看。"
    }
}

/// The text a deployment starts with for `kind` in `locale` (`zh` for any other).
pub fn default_template(kind: NoticeKind, locale: &str) -> Template {
    use NoticeKind as K;
    let (s, b) = if locale == "en" {
        match kind {
            K::Accepted => ("Your report {reference} was accepted", "The linkage center accepted your report “{description}”. We will tell you when it is solved. {link}"),
            K::Rejected => ("Your report {reference} was not taken", "Your report “{description}” was not taken: {reason}. {link}"),
            K::Dispatched => ("Your report {reference} is being handled", "A department is handling your report “{description}”, due {deadline}. {link}"),
            K::Solved => ("Your report {reference} is solved", "The problem you reported, “{description}”, was checked on site and is solved. See the photos before and after, and tell us how we did: {link}"),
            K::Closed => ("Your report {reference} is closed", "Your report “{description}” is closed. Please rate how it was handled: {link}"),
            K::Reopened => ("Your report {reference} was reopened", "Your report “{description}” was opened again: {reason}. {link}"),
            K::NewDispatch => ("New case {reference} for your department", "Case {reference} was dispatched to your department, due {deadline}: “{description}”. {link}"),
            K::Rework => ("Case {reference} is not solved yet", "The check on site found case {reference} not solved: {reason}. Please handle it again. {link}"),
            K::ExtensionDecided => ("Extension for case {reference}: {reason}", "The linkage center decided on the extension of case {reference}: {reason}. Deadline: {deadline}. {link}"),
            K::Returned => ("Case {reference} was returned", "A department returned case {reference}: {reason}. Please dispatch it again. {link}"),
            K::DeadlineWarning => ("Case {reference} is due soon", "Three quarters of the time for case {reference} have passed; it is due {deadline}. {link}"),
            K::Overdue => ("Case {reference} is overdue", "Case {reference} was due {deadline} and is now overdue and under supervision. {link}"),
            K::Supervision => ("Supervision order on case {reference}", "A supervision order was issued on case {reference}: {reason}. Please respond by {deadline}. {link}"),
            K::VerificationNeeded => ("Check case {reference} on site", "The department reports case {reference} solved. Please check it on site: “{description}”. {link}"),
            K::NewInArea => ("New problem reported in {area}", "A problem was reported in {area}: “{description}” ({reference}). {link}"),
            K::UrgentNotice => ("Urgent notice for {area}", "Urgent notice for {area}: {description} {link}"),
            K::InspectionOverdue => ("Inspection overdue: {description}", "The inspection of {description} in {area} was due {deadline}: {reason}. {link}"),
        }
    } else {
        match kind {
            K::Accepted => {
                ("您反映的问题{reference}已受理", "您反映的“{description}”已由联动中心受理，办结后将通知您。{link}")
            }
            K::Rejected => ("您反映的问题{reference}未予受理", "您反映的“{description}”未予受理：{reason}。{link}"),
            K::Dispatched => {
                ("您反映的问题{reference}正在办理", "您反映的“{description}”已派给承办部门，办理期限{deadline}。{link}")
            }
            K::Solved => (
                "您反映的问题{reference}已解决",
                "您反映的“{description}”经网格员现场核查已解决，可查看处置前后照片并评价：{link}",
            ),
            K::Closed => {
                ("您反映的问题{reference}已办结", "您反映的“{description}”已办结，请对办理情况进行评价：{link}")
            }
            K::Reopened => {
                ("您反映的问题{reference}已重新办理", "您反映的“{description}”已重新启动办理：{reason}。{link}")
            }
            K::NewDispatch => {
                ("新派遣案件{reference}", "案件{reference}已派给本部门，请于{deadline}前办结：“{description}”。{link}")
            }
            K::Rework => ("案件{reference}核查未通过", "案件{reference}现场核查未通过：{reason}。请重新处置。{link}"),
            K::ExtensionDecided => (
                "案件{reference}延期申请结果：{reason}",
                "联动中心已处理案件{reference}的延期申请：{reason}。办理期限{deadline}。{link}",
            ),
            K::Returned => ("案件{reference}被退回", "承办部门退回了案件{reference}：{reason}。请重新派遣。{link}"),
            K::DeadlineWarning => {
                ("案件{reference}即将到期", "案件{reference}办理时限已过四分之三，将于{deadline}到期。{link}")
            }
            K::Overdue => ("案件{reference}已超期", "案件{reference}已于{deadline}超期，已纳入督办。{link}"),
            K::Supervision => {
                ("案件{reference}督办通知", "案件{reference}已被督办：{reason}。请于{deadline}前回复。{link}")
            }
            K::VerificationNeeded => (
                "案件{reference}待现场核查",
                "承办部门已报告案件{reference}办结，请到现场核查：“{description}”。{link}",
            ),
            K::NewInArea => ("{area}有新反映的问题", "{area}有群众反映：“{description}”（{reference}）。{link}"),
            K::UrgentNotice => ("{area}紧急通知", "{area}紧急通知：{description} {link}"),
            K::InspectionOverdue => {
                ("检查逾期：{description}", "{area}的{description}应于{deadline}前检查：{reason}。{link}")
            }
        }
    };
    Template { subject: s.into(), body: b.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: Millis = crate::HOUR;

    #[test]
    fn every_default_template_uses_known_placeholders_only() {
        for kind in NoticeKind::ALL {
            for locale in LOCALES {
                default_template(kind, locale).validate().unwrap_or_else(|e| panic!("{kind:?} {locale}: {e:?}"));
            }
        }
        assert_eq!(NoticeKind::parse("new_in_area").unwrap(), NoticeKind::NewInArea);
        assert!(NoticeKind::parse("nope").is_err());
    }

    #[test]
    fn a_template_is_filled_and_a_bad_one_is_refused_with_its_field() {
        let t = Template { subject: "Case {reference}".into(), body: "{reason} — {link} {".into() };
        let values = BTreeMap::from([("reference", "A-1".to_string()), ("link", "http://x/1".to_string())]);
        assert_eq!(t.render(&values), ("Case A-1".to_string(), " — http://x/1 {".to_string()));
        assert_eq!(t.validate().unwrap_err().field, "body");
        let t = Template { subject: "{who}".into(), body: "ok".into() };
        let e = t.validate().unwrap_err();
        assert_eq!(e.field, "subject");
        assert!(e.reason.contains("{who}"), "{}", e.reason);
        assert_eq!(Template { subject: " ".into(), body: "x".into() }.validate().unwrap_err().field, "subject");
    }

    #[test]
    fn quiet_hours_hold_messages_until_morning_except_emergencies() {
        let s = NoticeSettings::default(); // 22:00 to 07:00, China time
        let day = 1_780_000_000_000 / (24 * H) * (24 * H); // a UTC midnight = 08:00 in China
                                                           // 15:00 UTC = 23:00 in China: held until 07:00 China = 23:00 UTC.
        assert_eq!(s.send_at(day + 15 * H, 8, Urgency::Routine), day + 23 * H);
        // 20:30 UTC = 04:30 China: held until 23:00 UTC the same UTC day.
        assert_eq!(s.send_at(day + 20 * H + 30 * crate::MINUTE, 8, Urgency::Urgent), day + 23 * H);
        // 02:00 UTC = 10:00 China: at once.
        assert_eq!(s.send_at(day + 2 * H, 8, Urgency::Routine), day + 2 * H);
        assert_eq!(s.send_at(day + 15 * H, 8, Urgency::Emergency), day + 15 * H);
        let none = NoticeSettings { quiet_from: None, quiet_to: None, ..NoticeSettings::default() };
        assert_eq!(none.send_at(day + 15 * H, 8, Urgency::Routine), day + 15 * H);
        // Daytime quiet hours (a shift worker), 09:00 to 17:00 China = 01:00 to 09:00 UTC.
        let day_quiet = NoticeSettings {
            quiet_from: Some("09:00".into()),
            quiet_to: Some("17:00".into()),
            ..NoticeSettings::default()
        };
        assert_eq!(day_quiet.send_at(day + 3 * H, 8, Urgency::Routine), day + 9 * H);
        assert_eq!(day_quiet.send_at(day + 10 * H, 8, Urgency::Routine), day + 10 * H);
    }

    #[test]
    fn settings_are_checked_field_by_field() {
        assert!(NoticeSettings::default().validate().is_ok());
        let bad = |f: fn(&mut NoticeSettings)| {
            let mut s = NoticeSettings::default();
            f(&mut s);
            s.validate().unwrap_err().field
        };
        assert_eq!(bad(|s| s.locale = "fr".into()), "locale");
        assert_eq!(bad(|s| s.quiet_from = Some("24:00".into())), "quiet_from");
        assert_eq!(bad(|s| s.quiet_to = Some("7:00".into())), "quiet_to");
        assert_eq!(bad(|s| s.quiet_to = None), "quiet_to");
        assert_eq!(bad(|s| s.daily_cap = 0), "daily_cap");
        assert_eq!(
            bad(|s| {
                s.channels.insert(NoticeKind::Solved, vec![Channel::Sms, Channel::Sms]);
            }),
            "channels"
        );
    }

    #[test]
    fn an_urgent_notice_says_the_area_title_and_summary_in_one_sms() {
        let v = article_values(" 停水通知 ", "明日8时至12时停水", "https://x/articles/7", "桃园社区", "zh");
        let (subject, body) = default_template(NoticeKind::UrgentNotice, "zh").render(&v);
        assert_eq!(subject, "桃园社区紧急通知");
        assert_eq!(body, "桃园社区紧急通知：停水通知：明日8时至12时停水 https://x/articles/7");
        let long = article_values("Typhoon", &"x".repeat(200), "l", "Taoyuan", "en");
        assert_eq!(long["description"].chars().count(), 70);
        assert!(long["description"].starts_with("Typhoon: x") && long["description"].ends_with('…'));
        assert_eq!(article_values("Title", "", "l", "a", "en")["description"], "Title");
        // Residents and staff alike get it by SMS unless they chose otherwise.
        for staff in [false, true] {
            assert_eq!(
                NoticeSettings::default().channels_for(NoticeKind::UrgentNotice, staff),
                [Channel::Inbox, Channel::Sms]
            );
        }
        assert!(NoticeKind::UrgentNotice.is_for_residents());
    }

    #[test]
    fn an_overdue_inspection_says_what_when_how_late_and_whether_escalated() {
        let due = 1_780_000_000_000; // 2026-05-29 04:26:40 in China
        let o = OverdueInspection { name: "何氏饼店", campaign: None, due_at: due, days_late: 2, escalated: false };
        let (subject, body) = default_template(NoticeKind::InspectionOverdue, "zh").render(&overdue_inspection_values(
            &o,
            "L",
            "第01网格",
            "zh",
            8,
        ));
        assert_eq!(subject, "检查逾期：何氏饼店");
        assert_eq!(body, "第01网格的何氏饼店应于2026-05-29 04:26前检查：已逾期2天。L");
        let o = OverdueInspection { campaign: Some("消防整治"), days_late: 1, escalated: true, ..o };
        let (_, body) = default_template(NoticeKind::InspectionOverdue, "en")
            .render(&overdue_inspection_values(&o, "L", "Grid 1", "en", 8));
        assert_eq!(
            body,
            "The inspection of 何氏饼店 in Grid 1 was due 2026-05-29 04:26: a task of the campaign “消防整治”, 1 day \
             overdue; its grid members were told and it is still not done. L"
        );
        // Staff get it by SMS too unless they chose otherwise; it is not for residents.
        assert_eq!(
            NoticeSettings::default().channels_for(NoticeKind::InspectionOverdue, true),
            [Channel::Inbox, Channel::Sms]
        );
        assert!(!NoticeKind::InspectionOverdue.is_for_residents());
    }

    #[test]
    fn the_inbox_always_and_otherwise_what_each_chose() {
        let mut s = NoticeSettings::default();
        assert_eq!(s.channels_for(NoticeKind::Solved, false), vec![Channel::Inbox, Channel::Sms]);
        assert_eq!(s.channels_for(NoticeKind::NewDispatch, true), vec![Channel::Inbox]);
        s.channels.insert(NoticeKind::Solved, vec![Channel::Email]);
        s.channels.insert(NoticeKind::Overdue, vec![]);
        assert_eq!(s.channels_for(NoticeKind::Solved, false), vec![Channel::Inbox, Channel::Email]);
        assert_eq!(s.channels_for(NoticeKind::Overdue, true), vec![Channel::Inbox]);
        assert_eq!(
            NoticeSettings::default().channels_for(NoticeKind::Overdue, true),
            vec![Channel::Inbox, Channel::Sms]
        );
    }
}
