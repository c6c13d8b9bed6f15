//! What the fuzz targets share: the real application over a fresh SQLite database, built once per
//! process, with the reference data of the integration tests (one district, a street, two
//! communities, three grids; categories; departments), a resident with a session, an Open311 key
//! and a case to send updates for; and a runtime to drive it.
//!
//! The database and the media folder live in a temporary folder (on `/dev/shm` when there is one,
//! so that the writes of accepted reports cost no disk flushes) removed when the process ends
//! normally; libFuzzer ends by `exit`, so a folder may stay behind in the temporary folder.

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use gridkeeper_domain::{
    Category, CategoryKind, Deadlines, Department, DepartmentKind, Grant, Platform, Region, RegionCode, Role, Scope,
};
use gridkeeper_server::{App, AppState};
use gridkeeper_store::{NewPerson, ReferenceData, Respond, Store};
use serde_json::json;
use tower::ServiceExt;

/// The bearer token of the signed-in resident.
pub const RESIDENT_TOKEN: &str = "resident-token";
/// The Open311 API key (acting as a dispatcher who is also staff of department 1).
pub const OPEN311_KEY: &str = "fuzz-open311-key";
/// The boundary of the multipart bodies the targets send.
pub const BOUNDARY: &str = "gkfuzz";

pub struct Fixture {
    pub rt: tokio::runtime::Runtime,
    pub app: AppState,
    pub router: axum::Router,
    _dir: tempfile::TempDir,
}

fn square(code: &str, name: &str, x0: f64, y0: f64, w: f64, h: f64) -> Region {
    Region {
        code: RegionCode::parse(code).expect("a region code"),
        name: name.into(),
        name_en: None,
        geometry: Some(
            json!({"type": "Polygon", "coordinates": [[[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h], [x0, y0]]]}),
        ),
    }
}

fn category(id: i64, code: &str, parent: Option<i64>, kind: CategoryKind, dept: i64) -> Category {
    Category {
        id,
        code: code.into(),
        name: code.into(),
        name_en: code.into(),
        kind,
        parent_id: parent,
        default_department: Some(dept),
        public: true,
        deadlines: Deadlines { routine_hours: 72, urgent_hours: 24, emergency_hours: 2 },
        duplicate_radius_m: 100,
        duplicate_window_hours: 72,
    }
}

/// The integration tests' reference data (`crates/cli/tests/integration/common.rs`).
pub fn reference() -> ReferenceData {
    let dept = |id: i64, kind: DepartmentKind| Department {
        id,
        code: format!("D{id}"),
        name: format!("部门{id}"),
        name_en: format!("Department {id}"),
        platform_id: 1,
        kind,
        region: None,
    };
    ReferenceData {
        regions: vec![
            square("330483", "桐乡市", 120.0, 30.0, 0.03, 0.01),
            square("330483101", "乌镇镇", 120.0, 30.0, 0.03, 0.01),
            square("330483101001", "西栅社区", 120.0, 30.0, 0.02, 0.01),
            square("330483101002", "东栅社区", 120.02, 30.0, 0.01, 0.01),
            square("330483101001001", "西栅一网格", 120.0, 30.0, 0.01, 0.01),
            square("330483101001002", "西栅二网格", 120.01, 30.0, 0.01, 0.01),
            square("330483101002001", "东栅一网格", 120.02, 30.0, 0.01, 0.01),
        ],
        platforms: vec![Platform {
            id: 1,
            code: "P1".into(),
            name: "综合治理".into(),
            name_en: "Governance".into(),
        }],
        departments: vec![dept(1, DepartmentKind::Government), dept(2, DepartmentKind::OutsideParty)],
        categories: vec![
            category(1, "C01", None, CategoryKind::Component, 1),
            category(2, "C0101", Some(1), CategoryKind::Component, 1),
            category(3, "C0102", Some(1), CategoryKind::Component, 2),
            category(10, "E01", None, CategoryKind::Event, 1),
            category(11, "E0101", Some(10), CategoryKind::Event, 1),
        ],
    }
}

