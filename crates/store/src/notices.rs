//! Notifications: the outbox of case events that may tell someone (written with each event in
//! its transaction, see `CaseStore`'s `insert_events`), its fan-out into one notice per person
//! or contact and channel (who is told what is `gridkeeper_domain::notices`), the deliveries the
//! server's worker claims and records, the inbox, people's choices, the admin's texts, and who
//! follows a case or an area. Beside case events, a notice may tell of an urgent article
//! (`push_urgent_articles`) or of an inspection past due (`tell_overdue_inspections`).

use std::collections::{BTreeMap, HashMap, HashSet};

use async_trait::async_trait;
use gridkeeper_domain::notices::{self, Audience, Channel, NoticeKind, NoticeSettings, OverdueInspection, Template};
use gridkeeper_domain::time::{local_day, local_day_start};
use gridkeeper_domain::{
    Actor, Calendar, Case, CaseEvent, CaseId, FieldError, LatLon, Millis, PersonId, RegionCode, RegionLevel, Role,
    Urgency,
};
use serde::Serialize;
use sqlx::Row;

use crate::cases::{CASE_COLUMNS, EVENT_COLUMNS};
use crate::dialect::generic;
use crate::inspections::SUBJECTS;
use crate::sql::Sql;
use crate::{corrupt, parse_field, Result, StoreError};

/// What the fan-out needs from the server.
#[derive(Debug, Clone, Copy)]
pub struct NoticeContext<'a> {
    pub now: Millis,
    /// The base of the links in notices (`https://grid.example.gov.cn`).
    pub base_url: &'a str,
    pub utc_offset_hours: i32,
}

/// A notice due for delivery by SMS or e-mail.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// The delivery's identity: a channel that deduplicates drops a second send of the same id.
    pub id: i64,
    pub channel: Channel,
    pub kind: NoticeKind,
    pub person: Option<PersonId>,
    /// The phone number or e-mail address.
    pub address: String,
    pub locale: String,
    pub subject: String,
    pub body: String,
    pub link: String,
    /// Attempts before this one.
    pub attempts: u32,
}

/// The outcome of one delivery attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum NoticeAttempt {
    Sent,
    /// Failed; tried again at `retry_at`, or given up (dead) when `None`.
    Failed {
        error: String,
        retry_at: Option<Millis>,
    },
}

/// A notice as its receiver or the admin sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NoticeRow {
    pub id: i64,
    pub kind: NoticeKind,
    pub channel: Channel,
    /// The case whose event it tells of, or
    pub case_id: Option<CaseId>,
    /// the urgent article it pushes.
    pub article_id: Option<i64>,
    pub subject: String,
    pub body: String,
    /// Where the notice leads (the case, or the tracking page).
    pub link: String,
    /// pending, sent, dead or capped.
    pub status: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    #[serde(with = "gridkeeper_domain::time::rfc3339")]
    pub created_at: Millis,
    #[serde(with = "gridkeeper_domain::time::rfc3339_opt")]
    pub read_at: Option<Millis>,
}

/// Where a person's notices go besides the inbox and their phone.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NoticeAddresses {
    pub email: Option<String>,
    /// The openid of their WeChat at the town's official account.
    pub wechat: Option<String>,
}

/// What a person follows: a case, a region, or a circle around a point.
#[derive(Debug, Clone, PartialEq)]
pub enum FollowTarget {
    Case(CaseId),
    Region(RegionCode),
    Around { point: LatLon, radius_m: u32 },
}

/// The largest circle a person may follow.
pub const MAX_FOLLOW_RADIUS_M: u32 = 5_000;
/// Most follows per person.
pub const MAX_FOLLOWS: i64 = 200;

#[derive(Debug, Clone, PartialEq)]
pub struct Follow {
    pub id: i64,
    pub target: FollowTarget,
    pub created_at: Millis,
}

/// A template as the admin sees it: the text in use, and whether it is the default.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateRow {
    pub kind: NoticeKind,
    pub locale: String,
    pub template: Template,
    pub custom: bool,
}

