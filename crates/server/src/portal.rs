//! The town's public portal (issue 17): one server-rendered page per district at
//! `/portal/{district}` (`/portal` goes to the jurisdiction's district), without sign-in or
//! script, in Chinese or English (`?lang=zh|en`, else `Accept-Language`), for a month
//! (`?month=YYYY-MM`, default the last whole month): each community's figures — reported, solved,
//! on time, satisfied — from the measures' rollups (`MeasureStore`, whole local days: the events
//! are never scanned), the same numbers `GET /api/v1/measures` gives for that community and month;
//! the way to the public map of cases and to "your grid member". Its style sheet is
//! `/portal/portal.css`, so the server's strict CSP holds (no inline style or script).
//!
//! The page is a list of sections, each rendered by a function of [`Page`]: see [`SECTIONS`],
//! the one place where notices, consultations and proposals are to be added.

use std::fmt::Write;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use chrono::{Datelike, NaiveDate};
use gridkeeper_domain::measures::Measures;
use gridkeeper_domain::participation::{article_live, ConsultationPhase, ProposalStatus};
use gridkeeper_domain::time::local_day_start;
use gridkeeper_domain::{Millis, RegionCode, RegionLevel};
use gridkeeper_store::MeasureQuery;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::extract::Query;
use crate::{App, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/portal", get(home))
        .route("/portal/portal.css", get(css))
        .route("/portal/{district}", get(page))
}

/// The portal's languages.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// `?lang=` first; else the first of `Accept-Language` that is Chinese or English; else zh.
    fn choose(query: Option<&str>, headers: &HeaderMap) -> Result<Lang, ApiError> {
        match query {
            Some("zh") => return Ok(Lang::Zh),
            Some("en") => return Ok(Lang::En),
            Some(_) => return Err(ApiError::field("lang", "zh or en")),
            None => {}
        }
        let accepted = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let mut langs: Vec<(f32, &str)> = accepted
            .split(',')
            .filter_map(|part| {
                let mut it = part.split(';');
                let tag = it.next()?.trim();
                let q = it.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.parse().ok()).unwrap_or(1.0);
                Some((q, tag))
            })
            .collect();
        langs.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (q, tag) in langs {
            let primary = tag.split('-').next().unwrap_or_default().to_ascii_lowercase();
            if q > 0.0 && primary == "en" {
                return Ok(Lang::En);
            }
            if q > 0.0 && primary == "zh" {
                return Ok(Lang::Zh);
            }
        }
        Ok(Lang::Zh)
    }

    /// The Chinese or English of a text.
    fn t(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct PortalQuery {
    /// zh or en
    lang: Option<String>,
    /// YYYY-MM
    month: Option<String>,
}

/// One community's figures for the month (or the district's, on the total row).
pub struct Figures {
    pub code: RegionCode,
    pub name: String,
    pub measures: Measures,
    /// Cases dispatched in the month (the closure cohort) and, of them, closed by now.
    pub cohort: u64,
    pub solved: u64,
}

/// Everything a section may draw on.
pub struct Page<'a> {
    pub app: &'a App,
    pub lang: Lang,
    pub district: RegionCode,
    pub district_name: String,
    /// The first day of the month shown.
    pub month: NaiveDate,
    pub communities: Vec<Figures>,
    pub total: Figures,
    /// The newest articles live now anywhere in the district (pinned first).
    pub articles: Vec<gridkeeper_store::Article>,
    /// Consultations of the district open now.
    pub consultations: Vec<gridkeeper_store::Consultation>,
    /// The newest proposals gathering support or on an agenda.
    pub proposals: Vec<gridkeeper_store::Proposal>,
}

/// A section of the portal: its anchor, its heading, and its body (HTML, escaped by whoever
/// renders it); `None` leaves it out.
pub struct Section {
    pub id: &'static str,
    pub heading: String,
    pub body: String,
}