async fn person(store: &dyn Store, login: &str, grants: &[(Role, &str)], now: i64) -> i64 {
    let grants = grants.iter().map(|(r, s)| Grant::new(*r, Scope::parse(s).expect("a scope")).expect("a grant")).collect();
    let p = NewPerson {
        login: login.into(),
        name: format!("{login} 姓名"),
        phone: None,
        id_number: None,
        password_hash: None,
        grants,
    };
    store.create_person(&p, now).await.expect("a person")
}

async fn build(dir: &std::path::Path) -> AppState {
    let vault = Arc::new(gridkeeper_store::Vault::ephemeral());
    let url = format!("sqlite:{}", dir.join("fuzz.db").display());
    let store = gridkeeper_store::open(&url, vault).await.expect("the database");
    store.migrate().await.expect("migrations");
    store.load_reference(&reference()).await.expect("reference data");
    let now = chrono::Utc::now().timestamp_millis();
    let resident = person(&*store, "resident", &[(Role::Resident, "region:330483")], now).await;
    let hash = gridkeeper_server::auth::token_hash(RESIDENT_TOKEN);
    store.create_session(&hash, resident, now, now + 100 * 24 * 3_600_000).await.expect("a session");
    let client = person(
        &*store,
        "open311",
        &[(Role::Dispatcher, "region:330483"), (Role::DepartmentStaff, "department:1")],
        now,
    )
    .await;
    let key = gridkeeper_server::auth::token_hash(OPEN311_KEY);
    store.create_open311_key("fuzz", &key, client, Respond::Id, now).await.expect("a key");
    let attributes: Vec<gridkeeper_domain::exchange::ServiceAttribute> = serde_json::from_value(json!([
        { "code": "depth", "datatype": "number", "required": true, "order": 1, "description": "How deep (m)?" },
        { "code": "seen", "datatype": "datetime", "order": 2, "description": "When?" },
        { "code": "kind", "datatype": "singlevaluelist", "order": 3, "description": "Kind",
          "values": [{ "key": "cover", "name": "Cover" }, { "key": "frame", "name": "Frame" }] },
        { "code": "hazards", "datatype": "multivaluelist", "order": 4, "description": "Who is at risk?",
          "values": [{ "key": "traffic", "name": "Traffic" }, { "key": "children", "name": "Children" }] },
        { "code": "note", "datatype": "text", "order": 5, "description": "Anything else" },
    ]))
    .expect("attributes");
    store.set_category_attributes(2, &attributes).await.expect("attributes stored");
    let settings = gridkeeper_server::Settings {
        media_dir: dir.join("media"),
        public_url: Some("http://localhost:8080".into()),
        max_photo_mb: 1,
        ..Default::default()
    };
    let sms = Arc::new(gridkeeper_server::sms::LogSms::default());
    App::new(store, settings, sms).await.expect("the application")
}

/// The application, built on first use.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() };
        let dir = dir.expect("a temporary folder");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        let app = rt.block_on(build(dir.path()));
        // Case 1, for the Open311 status updates to act on.
        rt.block_on(async {
            let r = send(
                &gridkeeper_server::router(app.clone()),
                Request::post("/api/v1/cases")
                    .header("content-type", "application/json")
                    .header("authorization", format!("Bearer {RESIDENT_TOKEN}"))
                    .body(Body::from(
                        json!({ "description": "井盖破损", "lat": 30.005, "lon": 120.005, "category": 2 }).to_string(),
                    ))
                    .expect("a request"),
            )
            .await;
            assert_eq!(r, StatusCode::CREATED, "the fixture's case");
        });
        let router = gridkeeper_server::router(app.clone());
        Fixture { rt, app, router, _dir: dir }
    })
}

/// Sends a request through the router as from 127.0.0.1 and reads the whole answer.
pub async fn send(router: &axum::Router, mut req: Request<Body>) -> StatusCode {
    let peer = std::net::SocketAddr::from(([127, 0, 0, 1], 40000));
    req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
    let res = router.clone().oneshot(req).await.expect("the router never fails");
    let status = res.status();
    // Read the body too: answers are rendered as they are streamed.
    let _ = axum::body::to_bytes(res.into_body(), 16 * 1024 * 1024).await;
    status
}

/// The property of the HTTP targets: whatever arrives, the answer is never a server error.
pub fn check(what: &str, status: StatusCode) {
    assert!(!status.is_server_error(), "{what} answered {status}");
}
