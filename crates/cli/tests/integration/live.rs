//! The live feed `GET /api/v1/events` (Server-Sent Events) read by a real streaming HTTP client:
//! changes made by other requests arrive within a second, filtered by the listener's scope.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::*;

/// An open event stream and what has arrived but not been read yet.
struct Stream {
    resp: reqwest::Response,
    buf: String,
    /// The id of the last event read.
    last_id: Option<String>,
}

impl Stream {
    /// Opens the stream as `who` and waits for its `ready` event.
    async fn open(app: &TestApp, who: &str) -> Self {
        Self::resume(app, who, None).await
    }

    /// Opens the stream as a browser reconnecting after the event `last` does.
    async fn resume(app: &TestApp, who: &str, last: Option<&str>) -> Self {
        let mut req = app.client.get(format!("{}/api/v1/events", app.base)).bearer_auth(format!("{who}-token"));
        if let Some(id) = last {
            req = req.header("last-event-id", id);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.starts_with("text/event-stream"), "{ct}");
        let mut s = Self { resp, buf: String::new(), last_id: None };
        let (kind, _) = s.next().await;
        assert_eq!(kind, "ready");
        s
    }

    /// The next event (kind and JSON data), skipping keep-alive comments; fails after a second.
    async fn next(&mut self) -> (String, Value) {
        tokio::time::timeout(Duration::from_secs(1), async {
            loop {
                if let Some(end) = self.buf.find("\n\n") {
                    let frame: String = self.buf.drain(..end + 2).collect();
                    let (mut kind, mut data) = (String::new(), String::new());
                    for line in frame.lines() {
                        if let Some(v) = line.strip_prefix("event:") {
                            kind = v.trim().to_string();
                        } else if let Some(v) = line.strip_prefix("data:") {
                            data.push_str(v.trim());
                        } else if let Some(v) = line.strip_prefix("id:") {
                            self.last_id = Some(v.trim().to_string());
                        }
                    }
                    if kind.is_empty() {
                        continue; // a comment (keep-alive)
                    }
                    return (kind, serde_json::from_str(&data).unwrap());
                }
                let chunk = self.resp.chunk().await.unwrap().expect("the stream ended");
                self.buf.push_str(std::str::from_utf8(&chunk).unwrap());
            }
        })
        .await
        .expect("no event within a second")
    }

    /// Reads (and drops) whatever arrives until the server ends the stream; fails if it is still
    /// open after `seconds`.
    async fn ends_within(mut self, seconds: u64) {
        tokio::time::timeout(Duration::from_secs(seconds), async {
            while self.resp.chunk().await.ok().flatten().is_some() {}
        })
        .await
        .expect("the stream is still open");
    }

    /// The next `case` event.
    async fn next_case(&mut self) -> Value {
        let (kind, data) = self.next().await;
        assert_eq!(kind, "case", "{data}");
        data
    }
}

#[tokio::test]
async fn changes_arrive_live_and_only_in_scope() {
    let app = TestApp::spawn().await;
    let mut center = Stream::open(&app, "dispatcher").await;
    let mut other_grid = Stream::open(&app, "member3").await;
    let mut dept = Stream::open(&app, "staff").await;

    // A report by another request reaches the district's dispatcher within a second.
    let reported = app.report(Some("resident"), IN_GRID1, Some(MANHOLE)).await;
    let id = id_of(&reported);
    let n = center.next_case().await;
    assert_eq!(n["id"], id);
    assert_eq!(n["reference"], reported["case"]["reference"]);
    assert_eq!(
        (n["action"].as_str(), n["state"].as_str(), n["region"].as_str()),
        (Some("report"), Some("reported"), Some(GRID1))
    );
    assert!(n["at"].as_str().is_some_and(|t| t.contains('T')), "{n}");
    // Little is carried: nothing about the reporter or the departments.
    let keys: Vec<&String> = n.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["action", "at", "id", "reference", "region", "state", "version"]);

    // Every action is announced too, with the new state.
    app.act("dispatcher", id, "accept", json!({ "category": MANHOLE, "urgency": "urgent" })).await;
    let n = center.next_case().await;
    assert_eq!(
        (n["id"].as_i64(), n["action"].as_str(), n["state"].as_str()),
        (Some(id), Some("accept"), Some("accepted"))
    );
    app.act("dispatcher", id, "dispatch", json!({ "lead_department": CITY_MGMT })).await;
    assert_eq!(center.next_case().await["action"], "dispatch");

    // The department learns of the case only once it is dispatched to it: its first notice is
    // the dispatch, not the report or the acceptance.
    let n = dept.next_case().await;
    assert_eq!((n["id"].as_i64(), n["action"].as_str()), (Some(id), Some("dispatch")));

    // The grid member of another grid saw none of it: its first notice is a report in its grid.
    let theirs = app.report(Some("resident"), IN_GRID3, Some(MANHOLE)).await;
    let n = other_grid.next_case().await;
    assert_eq!(n["id"], id_of(&theirs), "a case of another grid leaked: {n}");
    assert_eq!(center.next_case().await["id"], id_of(&theirs));

    // The system's clock job announces what it changes too.
    let later = chrono::Utc::now().timestamp_millis() + 30 * 24 * 3_600_000;
    let (_, marked, _) = app.app.check_deadlines(later).await.unwrap();
    assert!(marked >= 1);
    let n = dept.next_case().await;
    assert_eq!((n["id"].as_i64(), n["action"].as_str()), (Some(id), Some("mark_overdue")));
}