#[async_trait]
pub trait NoticeStore: Send + Sync {
    /// Turns up to `limit` queued case events into notices (each rule of
    /// `gridkeeper_domain::notices::audiences`, each receiver's channels, quiet hours and daily
    /// cap), all in one transaction with the removal of those events from the queue. Writing the
    /// same notice twice writes nothing (several instances may fan out at once). Returns the
    /// events taken.
    async fn fan_out_notices(&self, limit: u32, ctx: &NoticeContext<'_>) -> Result<usize>;
    /// Queues the events since `since` that may tell someone, as if they had just happened (a
    /// town loaded from history, such as the demo, starts with its recent notices); answers how
    /// many.
    async fn queue_notices_since(&self, since: Millis) -> Result<u64>;
    /// Pushes the urgent articles that are live and not yet pushed (at most `limit`): to the
    /// people who follow an area overlapping the article's region (a region inside it or around
    /// it, or a circle whose centre `locate` finds in it) and to the grid members and grid
    /// leaders whose grants overlap it, not to its author; each once, whatever they follow.
    /// Returns how many articles were pushed. Several instances may push at once.
    async fn push_urgent_articles(
        &self,
        limit: u32,
        ctx: &NoticeContext<'_>,
        locate: &(dyn Fn(LatLon) -> Option<RegionCode> + Sync),
    ) -> Result<usize>;
    /// Tells of the inspections past due at `ctx.now` — planned ones (`inspection_due`) and the
    /// open tasks of campaigns not closed early —: the grid members of the subject's grid as soon
    /// as it is past due, and the grid leaders of its community once it is overdue by more than
    /// `escalate_after_days` working days of its district's calendar (`calendars`; the wall clock
    /// without one). Each due is told once per step and receiver (`notices.due_key`), whichever
    /// instance runs it and however often; answers how many notices were written.
    async fn tell_overdue_inspections(
        &self,
        ctx: &NoticeContext<'_>,
        escalate_after_days: u32,
        calendars: &HashMap<String, Calendar>,
    ) -> Result<usize>;
    /// Claims up to `limit` SMS and e-mail notices due at `now`, leased until `lease_until` (a
    /// worker that dies lets them come due again then).
    async fn claim_notices(&self, now: Millis, lease_until: Millis, limit: u32) -> Result<Vec<Outgoing>>;
    /// Records how an attempt went; a sent notice forgets its address.
    async fn record_notice(&self, id: i64, attempt: &NoticeAttempt, now: Millis) -> Result<()>;
    /// A person's inbox, newest first, before the notice `before` when given.
    async fn inbox(&self, person: PersonId, before: Option<i64>, limit: u32) -> Result<Vec<NoticeRow>>;
    async fn unread_notices(&self, person: PersonId) -> Result<u64>;
    /// Marks one notice of the person's inbox (or all, when `None`) read; answers how many changed.
    async fn mark_notices_read(&self, person: PersonId, id: Option<i64>, now: Millis) -> Result<u64>;
    /// A person's choices (the defaults until they chose) and addresses.
    async fn notice_settings(&self, person: PersonId) -> Result<(NoticeSettings, NoticeAddresses)>;
    async fn put_notice_settings(
        &self,
        person: PersonId,
        settings: &NoticeSettings,
        email: Option<&str>,
        now: Millis,
    ) -> Result<()>;
    /// Binds (or with `None` unbinds) a person's WeChat.
    async fn set_wechat(&self, person: PersonId, openid: Option<&str>, now: Millis) -> Result<()>;
    /// Every kind's text in every locale.
    async fn notice_templates(&self) -> Result<Vec<TemplateRow>>;
    /// Replaces a text (`None`: back to the default).
    async fn put_notice_template(
        &self,
        kind: NoticeKind,
        locale: &str,
        template: Option<&Template>,
        by: PersonId,
        now: Millis,
    ) -> Result<()>;
    /// Notices with this status (the admin's list of dead letters), newest first.
    async fn notices_with_status(&self, status: &str, limit: u32) -> Result<Vec<NoticeRow>>;
    /// Sends a dead notice again; `false` when there is no such dead notice.
    async fn retry_notice(&self, id: i64, now: Millis) -> Result<bool>;
    /// Follows a case or an area; following the same case twice answers the first follow.
    async fn follow(&self, person: PersonId, target: &FollowTarget, now: Millis) -> Result<Follow>;
    async fn follows(&self, person: PersonId) -> Result<Vec<Follow>>;
    /// `false` when the person has no such follow.
    async fn unfollow(&self, person: PersonId, id: i64) -> Result<bool>;
}

/// One person or contact to tell, with what the rule said of them.
struct Receiver {
    key: String,
    person: Option<PersonId>,
    staff: bool,
    /// A contact's phone (someone without an account).
    phone: Option<String>,
}

/// Each person told in a fan-out: their choices, addresses and phone, read once.
type People = HashMap<PersonId, (NoticeSettings, NoticeAddresses, Option<String>)>;

/// What a notice tells of: its identity with the receiver and the channel.
#[derive(Debug, Clone)]
enum About {
    Event {
        case: CaseId,
        seq: i64,
    },
    Article(i64),
    /// An inspection due and the step of telling it (`notices.due_key`).
    Due(String),
}

/// A notice of `kind` about `about`, happened `at`; SMS and e-mail keep the receiver's quiet
/// hours unless `urgency` is an emergency.
struct Told {
    kind: NoticeKind,
    about: About,
    urgency: Urgency,
    at: Millis,
}

const SETTINGS: &str = "notice_settings.email";
const WECHAT: &str = "notice_settings.wechat";
const ADDRESS: &str = "notices.address";
const NOTICE_COLUMNS: &str =
    "id, kind, channel, case_id, article_id, subject, body, link, status, attempts, last_error, created_at, read_at";

generic! {
    impl SqlStore {
        fn notice_row(r: &D::Row) -> Result<NoticeRow> {
            let attempts: i32 = r.try_get("attempts")?;
            Ok(NoticeRow {
                id: r.try_get("id")?,
                kind: parse_field(NoticeKind::parse(r.try_get("kind")?))?,
                channel: parse_field(Channel::parse(r.try_get("channel")?))?,
                case_id: r.try_get("case_id")?,
                article_id: r.try_get("article_id")?,
                subject: r.try_get("subject")?,
                body: r.try_get("body")?,
                link: r.try_get("link")?,
                status: r.try_get("status")?,
                attempts: u32::try_from(attempts).unwrap_or(0),
                last_error: r.try_get("last_error")?,
                created_at: r.try_get("created_at")?,
                read_at: r.try_get("read_at")?,
            })
        }

        fn follow_row(r: &D::Row) -> Result<Follow> {
            let case: Option<i64> = r.try_get("case_id")?;
            let region: Option<String> = r.try_get("region")?;
            let lat: Option<f64> = r.try_get("lat")?;
            let lon: Option<f64> = r.try_get("lon")?;
            let radius: Option<i32> = r.try_get("radius_m")?;
            let target = match (case, region, lat.zip(lon)) {
                (Some(c), _, _) => FollowTarget::Case(c),
                (None, Some(r), _) => FollowTarget::Region(parse_field(RegionCode::parse(&r))?),
                (None, None, Some((lat, lon))) => FollowTarget::Around {
                    point: LatLon { lat, lon },
                    radius_m: u32::try_from(radius.unwrap_or(0)).unwrap_or(0),
                },
                _ => return Err(corrupt("a follow of nothing")),
            };
            Ok(Follow { id: r.try_get("id")?, target, created_at: r.try_get("created_at")? })
        }

        async fn settings_in(
            &self,
            conn: &mut D::Connection,
            person: PersonId,
        ) -> Result<(NoticeSettings, NoticeAddresses)> {
            let row = sqlx::query("SELECT settings, email, wechat FROM notice_settings WHERE person_id = $1")
                .bind(person)
                .fetch_optional(&mut *conn)
                .await?;
            let Some(r) = row else { return Ok((NoticeSettings::default(), NoticeAddresses::default())) };
            let settings: String = r.try_get("settings")?;
            let settings = serde_json::from_str(&settings).map_err(corrupt)?;
            let email = self.vault.open_opt(SETTINGS, r.try_get("email")?).map_err(corrupt)?;
            let wechat = self.vault.open_opt(WECHAT, r.try_get("wechat")?).map_err(corrupt)?;
            Ok((settings, NoticeAddresses { email, wechat }))
        }

        /// Writes `receiver`'s notices of `told` on each channel they get it by (the inbox always;
        /// SMS and e-mail only where there is an address), filled by `values` in their language.
        /// Over their daily cap an SMS or e-mail stays in the inbox ("capped"); the last one
        /// below it says so. A notice already written for the same subject, receiver and channel
        /// is left as it is. Answers how many notices were written.
        #[allow(clippy::too_many_arguments)]
        async fn tell(
            &self,
            conn: &mut D::Connection,
            ctx: &NoticeContext<'_>,
            custom: &HashMap<(String, String), Template>,
            people: &mut People,
            receiver: &Receiver,
            told: &Told,
            link: &str,
            values: impl Fn(&str) -> BTreeMap<&'static str, String>,
        ) -> Result<usize> {
            let (settings, addresses, phone) = match receiver.person {
                Some(p) => {
                    if let std::collections::hash_map::Entry::Vacant(slot) = people.entry(p) {
                        let (settings, addresses) = self.settings_in(&mut *conn, p).await?;
                        let phone: Option<Option<String>> = sqlx::query_scalar("SELECT phone FROM people WHERE id = $1")
                            .bind(p)
                            .fetch_optional(&mut *conn)
                            .await?;
                        let phone = self.vault.open_opt("people.phone", phone.flatten().as_deref()).map_err(corrupt)?;
                        slot.insert((settings, addresses, phone));
                    }
                    people[&p].clone()
                }
                None => (NoticeSettings::default(), NoticeAddresses::default(), receiver.phone.clone()),
            };
            let kind = told.kind;
            let locale = settings.locale.as_str();
            let template = custom
                .get(&(kind.as_str().to_string(), locale.to_string()))
                .cloned()
                .unwrap_or_else(|| notices::default_template(kind, locale));
            let (subject, body) = template.render(&values(locale));
            let channels: Vec<Channel> = if receiver.person.is_some() {
                settings.channels_for(kind, receiver.staff)
            } else {
                // A contact without an account has no inbox: SMS is all there is.
                vec![Channel::Sms]
            };
            let today = local_day_start(local_day(ctx.now, ctx.utc_offset_hours), ctx.utc_offset_hours);
            let (case, seq, article, due) = match &told.about {
                About::Event { case, seq } => (Some(*case), Some(*seq), None, None),
                About::Article(id) => (None, None, Some(*id), None),
                About::Due(key) => (None, None, None, Some(key.as_str())),
            };
            let mut written = 0;
            for channel in channels {
                let address = match channel {
                    Channel::Inbox => None,
                    Channel::Sms => match &phone {
                        Some(p) => Some(p.clone()),
                        None => continue,
                    },
                    Channel::Email => match &addresses.email {
                        Some(e) => Some(e.clone()),
                        None => continue,
                    },
                    Channel::Wechat => match &addresses.wechat {
                        Some(w) => Some(w.clone()),
                        None => continue,
                    },
                };
                let mut body = body.clone();
                let (status, next) = if channel == Channel::Inbox {
                    ("sent", ctx.now)
                } else {
                    let sent_today: i64 = sqlx::query_scalar(
                        "SELECT count(*) FROM notices WHERE recipient = $1 AND channel <> 'inbox' \
                         AND created_at >= $2 AND status <> 'capped'",
                    )
                    .bind(&receiver.key)
                    .bind(today)
                    .fetch_one(&mut *conn)
                    .await?;
                    let cap = i64::from(settings.daily_cap);
                    if sent_today >= cap {
                        ("capped", ctx.now)
                    } else {
                        if sent_today == cap - 1 {
                            body.push_str(notices::cap_reached(locale));
                        }
                        ("pending", settings.send_at(ctx.now, ctx.utc_offset_hours, told.urgency))
                    }
                };
                // Unique per (case, seq, recipient, channel), per (article, recipient, channel) and
                // per (due_key, recipient, channel).
                let done = sqlx::query(
                    "INSERT INTO notices (recipient, person_id, channel, kind, case_id, seq, article_id, due_key, \
                     locale, address, subject, body, link, status, next_attempt_at, created_at, sent_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(&receiver.key)
                .bind(receiver.person)
                .bind(channel.as_str())
                .bind(kind.as_str())
                .bind(case)
                .bind(seq)
                .bind(article)
                .bind(due)
                .bind(locale)
                .bind(self.vault.seal_opt(ADDRESS, address.as_deref()))
                .bind(&subject)
                .bind(&body)
                .bind(link)
                .bind(status)
                .bind(next)
                .bind(told.at.min(ctx.now))
                .bind((status == "sent").then_some(ctx.now))
                .execute(&mut *conn)
                .await?;
                written += D::rows_affected(&done) as usize;
            }
            Ok(written)
        }

        /// The name of region `code` (its code when none is stored), as notices call an area.
        async fn region_name_in(conn: &mut D::Connection, code: &str) -> Result<String> {
            let name: Option<String> = sqlx::query_scalar("SELECT name FROM regions WHERE code = $1")
                .bind(code)
                .fetch_optional(&mut *conn)
                .await?;
            Ok(name.unwrap_or_else(|| code.to_string()))
        }

        /// Who follows an area — a region, or a circle around a point —, oldest follow first.
        async fn area_follows(conn: &mut D::Connection) -> Result<Vec<(PersonId, FollowTarget)>> {
            let rows = sqlx::query("SELECT * FROM follows WHERE case_id IS NULL ORDER BY id").fetch_all(&mut *conn).await?;
            rows.iter().map(|r| Ok((r.try_get("person_id")?, Self::follow_row(r)?.target))).collect()
        }

        /// The people (not disabled) holding `role` over one of `scopes` (of `scope_type`).
        async fn holders(
            conn: &mut D::Connection,
            roles: &[Role],
            scope_type: &str,
            scopes: &[String],
        ) -> Result<Vec<PersonId>> {
            if scopes.is_empty() {
                return Ok(Vec::new());
            }
            let mut b = Sql::new(
                "SELECT DISTINCT g.person_id FROM grants g JOIN people p ON p.id = g.person_id \
                 WHERE NOT p.disabled AND g.scope_type = ",
            );
            b.push_bind(scope_type.to_string()).push(" AND g.role IN ");
            b.push_in(roles.iter().map(|r| r.as_str().to_string()));
            b.push(" AND g.scope_value IN ");
            b.push_in(scopes.iter().cloned());
            b.push(" ORDER BY g.person_id");
            Ok(Self::query_of(&b).fetch_all(&mut *conn).await?.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?)
        }

        /// The people `audience` names for this case now.
        async fn resolve(
            &self,
            conn: &mut D::Connection,
            audience: &Audience,
            case: &Case,
        ) -> Result<Vec<Receiver>> {
            let staff = |ids: Vec<PersonId>| -> Vec<Receiver> {
                ids.into_iter().map(|p| Receiver { key: format!("p:{p}"), person: Some(p), staff: true, phone: None }).collect()
            };
            let resident = |p: PersonId| Receiver { key: format!("p:{p}"), person: Some(p), staff: false, phone: None };
            let contact = |phone: String| Receiver {
                key: format!("c:{}", self.vault.blind_index("phone", &phone)),
                person: None,
                staff: false,
                phone: Some(phone),
            };
            // A region and every one above it: a grant over any of them holds what lies in it.
            let up_from = |code: &RegionCode| -> Vec<String> { code.and_ancestors().iter().map(|c| c.as_str().to_string()).collect() };
            Ok(match audience {
                Audience::Reporter => {
                    let mut out = match (case.reporter, case.contact.as_ref().and_then(|c| c.phone.clone())) {
                        (Some(p), _) => vec![resident(p)],
                        (None, Some(phone)) => vec![contact(phone)],
                        (None, None) => Vec::new(),
                    };
                    // The callers the hotline attached to the case are its reporters too.
                    let phones: Vec<Option<String>> =
                        sqlx::query_scalar("SELECT phone FROM case_callers WHERE case_id = $1 ORDER BY id")
                            .bind(case.id)
                            .fetch_all(&mut *conn)
                            .await?;
                    for sealed in phones.into_iter().flatten() {
                        out.push(contact(self.vault.open("case_callers.phone", &sealed).map_err(corrupt)?));
                    }
                    out
                }
                Audience::Followers => {
                    let people: Vec<PersonId> =
                        sqlx::query_scalar("SELECT person_id FROM follows WHERE case_id = $1 ORDER BY person_id")
                            .bind(case.id)
                            .fetch_all(&mut *conn)
                            .await?;
                    let mut out = Vec::new();
                    for p in people {
                        // A follower is told only what they may see now.
                        if case.public || self.sees_in(&mut *conn, p, case).await? {
                            out.push(resident(p));
                        }
                    }
                    out
                }
                Audience::AreaFollowers => {
                    let mut out = Vec::new();
                    for (person, target) in Self::area_follows(conn).await? {
                        let inside = match (target, case.location) {
                            (FollowTarget::Region(r), _) => {
                                case.grid.as_ref().is_some_and(|g| g.as_str().starts_with(r.as_str()))
                            }
                            (FollowTarget::Around { point, radius_m }, Some(at)) => {
                                point.distance_m(&at) <= f64::from(radius_m)
                            }
                            _ => false,
                        };
                        if inside && case.public {
                            out.push(resident(person));
                        }
                    }
                    out
                }
                Audience::Departments(ids) => staff(
                    Self::holders(
                        conn,
                        &[Role::DepartmentStaff, Role::DepartmentHead],
                        "department",
                        &ids.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
                    )
                    .await?,
                ),
                Audience::Handler(dept) => {
                    let signer: Option<Option<PersonId>> = sqlx::query_scalar(
                        "SELECT actor FROM case_events WHERE case_id = $1 AND action = 'sign' ORDER BY seq DESC LIMIT 1",
                    )
                    .bind(case.id)
                    .fetch_optional(&mut *conn)
                    .await?;
                    let d = [dept.to_string()];
                    let mut ids = match signer.flatten() {
                        Some(p) => {
                            let mut heads = Self::holders(conn, &[Role::DepartmentHead], "department", &d).await?;
                            heads.push(p);
                            heads
                        }
                        None => Self::holders(conn, &[Role::DepartmentStaff, Role::DepartmentHead], "department", &d).await?,
                    };
                    ids.sort_unstable();
                    ids.dedup();
                    staff(ids)
                }
                Audience::Dispatchers(region) => {
                    staff(Self::holders(conn, &[Role::Dispatcher], "region", &up_from(region)).await?)
                }
                Audience::GridMembers(grid) => {
                    staff(Self::holders(conn, &[Role::GridMember], "region", &[grid.as_str().to_string()]).await?)
                }
                Audience::Leaders(level) => {
                    staff(Self::holders(conn, &[Role::GridLeader, Role::Supervisor], "region", &up_from(level)).await?)
                }
            })
        }

        /// Whether `person` may see `case` by their grants (or as its reporter).
        async fn sees_in(&self, conn: &mut D::Connection, person: PersonId, case: &Case) -> Result<bool> {
            if case.reporter == Some(person) {
                return Ok(true);
            }
            let rows = sqlx::query("SELECT * FROM grants WHERE person_id = $1")
                .bind(person)
                .fetch_all(&mut *conn)
                .await?;
            let grants = rows.iter().map(Self::grant_row).collect::<Result<Vec<_>>>()?;
            Ok(gridkeeper_domain::sees(&Actor::person(person, grants), &case.sight()))
        }

        /// The texts the admin changed, by kind and locale.
        async fn custom_templates(conn: &mut D::Connection) -> Result<HashMap<(String, String), Template>> {
            let rows = sqlx::query("SELECT kind, locale, subject, body FROM notice_templates")
                .fetch_all(&mut *conn)
                .await?;
            rows.iter()
                .map(|r| {
                    Ok((
                        (r.try_get("kind")?, r.try_get("locale")?),
                        Template { subject: r.try_get("subject")?, body: r.try_get("body")? },
                    ))
                })
                .collect()
        }
    }
}

generic! {
    #[async_trait]
    impl NoticeStore for SqlStore {
        async fn fan_out_notices(&self, limit: u32, ctx: &NoticeContext<'_>) -> Result<usize> {
            let mut tx = self.begin_write().await?;
            let rows = sqlx::query(&format!(
                "SELECT o.id AS outbox_id, {} FROM notice_outbox o \
                 JOIN case_events e ON e.case_id = o.case_id AND e.seq = o.seq ORDER BY o.id LIMIT $1{}",
                EVENT_COLUMNS.split(", ").map(|c| format!("e.{c}")).collect::<Vec<_>>().join(", "),
                D::skip_locked("o")
            ))
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
            if rows.is_empty() {
                return Ok(0);
            }
            let taken: Vec<i64> = rows.iter().map(|r| r.try_get::<i64, _>("outbox_id")).collect::<Result<_, _>>()?;
            let events: Vec<CaseEvent> = rows.iter().map(Self::event_row).collect::<Result<_>>()?;
            let ids: HashSet<CaseId> = events.iter().map(|e| e.case_id).collect();
            let mut cases: HashMap<CaseId, Case> = HashMap::new();
            for chunk in ids.into_iter().collect::<Vec<_>>().chunks(500) {
                let mut b = Sql::new(format!("SELECT {CASE_COLUMNS} FROM cases WHERE id IN "));
                b.push_in(chunk.iter().copied());
                for r in Self::query_of(&b).fetch_all(&mut *tx).await? {
                    let c = self.case_row(&r)?;
                    cases.insert(c.id, c);
                }
            }
            let custom = Self::custom_templates(&mut tx).await?;
            let mut people = People::default();
            for event in &events {
                let Some(case) = cases.get(&event.case_id) else { continue };
                let area = match &case.grid {
                    Some(g) => Self::region_name_in(&mut tx, g.as_str()).await?,
                    None => String::new(),
                };
                let mut told: HashSet<String> = HashSet::new();
                for (audience, kind) in notices::audiences(case, event) {
                    for receiver in self.resolve(&mut tx, &audience, case).await? {
                        // Nobody is told of their own step, and nobody twice of one event.
                        if receiver.person.is_some() && receiver.person == event.event.actor {
                            continue;
                        }
                        if !told.insert(receiver.key.clone()) {
                            continue;
                        }
                        let link = if receiver.staff {
                            format!("{}/cases/{}", ctx.base_url, case.reference)
                        } else if receiver.person.is_some() {
                            format!("{}/my", ctx.base_url)
                        } else {
                            format!("{}/track", ctx.base_url)
                        };
                        let notice = Told {
                            kind,
                            about: About::Event { case: case.id, seq: event.seq },
                            urgency: case.urgency,
                            at: event.event.at,
                        };
                        let values = |locale: &str| notices::values(case, event, locale, &link, &area, ctx.utc_offset_hours);
                        self.tell(&mut tx, ctx, &custom, &mut people, &receiver, &notice, &link, values).await?;
                    }
                }
            }
            Self::delete_ids(&mut tx, "notice_outbox", &taken).await?;
            tx.commit().await?;
            Ok(taken.len())
        }

        async fn push_urgent_articles(
            &self,
            limit: u32,
            ctx: &NoticeContext<'_>,
            locate: &(dyn Fn(LatLon) -> Option<RegionCode> + Sync),
        ) -> Result<usize> {
            let mut tx = self.begin_write().await?;
            let articles = sqlx::query(&format!(
                "SELECT a.id, a.region, a.title, a.summary, a.author_id, a.publish_at FROM articles a \
                 WHERE a.urgent AND a.pushed_at IS NULL AND a.publish_at <= $1 AND a.withdrawn_at IS NULL \
                 AND (a.expires_at IS NULL OR a.expires_at > $1) ORDER BY a.publish_at, a.id LIMIT $2{}",
                D::skip_locked("a")
            ))
            .bind(ctx.now)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
            if articles.is_empty() {
                return Ok(0);
            }
            // Who works in an area (grid members of a grid, grid leaders of a community) and what
            // people follow, read once for the batch.
            let staff: Vec<(PersonId, String)> = sqlx::query_as(
                "SELECT DISTINCT g.person_id, g.scope_value FROM grants g JOIN people p ON p.id = g.person_id \
                 WHERE NOT p.disabled AND g.scope_type = 'region' AND g.role IN ('grid_member', 'grid_leader') \
                 ORDER BY g.person_id",
            )
            .fetch_all(&mut *tx)
            .await?;
            let followers: Vec<(PersonId, String)> = Self::area_follows(&mut tx)
                .await?
                .into_iter()
                .filter_map(|(person, target)| match target {
                    FollowTarget::Region(r) => Some((person, r.to_string())),
                    FollowTarget::Around { point, .. } => locate(point).map(|grid| (person, grid.to_string())),
                    FollowTarget::Case(_) => None,
                })
                .collect();
            let custom = Self::custom_templates(&mut tx).await?;
            let mut people = People::default();
            for a in &articles {
                let id: i64 = a.try_get("id")?;
                let region: String = a.try_get("region")?;
                let (title, summary): (String, String) = (a.try_get("title")?, a.try_get("summary")?);
                let author: PersonId = a.try_get("author_id")?;
                let area = Self::region_name_in(&mut tx, &region).await?;
                let overlaps = |code: &str| code.starts_with(region.as_str()) || region.starts_with(code);
                let link = format!("{}/articles/{id}", ctx.base_url);
                let told = Told {
                    kind: NoticeKind::UrgentNotice,
                    about: About::Article(id),
                    urgency: Urgency::Emergency,
                    at: a.try_get("publish_at")?,
                };
                let receivers = staff
                    .iter()
                    .map(|(p, code)| (*p, code, true))
                    .chain(followers.iter().map(|(p, code)| (*p, code, false)));
                let mut told_already: HashSet<PersonId> = HashSet::from([author]);
                for (person, code, is_staff) in receivers {
                    if !overlaps(code) || !told_already.insert(person) {
                        continue;
                    }
                    let receiver = Receiver { key: format!("p:{person}"), person: Some(person), staff: is_staff, phone: None };
                    let values = |locale: &str| notices::article_values(&title, &summary, &link, &area, locale);
                    self.tell(&mut tx, ctx, &custom, &mut people, &receiver, &told, &link, values).await?;
                }
                sqlx::query("UPDATE articles SET pushed_at = $2 WHERE id = $1").bind(id).bind(ctx.now).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(articles.len())
        }

        async fn tell_overdue_inspections(
            &self,
            ctx: &NoticeContext<'_>,
            escalate_after_days: u32,
            calendars: &HashMap<String, Calendar>,
        ) -> Result<usize> {
            let mut tx = self.begin_write().await?;
            // The dues past due whose last step is not told yet; of those told to their members,
            // only the ones that may be escalated by now (the working days are at least as many
            // as the calendar's).
            let wall_before = ctx.now - i64::from(escalate_after_days) * gridkeeper_domain::time::DAY;
            let plan_key = "d.subject || ':' || CAST(d.subject_id AS TEXT) || ':' || CAST(d.due_at AS TEXT)";
            let task_key = "'campaign:' || CAST(t.campaign_id AS TEXT) || ':' || t.subject || ':' || CAST(t.subject_id AS TEXT)";
            let pending = |key: &str, due: &str| {
                format!(
                    "NOT EXISTS (SELECT 1 FROM notices n WHERE n.due_key = {key} || ':leaders') \
                     AND ({due} < $2 OR NOT EXISTS (SELECT 1 FROM notices n WHERE n.due_key = {key} || ':member'))"
                )
            };
            let rows = sqlx::query(&format!(
                "SELECT {plan_key} AS due_key, d.subject, d.subject_id, d.grid, d.due_at, s.name, NULL AS campaign \
                 FROM inspection_due d JOIN {SUBJECTS} s ON s.subject = d.subject AND s.id = d.subject_id \
                 WHERE d.due_at < $1 AND {} \
                 UNION ALL \
                 SELECT {task_key}, t.subject, t.subject_id, t.grid, t.due_at, s.name, c.name \
                 FROM campaign_tasks t JOIN campaigns c ON c.id = t.campaign_id \
                 JOIN {SUBJECTS} s ON s.subject = t.subject AND s.id = t.subject_id \
                 WHERE t.inspection_id IS NULL AND c.closed_at IS NULL AND t.due_at < $1 AND {} \
                 ORDER BY 5, 1",
                pending(plan_key, "d.due_at"),
                pending(task_key, "t.due_at"),
            ))
            .bind(ctx.now)
            .bind(wall_before)
            .fetch_all(&mut *tx)
            .await?;
            if rows.is_empty() {
                return Ok(0);
            }
            let custom = Self::custom_templates(&mut tx).await?;
            let mut people = People::default();
            // Who is told and what a region is called, read once per region for the batch.
            let mut holders: HashMap<(Role, String), Vec<PersonId>> = HashMap::new();
            let mut names: HashMap<String, String> = HashMap::new();
            let wall = Calendar::wall_clock();
            let mut written = 0;
            for r in &rows {
                let key: String = r.try_get("due_key")?;
                let grid: String = r.try_get("grid")?;
                let code = parse_field(RegionCode::parse(&grid))?;
                let due: Millis = r.try_get("due_at")?;
                let (name, campaign): (String, Option<String>) = (r.try_get("name")?, r.try_get("campaign")?);
                let link = format!("{}/safety/{}/{}", ctx.base_url, r.try_get::<String, _>("subject")?, r.try_get::<i64, _>("subject_id")?);
                let cal = calendars.get(code.district()).unwrap_or(&wall);
                let escalated = ctx.now > gridkeeper_domain::inspections::escalate_overdue_at(cal, due, escalate_after_days);
                let community = code.at_level(RegionLevel::Community).unwrap_or_else(|| code.clone());
                let mut steps = vec![("member", Role::GridMember, grid.clone())];
                if escalated {
                    steps.push(("leaders", Role::GridLeader, community.to_string()));
                }
                if !names.contains_key(&grid) {
                    names.insert(grid.clone(), Self::region_name_in(&mut tx, &grid).await?);
                }
                let area = names[&grid].clone();
                for (step, role, region) in steps {
                    let told = Told {
                        kind: NoticeKind::InspectionOverdue,
                        about: About::Due(format!("{key}:{step}")),
                        urgency: Urgency::Routine,
                        at: ctx.now,
                    };
                    let o = OverdueInspection {
                        name: &name,
                        campaign: campaign.as_deref(),
                        due_at: due,
                        days_late: (ctx.now - due) / gridkeeper_domain::time::DAY,
                        escalated: step == "leaders",
                    };
                    let slot = (role, region);
                    if !holders.contains_key(&slot) {
                        let found = Self::holders(&mut tx, &[role], "region", std::slice::from_ref(&slot.1)).await?;
                        holders.insert(slot.clone(), found);
                    }
                    for person in holders[&slot].clone() {
                        let receiver = Receiver { key: format!("p:{person}"), person: Some(person), staff: true, phone: None };
                        let values = |locale: &str| {
                            notices::overdue_inspection_values(&o, &link, &area, locale, ctx.utc_offset_hours)
                        };
                        written += self.tell(&mut tx, ctx, &custom, &mut people, &receiver, &told, &link, values).await?;
                    }
                }
            }
            tx.commit().await?;
            Ok(written)
        }

        async fn queue_notices_since(&self, since: Millis) -> Result<u64> {
            let actions: Vec<String> = gridkeeper_domain::Action::ALL
                .into_iter()
                .filter(|a| notices::may_notify(*a))
                .map(|a| a.as_str().to_string())
                .collect();
            let mut b = Sql::new("INSERT INTO notice_outbox (case_id, seq) SELECT case_id, seq FROM case_events WHERE at >= ");
            b.push_bind(since).push(" AND action IN ");
            b.push_in(actions);
            b.push(" ORDER BY at, case_id, seq");
            let done = Self::query_of(&b).execute(&self.pool).await?;
            Ok(D::rows_affected(&done))
        }

        async fn claim_notices(&self, now: Millis, lease_until: Millis, limit: u32) -> Result<Vec<Outgoing>> {
            let mut tx = self.begin_write().await?;
            let rows = sqlx::query(&format!(
                "SELECT n.id, n.channel, n.kind, n.person_id, n.address, n.locale, n.subject, n.body, n.link, n.attempts \
                 FROM notices n WHERE n.status = 'pending' AND n.next_attempt_at <= $1 \
                 ORDER BY n.next_attempt_at, n.id LIMIT $2{}",
                D::skip_locked("n")
            ))
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let id: i64 = r.try_get("id")?;
                sqlx::query("UPDATE notices SET next_attempt_at = $1 WHERE id = $2")
                    .bind(lease_until)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let address: Option<String> = r.try_get("address")?;
                let attempts: i32 = r.try_get("attempts")?;
                out.push(Outgoing {
                    id,
                    channel: parse_field(Channel::parse(r.try_get("channel")?))?,
                    kind: parse_field(NoticeKind::parse(r.try_get("kind")?))?,
                    person: r.try_get("person_id")?,
                    address: self.vault.open_opt(ADDRESS, address.as_deref()).map_err(corrupt)?.unwrap_or_default(),
                    locale: r.try_get("locale")?,
                    subject: r.try_get("subject")?,
                    body: r.try_get("body")?,
                    link: r.try_get("link")?,
                    attempts: u32::try_from(attempts).unwrap_or(0),
                });
            }
            tx.commit().await?;
            Ok(out)
        }

        async fn record_notice(&self, id: i64, attempt: &NoticeAttempt, now: Millis) -> Result<()> {
            let q = match attempt {
                NoticeAttempt::Sent => sqlx::query(
                    "UPDATE notices SET attempts = attempts + 1, status = 'sent', sent_at = $1, address = NULL, \
                     last_error = NULL WHERE id = $2 AND status = 'pending'",
                )
                .bind(now),
                NoticeAttempt::Failed { error, retry_at } => sqlx::query(
                    "UPDATE notices SET attempts = attempts + 1, status = $1, last_error = $2, next_attempt_at = $3 \
                     WHERE id = $4 AND status = 'pending'",
                )
                .bind(if retry_at.is_some() { "pending" } else { "dead" })
                .bind(error.chars().take(500).collect::<String>())
                .bind(retry_at.unwrap_or(now)),
            };
            q.bind(id).execute(&self.pool).await?;
            Ok(())
        }

        async fn inbox(&self, person: PersonId, before: Option<i64>, limit: u32) -> Result<Vec<NoticeRow>> {
            let rows = sqlx::query(&format!(
                "SELECT {NOTICE_COLUMNS} FROM notices WHERE person_id = $1 AND channel = 'inbox' AND id < $2 \
                 ORDER BY id DESC LIMIT $3"
            ))
            .bind(person)
            .bind(before.unwrap_or(i64::MAX))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(Self::notice_row).collect()
        }

        async fn unread_notices(&self, person: PersonId) -> Result<u64> {
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM notices WHERE person_id = $1 AND channel = 'inbox' AND read_at IS NULL",
            )
            .bind(person)
            .fetch_one(&self.pool)
            .await?;
            Ok(u64::try_from(n).unwrap_or(0))
        }

        async fn mark_notices_read(&self, person: PersonId, id: Option<i64>, now: Millis) -> Result<u64> {
            let mut b = Sql::new("UPDATE notices SET read_at = ");
            b.push_bind(now).push(" WHERE person_id = ").push_bind(person);
            b.push(" AND channel = 'inbox' AND read_at IS NULL");
            if let Some(id) = id {
                b.push(" AND id = ").push_bind(id);
            }
            let done = Self::query_of(&b).execute(&self.pool).await?;
            Ok(D::rows_affected(&done))
        }

        async fn notice_settings(&self, person: PersonId) -> Result<(NoticeSettings, NoticeAddresses)> {
            let mut conn = self.pool.acquire().await?;
            self.settings_in(&mut conn, person).await
        }

        async fn put_notice_settings(
            &self,
            person: PersonId,
            settings: &NoticeSettings,
            email: Option<&str>,
            now: Millis,
        ) -> Result<()> {
            settings.validate().map_err(StoreError::Invalid)?;
            let json = serde_json::to_string(settings).map_err(corrupt)?;
            sqlx::query(
                "INSERT INTO notice_settings (person_id, settings, email, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (person_id) DO UPDATE SET settings = excluded.settings, email = excluded.email, \
                 updated_at = excluded.updated_at",
            )
            .bind(person)
            .bind(json)
            .bind(self.vault.seal_opt(SETTINGS, email))
            .bind(now)
            .execute(&self.pool)
            .await?;
            Ok(())
        }

        async fn set_wechat(&self, person: PersonId, openid: Option<&str>, now: Millis) -> Result<()> {
            let json = serde_json::to_string(&NoticeSettings::default()).map_err(corrupt)?;
            sqlx::query(
                "INSERT INTO notice_settings (person_id, settings, wechat, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (person_id) DO UPDATE SET wechat = excluded.wechat, updated_at = excluded.updated_at",
            )
            .bind(person)
            .bind(json)
            .bind(self.vault.seal_opt(WECHAT, openid))
            .bind(now)
            .execute(&self.pool)
            .await?;
            Ok(())
        }

        async fn notice_templates(&self) -> Result<Vec<TemplateRow>> {
            let mut conn = self.pool.acquire().await?;
            let custom = Self::custom_templates(&mut conn).await?;
            let mut out = Vec::new();
            for kind in NoticeKind::ALL {
                for locale in notices::LOCALES {
                    let changed = custom.get(&(kind.as_str().to_string(), locale.to_string()));
                    out.push(TemplateRow {
                        kind,
                        locale: locale.to_string(),
                        template: changed.cloned().unwrap_or_else(|| notices::default_template(kind, locale)),
                        custom: changed.is_some(),
                    });
                }
            }
            Ok(out)
        }

        async fn put_notice_template(
            &self,
            kind: NoticeKind,
            locale: &str,
            template: Option<&Template>,
            by: PersonId,
            now: Millis,
        ) -> Result<()> {
            if !notices::LOCALES.contains(&locale) {
                return Err(StoreError::Invalid(FieldError::new("locale", "one of zh, en")));
            }
            match template {
                Some(t) => {
                    t.validate().map_err(StoreError::Invalid)?;
                    sqlx::query(
                        "INSERT INTO notice_templates (kind, locale, subject, body, updated_at, updated_by) \
                         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (kind, locale) DO UPDATE SET \
                         subject = excluded.subject, body = excluded.body, updated_at = excluded.updated_at, \
                         updated_by = excluded.updated_by",
                    )
                    .bind(kind.as_str())
                    .bind(locale)
                    .bind(&t.subject)
                    .bind(&t.body)
                    .bind(now)
                    .bind(by)
                    .execute(&self.pool)
                    .await?;
                }
                None => {
                    sqlx::query("DELETE FROM notice_templates WHERE kind = $1 AND locale = $2")
                        .bind(kind.as_str())
                        .bind(locale)
                        .execute(&self.pool)
                        .await?;
                }
            }
            Ok(())
        }

        async fn notices_with_status(&self, status: &str, limit: u32) -> Result<Vec<NoticeRow>> {
            let rows = sqlx::query(&format!(
                "SELECT {NOTICE_COLUMNS} FROM notices WHERE status = $1 AND channel <> 'inbox' ORDER BY id DESC LIMIT $2"
            ))
            .bind(status)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
            rows.iter().map(Self::notice_row).collect()
        }

        async fn retry_notice(&self, id: i64, now: Millis) -> Result<bool> {
            let done = sqlx::query(
                "UPDATE notices SET status = 'pending', next_attempt_at = $1, attempts = 0 WHERE id = $2 AND status = 'dead'",
            )
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
            Ok(D::rows_affected(&done) == 1)
        }

        async fn follow(&self, person: PersonId, target: &FollowTarget, now: Millis) -> Result<Follow> {
            let mut tx = self.begin_write().await?;
            if let FollowTarget::Case(case) = target {
                let row = sqlx::query("SELECT * FROM follows WHERE person_id = $1 AND case_id = $2")
                    .bind(person)
                    .bind(*case)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(r) = row {
                    return Self::follow_row(&r);
                }
            }
            let count: i64 = sqlx::query_scalar("SELECT count(*) FROM follows WHERE person_id = $1")
                .bind(person)
                .fetch_one(&mut *tx)
                .await?;
            if count >= MAX_FOLLOWS {
                return Err(StoreError::Conflicts(FieldError::new(
                    "follow",
                    format!("you follow {MAX_FOLLOWS} cases and areas already; stop following some first"),
                )));
            }
            let (case, region, point, radius) = match target {
                FollowTarget::Case(c) => (Some(*c), None, None, None),
                FollowTarget::Region(r) => (None, Some(r.as_str().to_string()), None, None),
                FollowTarget::Around { point, radius_m } => {
                    if *radius_m == 0 || *radius_m > MAX_FOLLOW_RADIUS_M {
                        return Err(StoreError::Invalid(FieldError::new(
                            "radius_m",
                            format!("a whole number of metres from 1 to {MAX_FOLLOW_RADIUS_M}"),
                        )));
                    }
                    (None, None, Some(*point), Some(i32::try_from(*radius_m).unwrap_or(i32::MAX)))
                }
            };
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO follows (person_id, case_id, region, lat, lon, radius_m, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(person)
            .bind(case)
            .bind(region)
            .bind(point.map(|p| p.lat))
            .bind(point.map(|p| p.lon))
            .bind(radius)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Follow { id, target: target.clone(), created_at: now })
        }

        async fn follows(&self, person: PersonId) -> Result<Vec<Follow>> {
            let rows = sqlx::query("SELECT * FROM follows WHERE person_id = $1 ORDER BY id DESC")
                .bind(person)
                .fetch_all(&self.pool)
                .await?;
            rows.iter().map(Self::follow_row).collect()
        }

        async fn unfollow(&self, person: PersonId, id: i64) -> Result<bool> {
            let done = sqlx::query("DELETE FROM follows WHERE id = $1 AND person_id = $2")
                .bind(id)
                .bind(person)
                .execute(&self.pool)
                .await?;
            Ok(D::rows_affected(&done) == 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use gridkeeper_domain::participation::ArticleKind;
    use gridkeeper_domain::{Grant, Scope};

    use super::*;
    use crate::testing::on_both;
    use crate::{ArticleStore, NewArticle, NewPerson, PeopleStore};

    async fn person(s: &(impl PeopleStore + ?Sized), login: &str, grant: Option<(Role, &str)>) -> PersonId {
        let p = NewPerson {
            login: login.into(),
            name: login.into(),
            phone: Some(format!("1380000{:04}", login.len() * 37 + login.bytes().map(usize::from).sum::<usize>())),
            id_number: None,
            password_hash: None,
            grants: grant.map(|(r, s)| Grant::new(r, Scope::parse(s).unwrap()).unwrap()).into_iter().collect(),
        };
        s.create_person(&p, 0).await.unwrap()
    }

    fn article(region: &str, publish_at: Millis, urgent: bool) -> NewArticle {
        NewArticle {
            region: RegionCode::parse(region).unwrap(),
            kind: ArticleKind::Notice,
            title: "停水通知".into(),
            summary: "明日8时至12时停水".into(),
            body: "<p>x</p>".into(),
            cover: None,
            publish_at,
            expires_at: None,
            pinned: false,
            urgent,
        }
    }

    /// Who got an urgent notice of `article`, by person id, on which channels.
    async fn told(s: &(impl NoticeStore + ?Sized), people: &[PersonId], article: i64) -> Vec<(PersonId, usize)> {
        let mut out = Vec::new();
        for p in people {
            let n = s.inbox(*p, None, 50).await.unwrap().into_iter().filter(|n| n.article_id == Some(article)).count();
            if n > 0 {
                out.push((*p, n));
            }
        }
        out
    }

    on_both! {
        async fn an_urgent_article_is_pushed_once_to_those_who_follow_or_work_in_its_area(s) {
            let author = person(&s, "leader", Some((Role::GridLeader, "region:330483101001"))).await;
            let leader2 = person(&s, "leader2", Some((Role::GridLeader, "region:330483101001"))).await;
            let member = person(&s, "member", Some((Role::GridMember, "region:330483101001001"))).await;
            let elsewhere = person(&s, "member3", Some((Role::GridMember, "region:330483101002001"))).await;
            let grid_follower = person(&s, "resident", None).await;
            let town_follower = person(&s, "resident2", None).await;
            let circle_follower = person(&s, "resident3", None).await;
            let far_follower = person(&s, "resident4", None).await;
            s.follow(grid_follower, &FollowTarget::Region(RegionCode::parse("330483101001002").unwrap()), 0).await.unwrap();
            // Following both the town and a grid of the community: told once.
            s.follow(town_follower, &FollowTarget::Region(RegionCode::parse("330483101").unwrap()), 0).await.unwrap();
            s.follow(town_follower, &FollowTarget::Region(RegionCode::parse("330483101001001").unwrap()), 0).await.unwrap();
            let inside = LatLon { lat: 30.0, lon: 120.0 };
            let outside = LatLon { lat: 31.0, lon: 121.0 };
            s.follow(circle_follower, &FollowTarget::Around { point: inside, radius_m: 300 }, 0).await.unwrap();
            s.follow(far_follower, &FollowTarget::Around { point: outside, radius_m: 300 }, 0).await.unwrap();
            s.follow(far_follower, &FollowTarget::Region(RegionCode::parse("330483101002").unwrap()), 0).await.unwrap();
            let locate = |p: LatLon| (p == inside).then(|| RegionCode::parse("330483101001003").unwrap());
            let everyone = [author, leader2, member, elsewhere, grid_follower, town_follower, circle_follower, far_follower];

            let live = s.create_article(&article("330483101001", 100, true), author, 100).await.unwrap();
            let plain = s.create_article(&article("330483101001", 100, false), author, 100).await.unwrap();
            let later = s.create_article(&article("330483101001", 5_000, true), author, 100).await.unwrap();
            let gone = s.create_article(&article("330483101001", 100, true), author, 100).await.unwrap();
            assert!(s.withdraw_article(gone.id, "错了", author, 150).await.unwrap());

            let ctx = NoticeContext { now: 1_000, base_url: "https://grid.example", utc_offset_hours: 8 };
            assert_eq!(s.push_urgent_articles(20, &ctx, &locate).await.unwrap(), 1);
            // Staff get it in the inbox and by SMS (they have a phone), residents too; the author
            // and the grid member of another community do not; each person once.
            let expected: Vec<(PersonId, usize)> =
                [leader2, member, grid_follower, town_follower, circle_follower].iter().map(|p| (*p, 1)).collect();
            assert_eq!(told(&s, &everyone, live.id).await, expected);
            let inbox = s.inbox(member, None, 10).await.unwrap();
            assert_eq!(inbox[0].kind, NoticeKind::UrgentNotice);
            assert_eq!((inbox[0].case_id, inbox[0].link.as_str()), (None, format!("https://grid.example/articles/{}", live.id).as_str()));
            assert!(inbox[0].body.contains("停水通知：明日8时至12时停水"), "{}", inbox[0].body);
            let sms: i64 = sqlx::query_scalar("SELECT count(*) FROM notices WHERE article_id = $1 AND channel = 'sms' AND status = 'pending'")
                .bind(live.id)
                .fetch_one(&s.pool)
                .await
                .unwrap();
            assert_eq!(sms, 5, "an urgent notice is sent by SMS at once, quiet hours or not");
            for other in [plain.id, later.id, gone.id] {
                assert!(told(&s, &everyone, other).await.is_empty());
            }

            // Pushed once: another round, or an edit, tells nobody again.
            assert_eq!(s.push_urgent_articles(20, &ctx, &locate).await.unwrap(), 0);
            s.update_article(live.id, &article("330483101001", 100, true), 1_100).await.unwrap();
            assert_eq!(s.push_urgent_articles(20, &NoticeContext { now: 1_200, ..ctx }, &locate).await.unwrap(), 0);
            // The scheduled one goes out when it is published; a plain one made urgent, then.
            s.update_article(plain.id, &article("330483101001", 100, true), 1_300).await.unwrap();
            let at_noon = NoticeContext { now: 6_000, ..ctx };
            assert_eq!(s.push_urgent_articles(20, &at_noon, &locate).await.unwrap(), 2);
            assert_eq!(told(&s, &everyone, later.id).await, expected);
            assert_eq!(told(&s, &everyone, live.id).await, expected);
        }
    }
}
