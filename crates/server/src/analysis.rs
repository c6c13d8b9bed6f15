//! The periodic analysis report of a region (the "information research desk"): top categories
//! and their change, grids with unusual rises, slowest departments and stages, overdue and
//! supervised cases, satisfaction — as a printable HTML page with charts, or an XLSX workbook.

use std::collections::BTreeMap;
use std::fmt::Write;

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use gridkeeper_domain::measures::{MeasureCounts, Measures};
use gridkeeper_domain::time::{local_time, to_rfc3339};
use gridkeeper_domain::{CaseState, RegionCode};
use gridkeeper_store::{CaseQuery, GroupBy, MeasureQuery, NewAudit, Visibility};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(analysis))
}

/// One row of a ranked table: name, this period, the previous one.
struct Row {
    name: String,
    now: f64,
    before: f64,
}

/// The report in one language, with its times local.
struct Report {
    en: bool,
    utc_offset_hours: i32,
    /// The region's name, and its code.
    region: String,
    from: i64,
    to: i64,
    now: Measures,
    before: Measures,
    categories: Vec<Row>,
    rising_grids: Vec<Row>,
    slow_departments: Vec<Row>,
    /// Reference, state and supervision, the time it was due.
    overdue: Vec<(String, String, String)>,
}

impl Report {
    fn tr<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        if self.en {
            en
        } else {
            zh
        }
    }

    /// `2026-12-04 09:30`, local time.
    fn time(&self, ms: i64) -> String {
        local_time(ms, self.utc_offset_hours)
    }

    /// A local day, or a time when it is not midnight; an end at midnight is the day before.
    fn day(&self, ms: i64, end: bool) -> String {
        let t = self.time(if end { ms - 1 } else { ms });
        match t.split_once(' ') {
            Some((day, "00:00" | "23:59")) => day.to_string(),
            _ => self.time(ms),
        }
    }

    /// The measures beside the previous period: name, this period, the previous one.
    fn measures(&self) -> Vec<(&'static str, String, String)> {
        let (a, b) = (&self.now, &self.before);
        let hours =
            |v: Option<f64>| v.map(|x| format!("{x:.1} {}", self.tr("小时", "h"))).unwrap_or_else(|| "—".into());
        vec![
            (self.tr("上报数", "Reports"), a.reports.to_string(), b.reports.to_string()),
            (self.tr("立案率", "Acceptance rate"), pct(a.acceptance_rate), pct(b.acceptance_rate)),
            (self.tr("及时派遣率", "Timely dispatch"), pct(a.timely_dispatch_rate), pct(b.timely_dispatch_rate)),
            (self.tr("按期处置率", "On-time handling"), pct(a.on_time_handling_rate), pct(b.on_time_handling_rate)),
            (self.tr("结案率", "Closure rate"), pct(a.closure_rate), pct(b.closure_rate)),
            (self.tr("按期结案率", "On-time closure"), pct(a.on_time_closure_rate), pct(b.on_time_closure_rate)),
            (self.tr("返工率", "Rework rate"), pct(a.rework_rate), pct(b.rework_rate)),
            (self.tr("退单率", "Return rate"), pct(a.return_rate), pct(b.return_rate)),
            (self.tr("延期率", "Extension rate"), pct(a.extension_rate), pct(b.extension_rate)),
            (self.tr("自治率", "Self-resolution"), pct(a.self_resolution_rate), pct(b.self_resolution_rate)),
            (self.tr("满意率", "Satisfaction"), pct(a.satisfaction_rate), pct(b.satisfaction_rate)),
            (
                self.tr("受理用时（中位数）", "Time to accept (median)"),
                hours(a.accept_time.median_hours),
                hours(b.accept_time.median_hours),
            ),
            (
                self.tr("派遣用时（中位数）", "Time to dispatch (median)"),
                hours(a.dispatch_time.median_hours),
                hours(b.dispatch_time.median_hours),
            ),
            (
                self.tr("处置用时（中位数）", "Time to handle (median)"),
                hours(a.handle_time.median_hours),
                hours(b.handle_time.median_hours),
            ),
            (
                self.tr("核查用时（中位数）", "Time to verify (median)"),
                hours(a.verify_time.median_hours),
                hours(b.verify_time.median_hours),
            ),
            (self.tr("当前超时", "Overdue now"), a.overdue_now.to_string(), String::new()),
        ]
    }
}

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.1}%", x * 100.0)).unwrap_or_else(|| "—".into())
}