#[tokio::test]
async fn only_signed_in_staff_may_listen() {
    let app = TestApp::spawn().await;
    app.get(None, "/api/v1/events").await.problem(401, None);
    app.get(Some("resident"), "/api/v1/events").await.problem(403, None);
}

#[tokio::test]
async fn a_stream_ends_with_its_session() {
    let app = TestApp::spawn().await;
    let center = Stream::open(&app, "dispatcher").await;
    let dept = Stream::open(&app, "staff").await;
    let grid = Stream::open(&app, "member").await;
    // Signing out ends the dispatcher's stream (it used to go on delivering for ten minutes).
    let out = app.client.delete(format!("{}/api/v1/session", app.base)).bearer_auth("dispatcher-token");
    assert_eq!(app.send_raw(None, out).await.status, 204);
    center.ends_within(10).await;
    // So does disabling an account.
    let staff = app.store.person_by_login("staff").await.unwrap().unwrap();
    let audit = gridkeeper_store::NewAudit {
        at: chrono::Utc::now().timestamp_millis(),
        actor: None,
        action: "disable".into(),
        object: Some(format!("person:{}", staff.id)),
        detail: json!({}),
    };
    assert!(app.store.set_disabled(staff.id, true, &audit).await.unwrap());
    dept.ends_within(10).await;
    // Another person's stream goes on.
    let mut grid = grid;
    app.report(Some("resident"), IN_GRID1, Some(MANHOLE)).await;
    assert_eq!(grid.next_case().await["action"], "report");
}

#[tokio::test]
async fn a_browser_that_reconnects_is_sent_what_it_missed() {
    let app = TestApp::spawn().await;
    let mut center = Stream::open(&app, "dispatcher").await;
    let first = id_of(&app.report(Some("resident"), IN_GRID1, Some(MANHOLE)).await);
    assert_eq!(center.next_case().await["id"], first);
    let last = center.last_id.clone().expect("case events carry an id");
    // The connection drops; meanwhile two more reports.
    drop(center);
    let missed = [
        id_of(&app.report(Some("resident"), IN_GRID2, Some(MANHOLE)).await),
        id_of(&app.report(Some("resident"), IN_GRID3, Some(STREET_LIGHT)).await),
    ];
    // Reconnecting with Last-Event-ID, the browser is first sent what it missed, in order.
    let mut back = Stream::resume(&app, "dispatcher", Some(&last)).await;
    assert_eq!([back.next_case().await["id"].clone(), back.next_case().await["id"].clone()], missed);
    let live = id_of(&app.report(Some("resident"), IN_GRID3, Some(MANHOLE)).await);
    assert_eq!(back.next_case().await["id"], live, "then the live notices, nothing twice");
    // An id it cannot resume from (another server, an earlier start, too old): refetch.
    let mut lost = Stream::resume(&app, "dispatcher", Some("elsewhere-7")).await;
    assert_eq!(lost.next().await.0, "resync");
}
