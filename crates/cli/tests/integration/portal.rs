//! The town's public portal (issue 17): server-rendered, no sign-in, no script, zh and en, cached;
//! each community's monthly figures equal the dashboard's measures for that community and month.

use chrono::{Datelike, TimeZone};
use serde_json::json;

use crate::common::*;

struct Page {
    status: u16,
    headers: reqwest::header::HeaderMap,
    text: String,
}

async fn page(t: &TestApp, path: &str, lang: Option<&str>) -> Page {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut req = client.get(format!("{}{path}", t.base));
    if let Some(l) = lang {
        req = req.header("accept-language", l);
    }
    let r = req.send().await.unwrap();
    Page { status: r.status().as_u16(), headers: r.headers().clone(), text: r.text().await.unwrap() }
}

/// The `data-value`s of a row of the figures, in order: reported, solved, on time, satisfaction.
fn row(html: &str, region: &str) -> Vec<String> {
    let start = html.find(&format!("data-region=\"{region}\"")).unwrap_or_else(|| panic!("no row {region}"));
    let end = start + html[start..].find("</tr>").unwrap();
    html[start..end].split("data-value=\"").skip(1).map(|s| s[..s.find('"').unwrap()].to_string()).collect()
}

fn rate(v: &serde_json::Value) -> String {
    v.as_f64().map(|f| f.to_string()).unwrap_or_default()
}

#[tokio::test]
async fn portal_page_is_public_server_rendered_and_cached_in_both_languages() {
    let t = TestApp::spawn().await;
    // The town's notices and open consultations are on it, escaped.
    let a = t
        .post(
            Some("leader"),
            "/api/v1/articles",
            json!({ "region": "330483101001", "kind": "notice", "title": "停水 <通知>", "body": "<p>周四</p>" }),
        )
        .await;
    let article = a.ok()["article"]["id"].as_i64().unwrap();
    let closes = gridkeeper_domain::time::to_rfc3339(chrono::Utc::now().timestamp_millis() + 86_400_000);
    let c = t
        .post(Some("leader"), "/api/v1/consultations", json!({ "region": "330483101001", "kind": "rule", "title": "公约修订", "body": "<p>x</p>", "closes_at": closes }))
        .await;
    let consultation = c.ok()["consultation"]["id"].as_i64().unwrap();
    let r = page(&t, "/portal", None).await;
    assert!(matches!(r.status, 303 | 307 | 308), "{}", r.status);
    assert_eq!(r.headers["location"], "/portal/330483");

    let zh = page(&t, "/portal/330483", Some("zh-CN,zh;q=0.9")).await;
    assert_eq!(zh.status, 200);
    assert_eq!(zh.headers["content-type"], "text/html; charset=utf-8");
    assert!(zh.text.starts_with("<!doctype html>\n<html lang=\"zh-CN\">"), "{}", &zh.text[..80]);
    assert!(zh.text.contains("<title>桐乡市 · 网格治理公开门户</title>"));
    assert!(zh.text.contains("<meta name=\"description\" content=\"桐乡市的公开门户"));
    assert!(zh.text.contains("<meta name=\"viewport\""));
    // Every community, the way to the public map and to the grid member.
    assert!(zh.text.contains("西栅社区") && zh.text.contains("东栅社区"));
    assert!(zh.text.contains(&format!("<a href=\"/articles/{article}\">停水 &lt;通知&gt;</a>")), "{}", zh.text);
    assert!(zh.text.contains(&format!("href=\"/consultations/{consultation}\"")));
    assert!(zh.text.contains("href=\"/nearby\"") && zh.text.contains("href=\"/grid-card\""));
    // No script nor inline style: the server's strict CSP holds as it is.
    assert!(!zh.text.contains("<script") && !zh.text.contains("style=") && !zh.text.contains("<style"));
    let csp = zh.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'self'"), "{csp}");
    assert_eq!(zh.headers["cache-control"], "public, max-age=300");
    assert_eq!(zh.headers["vary"], "Accept-Language");
    // Revalidation.
    let etag = zh.headers["etag"].to_str().unwrap().to_string();
    let client = reqwest::Client::new();
    let again = client
        .get(format!("{}/portal/330483", t.base))
        .header("accept-language", "zh-CN")
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    let en = page(&t, "/portal/330483", Some("en-GB,en;q=0.9,zh;q=0.5")).await;
    assert!(en.text.contains("<html lang=\"en\">"));
    assert!(en.text.contains("Monthly figures") && en.text.contains("Open the public map of cases"));
    let by_query = page(&t, "/portal/330483?lang=en", Some("zh-CN")).await;
    assert!(by_query.text.contains("<html lang=\"en\">"));
    let css = page(&t, "/portal/portal.css", None).await;
    assert_eq!(css.status, 200);
    assert_eq!(css.headers["content-type"], "text/css; charset=utf-8");

    // Refusals.
    for (path, status) in [
        ("/portal/330482", 404),
        ("/portal/330483101", 404),
        ("/portal/nonsense", 404),
        ("/portal/330483/more", 404),
        ("/portal/330483?month=2026-13", 422),
        ("/portal/330483?month=2999-01", 422),
        ("/portal/330483?lang=fr", 422),
        ("/portal/330483?other=1", 422),
    ] {
        let r = page(&t, path, None).await;
        assert_eq!(r.status, status, "{path}");
        assert_eq!(r.headers["content-type"], "application/problem+json", "{path}");
    }
}