/// A state as the app names it.
fn state_name(state: CaseState, en: bool) -> &'static str {
    use CaseState as S;
    match (state, en) {
        (S::Reported, false) => "待受理",
        (S::Accepted, false) => "已立案",
        (S::Dispatched, false) => "已派遣",
        (S::InProgress, false) => "处置中",
        (S::Resolved, false) => "待核查",
        (S::Verified, false) => "待结案",
        (S::Closed, false) => "已办结",
        (S::Rated, false) => "已评价",
        (S::Rejected, false) => "不予受理",
        (S::Reported, true) => "Reported",
        (S::Accepted, true) => "Accepted",
        (S::Dispatched, true) => "Dispatched",
        (S::InProgress, true) => "In progress",
        (S::Resolved, true) => "To verify",
        (S::Verified, true) => "To close",
        (S::Closed, true) => "Closed",
        (S::Rated, true) => "Rated",
        (S::Rejected, true) => "Rejected",
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A name shortened to about `width` columns (a Chinese character counts two), with an ellipsis.
fn fit(name: &str, width: usize) -> String {
    let mut used = 0;
    let mut out = String::new();
    for c in name.chars() {
        let w = if c.is_ascii() { 1 } else { 2 };
        if used + w > width {
            out.push('…');
            return out;
        }
        used += w;
        out.push(c);
    }
    out
}

/// A horizontal bar chart as inline SVG (no script, no external resource), A4-wide: the name,
/// this period's bar over the previous one's (grey), the value (`decimals` after the point).
fn bars(rows: &[Row], unit: &str, decimals: usize) -> String {
    let max = rows.iter().map(|r| r.now.max(r.before)).fold(0.0, f64::max).max(1e-9);
    let mut svg = format!(r#"<svg viewBox="0 0 640 {h}" width="100%" role="img">"#, h = rows.len() * 22 + 4);
    for (i, r) in rows.iter().enumerate() {
        let y = i * 22 + 2;
        let w = (r.now / max * 340.0).max(1.0);
        let wb = (r.before / max * 340.0).max(1.0);
        let _ = write!(
            svg,
            r##"<text x="0" y="{}" font-size="12">{}</text><rect x="230" y="{}" width="{wb:.0}" height="8" fill="#cbd5e1"/><rect x="230" y="{}" width="{w:.0}" height="10" fill="#2563eb"/><text x="{}" y="{}" font-size="11">{:.*}{unit}</text>"##,
            y + 13,
            esc(&fit(&r.name, 36)),
            y + 11,
            y + 1,
            236.0 + w,
            y + 11,
            decimals,
            r.now
        );
    }
    svg.push_str("</svg>");
    svg
}

fn html(r: &Report) -> String {
    let mut h = String::new();
    let title = r.tr("分析报告", "Analysis report");
    let _ = write!(
        h,
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{title} {}</title>\
         <style>@page{{size:A4;margin:15mm}}body{{font-family:sans-serif;max-width:180mm;margin:1em auto;font-size:14px}}\
         table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}\
         td:first-child,th:first-child{{text-align:left}}h2{{font-size:16px;margin-top:1.4em}}\
         table,svg{{break-inside:avoid}}@media print{{body{{margin:0}}}}</style></head><body>",
        r.tr("zh-CN", "en"),
        esc(&r.region)
    );
    let _ = write!(
        h,
        "<h1>{title}：{}</h1><p>{} {} {}（{}）</p>",
        esc(&r.region),
        r.day(r.from, false),
        r.tr("至", "to"),
        r.day(r.to, true),
        r.tr("与上一个同样长的周期对比", "beside the previous period of the same length")
    );
    let _ = write!(
        h,
        "<h2>{}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th></tr>",
        r.tr("主要指标", "Measures"),
        r.tr("指标", "Measure"),
        r.tr("本期", "This period"),
        r.tr("上期", "Previous period")
    );
    for (k, x, y) in r.measures() {
        let _ = write!(h, "<tr><td>{k}</td><td>{x}</td><td>{y}</td></tr>");
    }
    h.push_str("</table>");
    let hours = r.tr(" 小时", " h");
    for (title, rows, unit, decimals) in [
        (
            r.tr("高发问题（上报数；灰色为上期）", "Top categories (reports; grey: previous period)"),
            &r.categories,
            "",
            0,
        ),
        (r.tr("异常上升的网格（上报数）", "Grids with unusual rises (reports)"), &r.rising_grids, "", 0),
        (
            r.tr("处置最慢的部门（处置用时中位数）", "Slowest departments (median time to handle)"),
            &r.slow_departments,
            hours,
            1,
        ),
    ] {
        let _ = write!(h, "<h2>{title}</h2>");
        if rows.is_empty() {
            h.push_str("<p>—</p>");
        } else {
            h.push_str(&bars(rows, unit, decimals));
        }
    }
    let _ = write!(
        h,
        "<h2>{}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th></tr>",
        r.tr("超时与督办中的案件", "Overdue and supervised cases now"),
        r.tr("案件编号", "Case"),
        r.tr("状态", "State"),
        r.tr("办理期限", "Due")
    );
    for (reference, state, due) in &r.overdue {
        let _ = write!(h, "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", esc(reference), esc(state), esc(due));
    }
    if r.overdue.is_empty() {
        h.push_str("<tr><td colspan=\"3\">—</td></tr>");
    }
    let _ = write!(
        h,
        "</table><p style=\"color:#666\">{} {}</p></body></html>",
        r.tr("生成于", "Made"),
        r.time(chrono::Utc::now().timestamp_millis())
    );
    h
}

fn xlsx(r: &Report) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::Workbook;
    let mut wb = Workbook::new();
    let header = [r.tr("指标", "Measure"), r.tr("本期", "This period"), r.tr("上期", "Previous period")];
    let s = wb.add_worksheet().set_name(r.tr("主要指标", "Measures"))?;
    s.write_row(0, 0, header)?;
    for (i, (name, a, b)) in r.measures().iter().enumerate() {
        s.write_row(i as u32 + 1, 0, [*name, a.as_str(), b.as_str()])?;
    }
    s.set_column_width(0, 28)?;
    let name_header = [r.tr("名称", "Name"), header[1], header[2]];
    for (sheet, rows) in [
        (r.tr("高发问题", "Top categories"), &r.categories),
        (r.tr("异常上升的网格", "Rising grids"), &r.rising_grids),
        (r.tr("处置最慢的部门", "Slowest departments"), &r.slow_departments),
    ] {
        let s = wb.add_worksheet().set_name(sheet)?;
        s.write_row(0, 0, name_header)?;
        for (i, row) in rows.iter().enumerate() {
            s.write_string(i as u32 + 1, 0, &row.name)?;
            s.write_number(i as u32 + 1, 1, row.now)?;
            s.write_number(i as u32 + 1, 2, row.before)?;
        }
        s.set_column_width(0, 32)?;
    }
    let s = wb.add_worksheet().set_name(r.tr("超时与督办", "Overdue"))?;
    s.write_row(0, 0, [r.tr("案件编号", "Case"), r.tr("状态", "State"), r.tr("办理期限", "Due")])?;
    for (i, (a, b, c)) in r.overdue.iter().enumerate() {
        s.write_row(i as u32 + 1, 0, [a.as_str(), b.as_str(), c.as_str()])?;
    }
    s.set_column_width(0, 22)?;
    s.set_column_width(1, 18)?;
    s.set_column_width(2, 18)?;
    wb.save_to_buffer()
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AnalysisQuery {
    /// Region code (default: one's own)
    region: Option<String>,
    /// RFC 3339
    #[param(required = true)]
    from: Option<String>,
    /// RFC 3339
    #[param(required = true)]
    to: Option<String>,
    /// html (default; printable on A4, SVG charts) or xlsx
    #[param(pattern = "^(html|xlsx)$")]
    format: Option<String>,
    /// The report's language: zh (default) or en
    #[param(pattern = "^(zh|en)$")]
    lang: Option<String>,
}

/// The periodic analysis report of a region: measures beside the previous period, top categories,
/// rising grids, slowest departments, overdue and supervised cases.
#[utoipa::path(get, path = "/reports/analysis", tag = "measures", params(AnalysisQuery),
    responses((status = 200, description = "The report as printable HTML, or XLSX with `format=xlsx`", content(("text/html"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))), (status = 400, description = "Malformed query, or an unknown parameter"), (status = 403, description = "Not allowed (role, scope or CSRF token)")))]