type SectionFn = fn(&Page<'_>) -> Option<Section>;

/// The sections of the portal, in order. Notices, open consultations and proposals go here: one
/// `fn(&Page) -> Option<Section>` each (reading their store through `page.app.store`), added to
/// this list — nothing else on the page changes.
pub const SECTIONS: &[SectionFn] =
    &[articles_section, consultations_section, proposals_section, figures_section, map_section, card_section];

/// A list of links, each with a line under it.
fn links(items: impl Iterator<Item = (String, String, String)>) -> String {
    let mut b = String::from("<ul class=\"links\">");
    for (href, title, note) in items {
        b.push_str(&format!(
            "<li><a href=\"{}\">{}</a><br><small>{}</small></li>",
            esc(&href),
            esc(&title),
            esc(&note)
        ));
    }
    b.push_str("</ul>");
    b
}

fn day(at: Millis, offset: i32) -> String {
    chrono::DateTime::from_timestamp_millis(at + i64::from(offset) * 3_600_000)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

fn articles_section(p: &Page<'_>) -> Option<Section> {
    if p.articles.is_empty() {
        return None;
    }
    let l = p.lang;
    let offset = p.app.settings.utc_offset_hours;
    let body =
        links(p.articles.iter().map(|a| {
            let pin = if a.pinned { l.t("【置顶】", "[pinned] ") } else { "" };
            (
                format!("/articles/{}", a.id),
                format!("{pin}{}", a.title),
                format!("{} · {}", day(a.publish_at, offset), a.summary),
            )
        })) + &format!("<p><a class=\"button secondary\" href=\"/community\">{}</a></p>", l.t("更多资讯", "More news"));
    Some(Section { id: "news", heading: l.t("通知公告与资讯", "Notices and news").into(), body })
}

fn consultations_section(p: &Page<'_>) -> Option<Section> {
    if p.consultations.is_empty() {
        return None;
    }
    let l = p.lang;
    let offset = p.app.settings.utc_offset_hours;
    let body = links(p.consultations.iter().map(|c| {
        let note = match l {
            Lang::Zh => format!(
                "截止 {} · 赞成 {} · 反对 {} · 意见 {}",
                day(c.closes_at, offset),
                c.support,
                c.oppose,
                c.comments
            ),
            Lang::En => format!(
                "closes {} · {} for · {} against · {} comments",
                day(c.closes_at, offset),
                c.support,
                c.oppose,
                c.comments
            ),
        };
        (format!("/consultations/{}", c.id), c.title.clone(), note)
    }));
    Some(Section { id: "consultations", heading: l.t("正在征求意见", "Open consultations").into(), body })
}

fn proposals_section(p: &Page<'_>) -> Option<Section> {
    if p.proposals.is_empty() {
        return None;
    }
    let l = p.lang;
    let body = links(p.proposals.iter().map(|x| {
        let note = match (l, x.status) {
            (Lang::Zh, ProposalStatus::Agenda) => format!("已列入议程 · {} 人支持", x.supports),
            (Lang::Zh, _) => format!("征集支持 {}/{}", x.supports, x.threshold),
            (Lang::En, ProposalStatus::Agenda) => format!("on the agenda · {} supporters", x.supports),
            (Lang::En, _) => format!("{} of {} supporters", x.supports, x.threshold),
        };
        (format!("/proposals/{}", x.id), x.title.clone(), note)
    }));
    Some(Section { id: "proposals", heading: l.t("居民提议", "Residents' proposals").into(), body })
}

/// `&`, `<`, `>`, `"` and `'` escaped for text and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn percent(r: Option<f64>) -> String {
    r.map(|r| format!("{:.1}%", r * 100.0)).unwrap_or_else(|| "—".into())
}

fn figures_section(p: &Page<'_>) -> Option<Section> {
    let l = p.lang;
    let mut b = String::new();
    let (prev, next) = (add_months(p.month, -1), add_months(p.month, 1));
    let lang = l.code();
    let _ = write!(
        b,
        "<nav class=\"months\" aria-label=\"{}\"><a rel=\"prev\" href=\"?month={}&amp;lang={lang}\">‹ {}</a><strong>{}</strong>",
        l.t("月份", "Month"),
        prev.format("%Y-%m"),
        prev.format("%Y-%m"),
        p.month.format("%Y-%m"),
    );
    if local_day_start(days(next), p.app.settings.utc_offset_hours) <= p.app.now() {
        let _ = write!(
            b,
            "<a rel=\"next\" href=\"?month={}&amp;lang={lang}\">{} ›</a>",
            next.format("%Y-%m"),
            next.format("%Y-%m")
        );
    }
    b.push_str("</nav>");
    let heads = [
        l.t("社区", "Community"),
        l.t("受理上报", "Reported"),
        l.t("已解决", "Solved"),
        l.t("按期结案率", "On time"),
        l.t("满意率", "Satisfaction"),
    ];
    b.push_str("<table class=\"figures\"><thead><tr>");
    for h in heads {
        let _ = write!(b, "<th scope=\"col\">{h}</th>");
    }
    b.push_str("</tr></thead><tbody>");
    let row = |b: &mut String, f: &Figures, total: bool| {
        let m = &f.measures;
        let _ = write!(
            b,
            "<tr{} data-region=\"{}\"><th scope=\"row\">{}</th>\
             <td data-label=\"{}\" data-value=\"{}\"><span>{}</span></td>\
             <td data-label=\"{}\" data-value=\"{}\"><span>{} / {} <small>({})</small></span></td>\
             <td data-label=\"{}\" data-value=\"{}\"><span>{}</span></td>\
             <td data-label=\"{}\" data-value=\"{}\"><span>{}</span></td></tr>",
            if total { " class=\"total\"" } else { "" },
            f.code,
            esc(&f.name),
            heads[1],
            m.reports,
            m.reports,
            heads[2],
            f.solved,
            f.solved,
            f.cohort,
            percent(m.closure_rate),
            heads[3],
            m.on_time_closure_rate.map(|r| r.to_string()).unwrap_or_default(),
            percent(m.on_time_closure_rate),
            heads[4],
            m.satisfaction_rate.map(|r| r.to_string()).unwrap_or_default(),
            percent(m.satisfaction_rate),
        );
    };
    for f in &p.communities {
        row(&mut b, f, false);
    }
    b.push_str("</tbody><tfoot>");
    row(&mut b, &p.total, true);
    b.push_str("</tfoot></table>");
    let _ = write!(
        b,
        "<p class=\"note\">{}</p>",
        l.t(
            "受理上报：本月收到的上报；已解决：本月派遣的案件中至今已结案的（结案率）；按期结案率：其中在处置期限内结案的比例；满意率：本月评价中4星及以上的比例。数据与管理端“绩效”一致。",
            "Reported: reports received in the month. Solved: of the cases dispatched in the month, those closed by now (closure rate). On time: the share of them closed by their deadline. Satisfaction: ratings of 4 stars or more among the month's ratings. The same figures as the dashboard's measures.",
        )
    );
    Some(Section {
        id: "figures",
        heading: format!("{} · {}", l.t("每月数据", "Monthly figures"), p.month.format("%Y-%m")),
        body: b,
    })
}

fn map_section(p: &Page<'_>) -> Option<Section> {
    let l = p.lang;
    let body = format!(
        "<p>{}</p><p><a class=\"button\" href=\"/nearby\">{}</a></p>",
        l.t(
            "地图上可以看到附近已受理的问题及其处理进展（公开类别显示位置与处理前后照片，其他类别位置模糊处理）。",
            "The map shows the problems accepted near you and how they are handled (public categories with their place and before/after photos; others at a coarse place only).",
        ),
        l.t("打开案件公开地图", "Open the public map of cases"),
    );
    Some(Section { id: "map", heading: l.t("案件公开地图", "Public map of cases").into(), body })
}

fn card_section(p: &Page<'_>) -> Option<Section> {
    let l = p.lang;
    let body = format!(
        "<p>{}</p><p><a class=\"button\" href=\"/grid-card\">{}</a> <a class=\"button secondary\" href=\"/report\">{}</a></p>",
        l.t(
            "每个网格都有网格员，社区有网格长。定位后即可看到他们的照片、办公时间和联系方式，也可以通过平台给他们留言。",
            "Every grid has its grid members, every community its leader. Locate yourself to see their photos, office hours and how to reach them, or leave them a message through the platform.",
        ),
        l.t("我的网格员", "My grid member"),
        l.t("上报问题", "Report a problem"),
    );
    Some(Section { id: "grid-member", heading: l.t("我的网格员", "Your grid member").into(), body })
}

fn days(d: NaiveDate) -> i64 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days()
}

