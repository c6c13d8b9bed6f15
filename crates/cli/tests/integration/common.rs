//! `TestApp`: a real server on port 0 over a fresh database, with one signed-in session per
//! fixture person and typed helpers.
//!
//! The backend comes from `GRIDKEEPER_TEST_DATABASE`: `sqlite` (the default; a file in a
//! temporary folder) or `postgres` (a database `gk_<random>` created on the server of
//! `GRIDKEEPER_TEST_PG_URL`, default `postgres://postgres@127.0.0.1:5432/test`, and dropped when
//! the test ends). The same tests run on both; the few that are about SQLite's files say so and
//! are left out of the PostgreSQL run by `scripts/test`.

use std::sync::{Arc, OnceLock};

use gridkeeper_domain::{
    Category, CategoryKind, Deadlines, Department, DepartmentKind, Grant, Platform, Region, RegionCode, Role, Scope,
};
use gridkeeper_store::{Backend, NewPerson, ReferenceData, Store};
use reqwest::StatusCode;
use serde_json::{json, Value};

pub const GRID1: &str = "330483101001001";
pub const GRID2: &str = "330483101001002";
pub const GRID3: &str = "330483101002001";
/// Inside GRID1 / GRID2 / GRID3, and outside every grid.
pub const IN_GRID1: (f64, f64) = (30.005, 120.005);
pub const IN_GRID2: (f64, f64) = (30.005, 120.015);
pub const IN_GRID3: (f64, f64) = (30.005, 120.025);
pub const OUTSIDE: (f64, f64) = (31.5, 121.5);

pub const MANHOLE: i64 = 2;
pub const STREET_LIGHT: i64 = 3;
pub const COMPONENTS: i64 = 1;
pub const VENDOR: i64 = 11;
pub const CITY_MGMT: i64 = 1;
pub const POWER: i64 = 2;
pub const COMMUNITY_TEAM: i64 = 3;

fn square(code: &str, name: &str, x0: f64, y0: f64, w: f64, h: f64) -> Region {
    Region {
        code: RegionCode::parse(code).unwrap(),
        name: name.into(),
        name_en: None,
        geometry: Some(
            json!({"type": "Polygon", "coordinates": [[[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h], [x0, y0]]]}),
        ),
    }
}

fn category(id: i64, code: &str, parent: Option<i64>, kind: CategoryKind, public: bool, dept: i64) -> Category {
    Category {
        id,
        code: code.into(),
        name: code.into(),
        name_en: code.into(),
        kind,
        parent_id: parent,
        default_department: Some(dept),
        public,
        deadlines: Deadlines { routine_hours: 72, urgent_hours: 24, emergency_hours: 2 },
        duplicate_radius_m: 100,
        duplicate_window_hours: 72,
    }
}

pub fn reference() -> ReferenceData {
    let dept = |id: i64, kind: DepartmentKind, region: Option<&str>| Department {
        id,
        code: format!("D{id}"),
        name: format!("部门{id}"),
        name_en: format!("Department {id}"),
        platform_id: 1,
        kind,
        region: region.map(|r| RegionCode::parse(r).unwrap()),
    };
    ReferenceData {
        regions: vec![
            square("330483", "桐乡市", 120.0, 30.0, 0.03, 0.01),
            square("330483101", "乌镇镇", 120.0, 30.0, 0.03, 0.01),
            square("330483101001", "西栅社区", 120.0, 30.0, 0.02, 0.01),
            square("330483101002", "东栅社区", 120.02, 30.0, 0.01, 0.01),
            square(GRID1, "西栅一网格", 120.0, 30.0, 0.01, 0.01),
            square(GRID2, "西栅二网格", 120.01, 30.0, 0.01, 0.01),
            square(GRID3, "东栅一网格", 120.02, 30.0, 0.01, 0.01),
        ],
        platforms: vec![Platform {
            id: 1, code: "P1".into(), name: "综合治理".into(), name_en: "Governance".into()
        }],
        departments: vec![
            dept(CITY_MGMT, DepartmentKind::Government, None),
            dept(POWER, DepartmentKind::OutsideParty, None),
            dept(COMMUNITY_TEAM, DepartmentKind::CommunityTeam, Some("330483101001")),
        ],
        categories: vec![
            category(COMPONENTS, "C01", None, CategoryKind::Component, true, CITY_MGMT),
            category(MANHOLE, "C0101", Some(1), CategoryKind::Component, true, CITY_MGMT),
            category(STREET_LIGHT, "C0102", Some(1), CategoryKind::Component, true, POWER),
            category(10, "E01", None, CategoryKind::Event, true, CITY_MGMT),
            category(VENDOR, "E0101", Some(10), CategoryKind::Event, false, CITY_MGMT),
        ],
    }
}