async fn analysis(State(app): State<AppState>, auth: Auth, Query(q): Query<AnalysisQuery>) -> ApiResult<Response> {
    let format = q.format.as_deref().unwrap_or("html");
    if format != "html" && format != "xlsx" {
        return Err(ApiError::field("format", "must be html or xlsx"));
    }
    let en = match q.lang.as_deref() {
        None | Some("zh") => false,
        Some("en") => true,
        Some(_) => return Err(ApiError::field("lang", "must be zh or en")),
    };
    let (from, to) = crate::measures::period(q.from.as_deref(), q.to.as_deref())?;
    let region = crate::measures::region_in_scope(&app, &auth, q.region.as_deref())?;
    let now_ms = app.now();
    let q_now = MeasureQuery { region: Some(region.clone()), from, to, now: now_ms, ..Default::default() };
    let q_before = MeasureQuery { from: from - (to - from), to: from, ..q_now.clone() };
    let total = |m: &BTreeMap<String, MeasureCounts>| Measures::from_counts(&m.get("").cloned().unwrap_or_default());
    let (all_now, all_before) = (
        app.store.measure_counts_by(&q_now, GroupBy::Nothing).await?,
        app.store.measure_counts_by(&q_before, GroupBy::Nothing).await?,
    );
    let reference = app.reference();
    let ranked = |now: &BTreeMap<String, MeasureCounts>,
                  before: &BTreeMap<String, MeasureCounts>,
                  name: &dyn Fn(&str) -> Option<String>,
                  value: &dyn Fn(&MeasureCounts) -> Option<f64>| {
        let mut rows: Vec<Row> = now
            .iter()
            .filter_map(|(k, c)| {
                let v = value(c)?;
                let b = before.get(k).and_then(value).unwrap_or(0.0);
                Some(Row { name: name(k)?, now: v, before: b })
            })
            .collect();
        rows.sort_by(|a, b| b.now.total_cmp(&a.now));
        rows
    };
    let by_cat = (
        app.store.measure_counts_by(&q_now, GroupBy::Category).await?,
        app.store.measure_counts_by(&q_before, GroupBy::Category).await?,
    );
    let cat_name = |k: &str| {
        k.parse::<i64>().ok().and_then(|id| reference.categories.get(&id)).map(|c| {
            let name = if en { &c.name_en } else { &c.name };
            format!("{} {name}", c.code)
        })
    };
    let mut categories = ranked(&by_cat.0, &by_cat.1, &cat_name, &|c| Some(c.reports as f64).filter(|v| *v > 0.0));
    categories.truncate(10);
    let by_grid = (
        app.store.measure_counts_by(&q_now, GroupBy::Grid).await?,
        app.store.measure_counts_by(&q_before, GroupBy::Grid).await?,
    );
    let grid_name = |k: &str| RegionCode::parse(k).ok().and_then(|c| reference.regions.get(&c)).map(|r| r.name.clone());
    // Unusual: at least five more reports than before and at least half as many again.
    let mut rising_grids: Vec<Row> = ranked(&by_grid.0, &by_grid.1, &grid_name, &|c| Some(c.reports as f64))
        .into_iter()
        .filter(|r| r.now >= r.before + 5.0 && r.now >= r.before * 1.5)
        .collect();
    rising_grids.truncate(10);
    let by_dept = (
        app.store.measure_counts_by(&q_now, GroupBy::Department).await?,
        app.store.measure_counts_by(&q_before, GroupBy::Department).await?,
    );
    let dept_name = |k: &str| {
        k.parse::<i64>().ok().and_then(|id| reference.departments.get(&id)).map(|d| {
            if en {
                d.name_en.clone()
            } else {
                d.name.clone()
            }
        })
    };
    let median = |c: &MeasureCounts| Measures::from_counts(c).handle_time.median_hours;
    let mut slow_departments = ranked(&by_dept.0, &by_dept.1, &dept_name, &median);
    slow_departments.truncate(10);
    let open = CaseQuery {
        visibility: Visibility { regions: vec![region.clone()], ..Default::default() },
        now: now_ms,
        limit: 200,
        ..Default::default()
    };
    let mut overdue_cases = app.store.list_cases(&CaseQuery { overdue: Some(true), ..open.clone() }).await?;
    for c in app.store.list_cases(&CaseQuery { supervised: Some(true), ..open }).await? {
        if !overdue_cases.iter().any(|o| o.id == c.id) {
            overdue_cases.push(c);
        }
    }
    let offset = app.settings.utc_offset_hours;
    let region_name = reference.regions.get(&region).map(|r| r.name.clone()).unwrap_or_default();
    let mut report = Report {
        en,
        utc_offset_hours: offset,
        region: if region_name.is_empty() || region_name == region.as_str() {
            region.to_string()
        } else {
            format!("{region_name}（{region}）")
        },
        from,
        to,
        now: total(&all_now),
        before: total(&all_before),
        categories,
        rising_grids,
        slow_departments,
        overdue: Vec::new(),
    };
    report.overdue = overdue_cases
        .iter()
        .map(|c| {
            let supervised = if c.supervision.is_some() { report.tr("（督办）", " (supervised)") } else { "" };
            let due = c.due_at.map(|d| report.time(d)).unwrap_or_default();
            (c.reference.clone(), format!("{}{supervised}", state_name(c.state, en)), due)
        })
        .collect();
    app.store
        .audit(&NewAudit {
            at: now_ms,
            actor: Some(auth.person.id),
            action: "export".into(),
            object: Some(format!("report:{region}")),
            detail: json!({ "format": format, "from": to_rfc3339(from), "to": to_rfc3339(to) }),
        })
        .await?;
    let mut resp = if format == "xlsx" {
        let bytes = xlsx(&report).map_err(ApiError::internal)?;
        (
            [
                (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"analysis-{region}.xlsx\"")),
            ],
            bytes,
        )
            .into_response()
    } else {
        ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html(&report)).into_response()
    };
    // The page carries its own styles and no script at all.
    resp.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; img-src data:"),
    );
    Ok(resp)
}
