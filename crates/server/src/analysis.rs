//! The periodic analysis report of a region (the "information research desk"): top categories
//! and their change, grids with unusual rises, slowest departments and stages, overdue and
//! supervised cases, satisfaction — as a printable HTML page with charts, or an XLSX workbook.

use std::collections::BTreeMap;
use std::fmt::Write;

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use gridkeeper_domain::measures::{MeasureCounts, Measures};
use gridkeeper_domain::time::to_rfc3339;
use gridkeeper_domain::RegionCode;
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

struct Report {
    region: String,
    from: i64,
    to: i64,
    now: Measures,
    before: Measures,
    categories: Vec<Row>,
    rising_grids: Vec<Row>,
    slow_departments: Vec<Row>,
    overdue: Vec<(String, String, String)>,
}

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.1}%", x * 100.0)).unwrap_or_else(|| "—".into())
}

fn hours(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.1} h")).unwrap_or_else(|| "—".into())
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A horizontal bar chart as inline SVG (no script, no external resource).
fn bars(rows: &[Row], unit: &str) -> String {
    let max = rows.iter().map(|r| r.now.max(r.before)).fold(0.0, f64::max).max(1e-9);
    let mut svg = format!(r#"<svg width="640" height="{}" role="img">"#, rows.len() * 22 + 4);
    for (i, r) in rows.iter().enumerate() {
        let y = i * 22 + 2;
        let w = (r.now / max * 400.0).max(1.0);
        let wb = (r.before / max * 400.0).max(1.0);
        let _ = write!(
            svg,
            r##"<text x="0" y="{}" font-size="12">{}</text><rect x="180" y="{}" width="{wb:.0}" height="8" fill="#cbd5e1"/><rect x="180" y="{}" width="{w:.0}" height="10" fill="#2563eb"/><text x="{}" y="{}" font-size="11">{:.1}{unit}</text>"##,
            y + 13,
            esc(&r.name.chars().take(24).collect::<String>()),
            y + 11,
            y + 1,
            186.0 + w,
            y + 11,
            r.now
        );
    }
    svg.push_str("</svg>");
    svg
}

fn html(r: &Report) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>分析报告 Analysis report {}</title>\
         <style>body{{font-family:sans-serif;max-width:960px;margin:2em auto}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}td:first-child,th:first-child{{text-align:left}}\
         @media print{{h2{{page-break-before:auto}}}}</style></head><body>",
        esc(&r.region)
    );
    let _ = write!(
        h,
        "<h1>分析报告 Analysis report — {}</h1><p>{} — {} (previous period of the same length beside)</p>",
        esc(&r.region),
        to_rfc3339(r.from),
        to_rfc3339(r.to)
    );
    h.push_str("<h2>主要指标 Measures</h2><table><tr><th>measure</th><th>this period</th><th>previous</th></tr>");
    let (a, b) = (&r.now, &r.before);
    let rows: Vec<(&str, String, String)> = vec![
        ("reports", a.reports.to_string(), b.reports.to_string()),
        ("acceptance rate", pct(a.acceptance_rate), pct(b.acceptance_rate)),
        ("timely dispatch 及时派遣率", pct(a.timely_dispatch_rate), pct(b.timely_dispatch_rate)),
        ("on-time handling 按期处置率", pct(a.on_time_handling_rate), pct(b.on_time_handling_rate)),
        ("closure 结案率", pct(a.closure_rate), pct(b.closure_rate)),
        ("on-time closure 按期结案率", pct(a.on_time_closure_rate), pct(b.on_time_closure_rate)),
        ("rework 返工率", pct(a.rework_rate), pct(b.rework_rate)),
        ("return 退单率", pct(a.return_rate), pct(b.return_rate)),
        ("extension 延期率", pct(a.extension_rate), pct(b.extension_rate)),
        ("self-resolution", pct(a.self_resolution_rate), pct(b.self_resolution_rate)),
        ("satisfaction 满意率", pct(a.satisfaction_rate), pct(b.satisfaction_rate)),
        ("median accept time", hours(a.accept_time.median_hours), hours(b.accept_time.median_hours)),
        ("median dispatch time", hours(a.dispatch_time.median_hours), hours(b.dispatch_time.median_hours)),
        ("median handling time", hours(a.handle_time.median_hours), hours(b.handle_time.median_hours)),
        ("median verification time", hours(a.verify_time.median_hours), hours(b.verify_time.median_hours)),
        ("overdue now", a.overdue_now.to_string(), String::new()),
    ];
    for (k, x, y) in rows {
        let _ = write!(h, "<tr><td>{k}</td><td>{x}</td><td>{y}</td></tr>");
    }
    h.push_str("</table>");
    for (title, rows, unit) in [
        ("高发问题 Top categories (reports; grey: previous period)", &r.categories, ""),
        ("异常上升网格 Grids with unusual rises (reports)", &r.rising_grids, ""),
        ("处置最慢部门 Slowest departments (median handling hours)", &r.slow_departments, " h"),
    ] {
        let _ = write!(h, "<h2>{title}</h2>");
        if rows.is_empty() {
            h.push_str("<p>—</p>");
        } else {
            h.push_str(&bars(rows, unit));
        }
    }
    h.push_str("<h2>超期与督办 Overdue and supervised now</h2><table><tr><th>case</th><th>state</th><th>due</th></tr>");
    for (reference, state, due) in &r.overdue {
        let _ = write!(h, "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", esc(reference), esc(state), esc(due));
    }
    h.push_str("</table></body></html>");
    h
}