/// The fixture's people: login and grants. Each gets a session whose token is `<login>-token`.
pub fn people() -> Vec<(&'static str, Vec<(Role, &'static str)>)> {
    vec![
        ("resident", vec![(Role::Resident, "region:330483")]),
        ("resident2", vec![(Role::Resident, "region:330483")]),
        ("dispatcher", vec![(Role::Dispatcher, "region:330483")]),
        ("staff", vec![(Role::DepartmentStaff, "department:1")]),
        ("power", vec![(Role::DepartmentStaff, "department:2")]),
        ("team", vec![(Role::DepartmentStaff, "department:3")]),
        ("member", vec![(Role::GridMember, "region:330483101001001")]),
        ("member3", vec![(Role::GridMember, "region:330483101002001")]),
        ("leader", vec![(Role::GridLeader, "region:330483101001")]),
        ("supervisor", vec![(Role::Supervisor, "region:330483")]),
        ("outsider", vec![(Role::Dispatcher, "region:330482")]),
        ("auditor", vec![(Role::Auditor, "region:330483")]),
        ("admin", vec![(Role::Admin, "region:330483")]),
    ]
}

pub const PASSWORD: &str = "password-1234";

/// Each fixture person's phone number: distinct, and easy to grep for.
pub fn phone_of(login: &str) -> String {
    let n: u32 = login.bytes().map(u32::from).sum();
    format!("1390{:07}", n * 7919 % 10_000_000)
}

fn password_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| gridkeeper_server::auth::hash_password(PASSWORD).unwrap()).clone()
}

/// The backend the tests run on (`GRIDKEEPER_TEST_DATABASE`).
pub fn backend() -> Backend {
    match std::env::var("GRIDKEEPER_TEST_DATABASE").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("sqlite") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("GRIDKEEPER_TEST_DATABASE={other}: use `sqlite` or `postgres`"),
    }
}

/// The PostgreSQL server the tests create their databases on.
pub fn pg_admin_url() -> String {
    std::env::var("GRIDKEEPER_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh, empty database for one test, removed when dropped.
pub struct TestDb {
    pub url: String,
    /// The SQLite file (SQLite only).
    pub file: std::path::PathBuf,
    /// The PostgreSQL database's name (PostgreSQL only).
    pg_name: Option<String>,
}

impl TestDb {
    /// A database of `backend`; a SQLite file goes into `dir`.
    pub async fn create_on(backend: Backend, dir: &std::path::Path) -> Self {
        let file = dir.join("test.db");
        match backend {
            Backend::Sqlite => Self { url: format!("sqlite:{}", file.display()), file, pg_name: None },
            Backend::Postgres => {
                use sqlx::Connection;
                let admin = pg_admin_url();
                let name = format!("gk_{:016x}", rand_u64());
                let mut c = sqlx::PgConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("PostgreSQL at {admin} cannot be reached: {e}"));
                sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut c).await.unwrap();
                let (base, _) = admin.rsplit_once('/').expect("a database URL ends in /NAME");
                Self { url: format!("{base}/{name}"), file, pg_name: Some(name) }
            }
        }
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos());
    h.write_u32(std::process::id());
    h.finish()
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else { return };
        // Drop runs inside the test's runtime: drop the database from a thread of its own.
        let admin = pg_admin_url();
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                use sqlx::Connection;
                let mut c = sqlx::PgConnection::connect(&admin).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut c).await?;
                Ok::<_, sqlx::Error>(())
            })
        })
        .join();
        if let Ok(Err(e)) = done {
            eprintln!("could not drop the test database: {e}");
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub store: Arc<dyn Store>,
    /// The keys personal data is sealed with.
    pub vault: Arc<gridkeeper_store::Vault>,
    /// The application behind the server (to run its background jobs at a chosen time).
    pub app: gridkeeper_server::AppState,
    /// The SMS sender: tests read the one-time codes it "sent".
    pub sms: Arc<gridkeeper_server::sms::LogSms>,
    /// The SQLite file (with its -wal beside it); SQLite only.
    pub db: std::path::PathBuf,
    /// The database URL (for the binary run as another process over the same database).
    pub db_url: String,
    /// A folder of this test (media).
    pub dir: std::path::PathBuf,
    /// Removes the database when the app goes.
    _db: TestDb,
    /// Keeps the database and media folder alive as long as the app.
    _dir: tempfile::TempDir,
}