fn add_months(d: NaiveDate, n: i32) -> NaiveDate {
    let m = d.year() * 12 + d.month0() as i32 + n;
    NaiveDate::from_ymd_opt(m.div_euclid(12), m.rem_euclid(12) as u32 + 1, 1).unwrap_or(d)
}

/// The month asked for (`YYYY-MM`), or the last whole local month.
fn month_of(q: Option<&str>, now: Millis, offset: i32) -> Result<NaiveDate, ApiError> {
    let today = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")
        + chrono::Days::new(gridkeeper_domain::time::local_day(now, offset).max(0) as u64);
    let this = today.with_day(1).expect("first day");
    match q {
        None => Ok(add_months(this, -1)),
        Some(s) => {
            let m = NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d")
                .map_err(|_| ApiError::field("month", "a month as YYYY-MM"))?;
            if m > this || m.year() < 2000 {
                return Err(ApiError::field("month", "a month from 2000 up to the current one"));
            }
            Ok(m)
        }
    }
}

async fn figures(app: &App, region: &RegionCode, name: String, from: Millis, to: Millis) -> Result<Figures, ApiError> {
    let q = MeasureQuery { region: Some(region.clone()), from, to, now: app.now(), ..Default::default() };
    let counts = app.store.measure_counts(&q).await?;
    Ok(Figures {
        code: region.clone(),
        name,
        measures: Measures::from_counts(&counts),
        cohort: counts.cohort,
        solved: counts.cohort_closed,
    })
}