#[tokio::test]
async fn portal_figures_equal_the_dashboards_measures() {
    let t = TestApp::spawn().await;
    // This month: a closed and rated case in grid 1, a dispatched one in grid 3, a report in grid 2.
    let closed = id_of(&t.report(Some("resident"), IN_GRID1, Some(MANHOLE)).await);
    for (who, action, body) in [
        ("dispatcher", "accept", json!({ "category": MANHOLE, "urgency": "routine" })),
        ("dispatcher", "dispatch", json!({ "lead_department": CITY_MGMT })),
        ("staff", "sign", json!({})),
    ] {
        t.act(who, closed, action, body).await;
    }
    let evidence = t.upload_photo(Some("staff")).await;
    t.act("staff", closed, "submit_result", json!({ "note": "修好了", "evidence": [evidence] })).await;
    t.act("member", closed, "verify", json!({ "passed": true })).await;
    t.act("dispatcher", closed, "close", json!({})).await;
    t.act("resident", closed, "rate", json!({ "score": 5 })).await;
    let open = id_of(&t.report(Some("resident"), IN_GRID3, Some(MANHOLE)).await);
    t.act("dispatcher", open, "accept", json!({ "category": MANHOLE, "urgency": "routine" })).await;
    t.act("dispatcher", open, "dispatch", json!({ "lead_department": CITY_MGMT })).await;
    t.report(Some("resident"), IN_GRID2, None).await;

    let now = chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap());
    let month = format!("{}-{:02}", now.year(), now.month());
    let start =
        chrono::FixedOffset::east_opt(8 * 3600).unwrap().with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0).unwrap();
    let next = if now.month() == 12 {
        start.with_year(now.year() + 1).unwrap().with_month(1).unwrap()
    } else {
        start.with_month(now.month() + 1).unwrap()
    };
    let period = format!("from={}&to={}", urlencoding(&start.to_rfc3339()), urlencoding(&next.to_rfc3339()));
    let html = page(&t, &format!("/portal/330483?month={month}"), None).await.text;
    for region in ["330483101001", "330483101002", "330483"] {
        let m = t.get(Some("supervisor"), &format!("/api/v1/measures?{period}&region={region}")).await;
        let m = m.ok();
        let expected = vec![
            m["measures"]["reports"].to_string(),
            m["counts"]["cohort_closed"].to_string(),
            rate(&m["measures"]["on_time_closure_rate"]),
            rate(&m["measures"]["satisfaction_rate"]),
        ];
        assert_eq!(row(&html, region), expected, "{region}");
    }
    assert_eq!(row(&html, "330483101001"), ["2", "1", "1", "1"]);
    assert_eq!(row(&html, "330483101002"), ["1", "0", "0", ""]);
    // The month before: nothing yet.
    let before = page(&t, "/portal/330483", None).await.text;
    assert_eq!(row(&before, "330483"), ["0", "0", "", ""]);
}

fn urlencoding(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}