/// A response: status, content type and JSON body (Null when the body is not JSON).
pub struct Resp {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Value,
}

impl std::fmt::Debug for Resp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.status, self.content_type, self.body)
    }
}

impl Resp {
    /// Asserts a problem+json refusal with this status naming this field (if given).
    #[track_caller]
    pub fn problem(&self, status: u16, field: Option<&str>) -> &Self {
        assert_eq!(self.status.as_u16(), status, "{self:?}");
        assert_eq!(self.content_type, "application/problem+json", "{self:?}");
        assert!(self.body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{self:?}");
        if let Some(f) = field {
            assert_eq!(self.body["field"], f, "{self:?}");
            assert!(self.body["reason"].as_str().is_some_and(|r| !r.is_empty()), "{self:?}");
        }
        self
    }
    #[track_caller]
    pub fn ok(&self) -> &Value {
        assert!(self.status.is_success(), "{self:?}");
        &self.body
    }
}

impl TestApp {
    /// A server over a fresh database of the tests' backend.
    pub async fn spawn() -> Self {
        Self::spawn_with(backend(), None, |_| {}).await
    }

    /// A server over a fresh database of `backend`; with `via`, the server reaches PostgreSQL
    /// through that address (a proxy in front of 127.0.0.1:5432) instead of directly.
    /// `settings` may change the server's settings (the media folder is set already).
    pub async fn spawn_with(
        backend: Backend,
        via: Option<std::net::SocketAddr>,
        settings: impl FnOnce(&mut gridkeeper_server::Settings),
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let test_db = TestDb::create_on(backend, dir.path()).await;
        let vault = Arc::new(gridkeeper_store::Vault::ephemeral());
        let url = match via {
            Some(addr) => {
                let proxied = test_db.url.replacen("127.0.0.1:5432", &addr.to_string(), 1);
                assert_ne!(proxied, test_db.url, "a proxy stands in front of 127.0.0.1:5432 only");
                proxied
            }
            None => test_db.url.clone(),
        };
        let store = gridkeeper_store::open(&url, vault.clone()).await.unwrap();
        store.migrate().await.unwrap();
        store.load_reference(&reference()).await.unwrap();
        let now = chrono::Utc::now().timestamp_millis();
        for (login, grants) in people() {
            let grants = grants.into_iter().map(|(r, s)| Grant::new(r, Scope::parse(s).unwrap()).unwrap()).collect();
            let p = NewPerson {
                login: login.into(),
                name: format!("{login} 姓名"),
                phone: Some(phone_of(login)),
                id_number: None,
                password_hash: Some(password_hash()),
                grants,
            };
            let id = store.create_person(&p, now).await.unwrap();
            let token = format!("{login}-token");
            store.create_session(&gridkeeper_server::auth::token_hash(&token), id, now, now + 3_600_000).await.unwrap();
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut tweaked = gridkeeper_server::Settings {
            media_dir: dir.path().join("media"),
            public_url: Some(base.clone()),
            ..Default::default()
        };
        settings(&mut tweaked);
        let settings = tweaked;
        let sms = Arc::new(gridkeeper_server::sms::LogSms::default());
        // On PostgreSQL the live feed goes through LISTEN/NOTIFY, as between server instances.
        let feed = gridkeeper_store::live_feed(&url).await.unwrap();
        let app = gridkeeper_server::App::new(store.clone(), settings, sms.clone()).await.unwrap().with_live_feed(feed);
        tokio::spawn(gridkeeper_server::serve(app.clone(), listener));
        Self {
            base,
            client: reqwest::Client::new(),
            store,
            vault,
            app,
            sms,
            db: test_db.file.clone(),
            db_url: test_db.url.clone(),
            dir: dir.path().to_path_buf(),
            _db: test_db,
            _dir: dir,
        }
    }

    async fn send(&self, who: Option<&str>, req: reqwest::RequestBuilder) -> Resp {
        let req = match who {
            Some(w) => req.bearer_auth(format!("{w}-token")),
            None => req,
        };
        let r = req.send().await.unwrap();
        let status = r.status();
        let content_type = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let text = r.text().await.unwrap();
        Resp { status, content_type, body: serde_json::from_str(&text).unwrap_or(Value::Null) }
    }

    /// Sends any request (PUT, DELETE...) as `who`.
    pub async fn send_raw(&self, who: Option<&str>, req: reqwest::RequestBuilder) -> Resp {
        self.send(who, req).await
    }

    pub async fn get(&self, who: Option<&str>, path: &str) -> Resp {
        self.send(who, self.client.get(format!("{}{path}", self.base))).await
    }

    pub async fn post(&self, who: Option<&str>, path: &str, body: Value) -> Resp {
        self.send(who, self.client.post(format!("{}{path}", self.base)).json(&body)).await
    }

    /// Adds a person with these grants and a session whose token is `<login>-token`.
    pub async fn add_person(&self, login: &str, grants: &[(Role, &str)]) -> i64 {
        let grants = grants.iter().map(|(r, s)| Grant::new(*r, Scope::parse(s).unwrap()).unwrap()).collect();
        let p = NewPerson {
            login: login.into(),
            name: format!("{login} 姓名"),
            phone: None,
            id_number: None,
            password_hash: None,
            grants,
        };
        let now = chrono::Utc::now().timestamp_millis();
        let id = self.store.create_person(&p, now).await.unwrap();
        let hash = gridkeeper_server::auth::token_hash(&format!("{login}-token"));
        self.store.create_session(&hash, id, now, now + 3_600_000).await.unwrap();
        id
    }

    /// Posts a raw body (GeoJSON text, for instance) with a content type.
    pub async fn post_text(&self, who: Option<&str>, path: &str, content_type: &str, body: String) -> Resp {
        let req = self.client.post(format!("{}{path}", self.base)).header("content-type", content_type).body(body);
        self.send(who, req).await
    }

    pub async fn post_multipart(&self, who: Option<&str>, path: &str, form: reqwest::multipart::Form) -> Resp {
        self.send(who, self.client.post(format!("{}{path}", self.base)).multipart(form)).await
    }

    /// Reports a case as `who` at `at` and returns the created case JSON.
    pub async fn report(&self, who: Option<&str>, at: (f64, f64), category: Option<i64>) -> Value {
        let r = self
            .post(
                who,
                "/api/v1/cases",
                json!({ "description": "井盖破损 broken manhole cover", "lat": at.0, "lon": at.1, "category": category, "urgency": "urgent" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
        r.body
    }

    /// Runs a workflow action and asserts it succeeded; returns the case.
    pub async fn act(&self, who: &str, case: i64, action: &str, body: Value) -> Value {
        let r = self.post(Some(who), &format!("/api/v1/cases/{case}/actions/{action}"), body).await;
        assert_eq!(r.status, StatusCode::OK, "{action} by {who}: {r:?}");
        r.body["case"].clone()
    }

    pub async fn detail(&self, who: &str, case: i64) -> Value {
        self.get(Some(who), &format!("/api/v1/cases/{case}")).await.ok().clone()
    }

    /// The actions of the case's timeline, as seen by the dispatcher.
    pub async fn timeline(&self, case: i64) -> Vec<String> {
        let d = self.detail("dispatcher", case).await;
        d["timeline"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_string()).collect()
    }

    /// Uploads a generated JPEG as `who`; returns its media id.
    pub async fn upload_photo(&self, who: Option<&str>) -> String {
        let form = reqwest::multipart::Form::new().part("file", jpeg_part(jpeg(64, 48)));
        let r = self.post_multipart(who, "/api/v1/media", form).await;
        assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
        r.body["id"].as_str().unwrap().to_string()
    }

    /// Drives a fresh report to `in_progress` with CITY_MGMT leading and POWER co-operating.
    pub async fn in_progress_case(&self) -> i64 {
        let id = self.report(Some("resident"), IN_GRID1, Some(MANHOLE)).await["case"]["id"].as_i64().unwrap();
        self.act("dispatcher", id, "accept", json!({ "category": MANHOLE, "urgency": "urgent" })).await;
        self.act("dispatcher", id, "dispatch", json!({ "lead_department": CITY_MGMT, "co_departments": [POWER] }))
            .await;
        self.act("staff", id, "sign", json!({})).await;
        id
    }
}

pub fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 4) as u8, (y * 5) as u8, 128]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

pub fn jpeg_part(bytes: Vec<u8>) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(bytes).file_name("photo.jpg").mime_str("image/jpeg").unwrap()
}

pub fn id_of(v: &Value) -> i64 {
    v["id"].as_i64().or_else(|| v["case"]["id"].as_i64()).expect("a case id")
}