/// `/portal`: the jurisdiction's district (or the first district).
async fn home(State(app): State<AppState>) -> Response {
    let r = app.reference();
    let district = r.district.clone().or_else(|| {
        let mut d: Vec<&RegionCode> = r.regions.keys().filter(|c| c.level() == RegionLevel::District).collect();
        d.sort();
        d.first().map(|c| c.to_string())
    });
    match district {
        Some(d) => Redirect::to(&format!("/portal/{d}")).into_response(),
        None => ApiError::not_found("district").into_response(),
    }
}

const CSS: &str = include_str!("portal.css");

async fn css(headers: HeaderMap) -> Response {
    cached(&headers, "text/css; charset=utf-8", CSS.to_string(), 86_400)
}

/// An answer with an ETag, `304` when the client has it, cacheable by anyone for `max_age`.
fn cached(headers: &HeaderMap, content_type: &'static str, body: String, max_age: u32) -> Response {
    let etag = format!("\"{}\"", hex::encode(&Sha256::digest(body.as_bytes())[..16]));
    let mut resp = if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_str(&format!("public, max-age={max_age}")).expect("ascii"));
    h.insert(header::ETAG, HeaderValue::from_str(&etag).expect("ascii"));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    resp
}

/// `/portal/{district}?lang=&month=`.
async fn page(
    State(app): State<AppState>,
    Path(district): Path<String>,
    headers: HeaderMap,
    Query(q): Query<PortalQuery>,
) -> Response {
    match render(&app, &district, &headers, q).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn render(app: &App, district: &str, headers: &HeaderMap, q: PortalQuery) -> Result<Response, ApiError> {
    let lang = Lang::choose(q.lang.as_deref(), headers)?;
    let code = RegionCode::parse(district).ok().filter(|c| c.level() == RegionLevel::District);
    let r = app.reference();
    let region = code.as_ref().and_then(|c| r.regions.get(c)).ok_or_else(|| ApiError::not_found("district"))?;
    let offset = app.settings.utc_offset_hours;
    let month = month_of(q.month.as_deref(), app.now(), offset)?;
    let from = local_day_start(days(month), offset);
    let to = local_day_start(days(add_months(month, 1)), offset);
    let local = |x: &gridkeeper_domain::Region| match lang {
        Lang::En => x.name_en.clone().unwrap_or_else(|| x.name.clone()),
        Lang::Zh => x.name.clone(),
    };
    let mut communities: Vec<&gridkeeper_domain::Region> =
        r.regions.values().filter(|x| x.level() == RegionLevel::Community && region.code.contains(&x.code)).collect();
    communities.sort_by(|a, b| a.code.cmp(&b.code));
    let mut rows = Vec::with_capacity(communities.len());
    for c in communities {
        rows.push(figures(app, &c.code, local(c), from, to).await?);
    }
    let total = figures(app, &region.code, lang.t("全区合计", "The whole district").to_string(), from, to).await?;
    let now = app.now();
    let scope = gridkeeper_store::ArticleScope::Under(region.code.clone());
    let mut articles = app
        .store
        .articles(&gridkeeper_store::ArticleQuery { scope, kind: None, offset: 0, limit: 50 })
        .await?
        .into_iter()
        .filter(|a| article_live(a.publish_at, a.expires_at, a.withdrawn_at.is_some(), now))
        .collect::<Vec<_>>();
    articles.sort_by_key(|a| (std::cmp::Reverse(a.pinned), std::cmp::Reverse(a.publish_at)));
    articles.truncate(6);
    let consultations = app
        .store
        .consultations(&gridkeeper_store::ConsultationScope::Under(region.code.clone()), 0, 20)
        .await?
        .into_iter()
        .filter(|c| {
            ConsultationPhase::at(c.opens_at, c.closes_at, c.answered_at.is_some(), now) == ConsultationPhase::Open
        })
        .collect();
    let mut proposals = Vec::new();
    for status in [ProposalStatus::Agenda, ProposalStatus::Open] {
        let scope = gridkeeper_store::ProposalScope::Under(region.code.clone());
        proposals.extend(app.store.proposals(&scope, Some(status), 0, 3).await?);
    }
    let page = Page {
        app,
        lang,
        district: region.code.clone(),
        district_name: local(region),
        month,
        communities: rows,
        total,
        articles,
        consultations,
        proposals,
    };
    Ok(cached(headers, "text/html; charset=utf-8", html(&page), 300))
}

/// The whole document.
pub fn html(p: &Page<'_>) -> String {
    let l = p.lang;
    let name = esc(&p.district_name);
    let title = format!("{name} · {}", l.t("网格治理公开门户", "Grid governance public portal"));
    let description = esc(&match l {
        Lang::Zh => format!(
            "{}的公开门户：各社区每月受理上报、解决、按期结案与满意率，案件公开地图，以及找到您的网格员。",
            p.district_name
        ),
        Lang::En => format!(
            "The public portal of {}: each community's monthly reports, cases solved, on-time closure and satisfaction, the public map of cases, and how to reach your grid member.",
            p.district_name
        ),
    });
    let other = match l {
        Lang::Zh => ("en", "English"),
        Lang::En => ("zh", "中文"),
    };
    let month = p.month.format("%Y-%m");
    let mut b = String::with_capacity(16 * 1024);
    let _ = write!(
        b,
        "<!doctype html>\n<html lang=\"{html_lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><meta name=\"description\" content=\"{description}\">\
         <link rel=\"canonical\" href=\"/portal/{code}?month={month}&amp;lang={lang}\">\
         <link rel=\"alternate\" hreflang=\"{other_lang}\" href=\"/portal/{code}?month={month}&amp;lang={other_lang}\">\
         <link rel=\"stylesheet\" href=\"/portal/portal.css\"></head><body>\
         <header><div class=\"bar\"><span class=\"brand\">{brand}</span>\
         <a class=\"lang\" lang=\"{other_lang}\" hreflang=\"{other_lang}\" href=\"?month={month}&amp;lang={other_lang}\">{other_name}</a></div>\
         <h1>{name}</h1><p>{tagline}</p></header><main>",
        html_lang = match l {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        },
        code = p.district,
        lang = l.code(),
        other_lang = other.0,
        other_name = other.1,
        brand = l.t("网格治理", "Grid governance"),
        tagline = l.t(
            "本区的公开信息：问题处理得怎么样、附近发生了什么、找谁。",
            "What is public in this district: how problems are handled, what happens near you, whom to ask.",
        ),
    );
    for section in SECTIONS.iter().filter_map(|f| f(p)) {
        let _ = write!(
            b,
            "<section id=\"{id}\" aria-labelledby=\"{id}-h\"><h2 id=\"{id}-h\">{heading}</h2>{body}</section>",
            id = section.id,
            heading = esc(&section.heading),
            body = section.body,
        );
    }
    let _ = writeln!(
        b,
        "</main><footer><a href=\"/\">{}</a> · <a href=\"/track\">{}</a></footer></body></html>",
        l.t("进入平台", "Open the platform"),
        l.t("查询进度", "Track a report"),
    );
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_from_the_query_then_accept_language() {
        let mut h = HeaderMap::new();
        assert_eq!(Lang::choose(None, &h).unwrap(), Lang::Zh);
        h.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("fr-FR, en-GB;q=0.8, zh;q=0.5"));
        assert_eq!(Lang::choose(None, &h).unwrap(), Lang::En);
        h.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("en;q=0.3, zh-CN"));
        assert_eq!(Lang::choose(None, &h).unwrap(), Lang::Zh);
        assert_eq!(Lang::choose(Some("en"), &h).unwrap(), Lang::En);
        assert!(Lang::choose(Some("fr"), &h).is_err());
    }

    #[test]
    fn months_are_whole_local_months() {
        let d = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        assert_eq!(add_months(d, -1), NaiveDate::from_ymd_opt(2025, 12, 1).unwrap());
        assert_eq!(add_months(d, 12), NaiveDate::from_ymd_opt(2027, 1, 1).unwrap());
        // 2026-12-04 10:00 in UTC+8: the default month is November.
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-04T02:00:00Z").unwrap().timestamp_millis();
        assert_eq!(month_of(None, now, 8).unwrap(), NaiveDate::from_ymd_opt(2026, 11, 1).unwrap());
        assert_eq!(month_of(Some("2026-12"), now, 8).unwrap(), NaiveDate::from_ymd_opt(2026, 12, 1).unwrap());
        assert!(month_of(Some("2027-01"), now, 8).is_err());
        assert!(month_of(Some("2026-13"), now, 8).is_err());
        // The month begins at local midnight.
        assert_eq!(
            local_day_start(days(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()), 8),
            chrono::DateTime::parse_from_rfc3339("2026-10-31T16:00:00Z").unwrap().timestamp_millis()
        );
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(esc("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }
}