fn xlsx(r: &Report) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::Workbook;
    let mut wb = Workbook::new();
    let s = wb.add_worksheet().set_name("Measures")?;
    s.write_row(0, 0, ["measure", "this period", "previous period"])?;
    let ms = [
        ("acceptance_rate", r.now.acceptance_rate, r.before.acceptance_rate),
        ("timely_dispatch_rate", r.now.timely_dispatch_rate, r.before.timely_dispatch_rate),
        ("on_time_handling_rate", r.now.on_time_handling_rate, r.before.on_time_handling_rate),
        ("closure_rate", r.now.closure_rate, r.before.closure_rate),
        ("on_time_closure_rate", r.now.on_time_closure_rate, r.before.on_time_closure_rate),
        ("rework_rate", r.now.rework_rate, r.before.rework_rate),
        ("return_rate", r.now.return_rate, r.before.return_rate),
        ("extension_rate", r.now.extension_rate, r.before.extension_rate),
        ("self_resolution_rate", r.now.self_resolution_rate, r.before.self_resolution_rate),
        ("satisfaction_rate", r.now.satisfaction_rate, r.before.satisfaction_rate),
    ];
    s.write_row(1, 0, ["reports"])?;
    s.write_number(1, 1, r.now.reports as f64)?;
    s.write_number(1, 2, r.before.reports as f64)?;
    for (i, (name, a, b)) in ms.iter().enumerate() {
        let row = i as u32 + 2;
        s.write_string(row, 0, *name)?;
        if let Some(a) = a {
            s.write_number(row, 1, *a)?;
        }
        if let Some(b) = b {
            s.write_number(row, 2, *b)?;
        }
    }
    for (sheet, rows) in
        [("Categories", &r.categories), ("Rising grids", &r.rising_grids), ("Slow departments", &r.slow_departments)]
    {
        let s = wb.add_worksheet().set_name(sheet)?;
        s.write_row(0, 0, ["name", "this period", "previous period"])?;
        for (i, row) in rows.iter().enumerate() {
            s.write_string(i as u32 + 1, 0, &row.name)?;
            s.write_number(i as u32 + 1, 1, row.now)?;
            s.write_number(i as u32 + 1, 2, row.before)?;
        }
    }
    let s = wb.add_worksheet().set_name("Overdue")?;
    s.write_row(0, 0, ["case", "state", "due"])?;
    for (i, (a, b, c)) in r.overdue.iter().enumerate() {
        s.write_row(i as u32 + 1, 0, [a.as_str(), b.as_str(), c.as_str()])?;
    }
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
    /// html (default; printable, SVG charts) or xlsx
    #[param(pattern = "^(html|xlsx)$")]
    format: Option<String>,
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
        k.parse::<i64>().ok().and_then(|id| reference.categories.get(&id)).map(|c| format!("{} {}", c.name, c.name_en))
    };
    let mut categories = ranked(&by_cat.0, &by_cat.1, &cat_name, &|c| Some(c.reports as f64).filter(|v| *v > 0.0));
    categories.truncate(10);
    let by_grid = (
        app.store.measure_counts_by(&q_now, GroupBy::Grid).await?,
        app.store.measure_counts_by(&q_before, GroupBy::Grid).await?,
    );
    let grid_name = |k: &str| {
        RegionCode::parse(k).ok().and_then(|c| reference.regions.get(&c)).map(|r| format!("{} {}", r.code, r.name))
    };
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
    let dept_name =
        |k: &str| k.parse::<i64>().ok().and_then(|id| reference.departments.get(&id)).map(|d| d.name.clone());
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
    let overdue = overdue_cases
        .iter()
        .map(|c| {
            let mark = if c.supervision.is_some() { " (督办 supervised)" } else { "" };
            (c.reference.clone(), format!("{}{mark}", c.state.as_str()), c.due_at.map(to_rfc3339).unwrap_or_default())
        })
        .collect();
    let report = Report {
        region: region.to_string(),
        from,
        to,
        now: total(&all_now),
        before: total(&all_before),
        categories,
        rising_grids,
        slow_departments,
        overdue,
    };
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
