//! The HTTP server: the JSON API under `/api/v1`, sign-in, media, health.
//!
//! **Architecture invariant:** this is the only crate that knows HTTP. Handlers parse requests into
//! domain values, call the service functions in [`service`], and render the result; they never
//! see SQL (that lives behind [`gridkeeper_store::Store`]) and never change a case except through
//! the state machine of `gridkeeper_domain`.

mod accounts;
mod admin;
mod analysis;
mod articles;
pub mod auth;
mod calendars;
mod campaigns;
mod cases;
mod channels;
pub mod checkpoints;
mod consultations;
mod contacts;
mod error;
mod events;
mod exchange;
pub mod export;
mod extract;
mod fieldwork;
mod hotline;
mod http;
mod inspections;
pub mod intake;
mod measures;
pub mod media;
mod natives;
pub mod notices;
mod open311;
mod openapi;
pub mod participation;
pub mod patrols;
mod points;
mod portal;
mod proposals;
mod public;
mod reference;
pub mod regions;
mod reporting;
mod responsibility;
mod service;
pub mod sms;
mod teams;
mod tracking;
pub mod triage;
mod web;
pub mod webhooks;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use gridkeeper_domain::{Category, CategoryId, Department, DepartmentId, Millis, Region, RegionCode, RegionLevel};
use gridkeeper_geo::GridIndex;
use gridkeeper_store::{LiveFeed, LocalFeed, Store};
use object_store::ObjectStore;
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use accounts::AuthSettings;
pub use error::{ApiError, ApiResult};
pub use reporting::ReportBody;
pub use web::WebSettings;

/// The `[server]` section of the configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// The address clients reach the server at (`https://grid.example.gov.cn`), for the absolute
    /// URLs of answers (Open311's discovery and media links). Never taken from a request's `Host`
    /// or `X-Forwarded-*` headers, which a client chooses; without it, `http://` and `bind`.
    pub public_url: Option<String>,
    /// Folder of the local object store for photos.
    pub media_dir: PathBuf,
    /// An S3-compatible object store for photos instead of the folder: `s3://BUCKET[/PREFIX]`.
    /// Credentials, region and endpoint come from the usual `AWS_*` environment variables
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT` for MinIO,
    /// Ceph or another S3-compatible service, `AWS_ALLOW_HTTP=true` for a plain-HTTP endpoint).
    pub media_url: Option<String>,
    /// Settings of the S3 store that override the environment's, by the names of
    /// `object_store::aws::AmazonS3ConfigKey`: `endpoint`, `region`, `allow_http`, ...
    pub media_options: std::collections::BTreeMap<String, String>,
    /// How long a sign-in lasts.
    pub session_hours: u32,
    /// The district that receives reports located outside every grid (default: the only district).
    pub district: Option<String>,
    /// Offset of local time from UTC, for the year of case references (China: 8).
    pub utc_offset_hours: i32,
    /// Largest photo accepted, in MiB.
    pub max_photo_mb: u32,
    /// Largest voice recording accepted, in MiB.
    pub max_audio_mb: u32,
    /// Largest video accepted, in MiB.
    pub max_video_mb: u32,
    /// Mark session cookies `Secure` (set when served behind TLS).
    pub secure_cookies: bool,
    /// Seconds a request may take before it is answered 408.
    pub request_timeout_seconds: u32,
    /// Days after closing before a case's personal data is anonymised.
    pub retention_days: u32,
    /// Most new cases committed together by the case writer (group commit; 1: one transaction
    /// per report).
    pub intake_batch: u32,
    pub auth: accounts::AuthSettings,
    /// Where and how often the audit chain's head is written (`[server.audit_checkpoints]`).
    pub audit_checkpoints: checkpoints::CheckpointSettings,
    /// How the web application is served (`[server.web]`: map tiles).
    pub web: web::WebSettings,
    /// Weights of the assessment components per kind (see docs/MEASURES.md).
    pub assessment: AssessmentWeights,
    /// Category suggestions, floods folded, surges (`[server.triage]`).
    pub triage: triage::TriageSettings,
    /// How notices leave the platform: SMS gateway, mail server, retries (`[server.notices]`).
    pub notices: notices::NoticeDelivery,
    /// Residents' proposals: supporters needed, days to answer (`[server.participation]`).
    pub participation: participation::ParticipationSettings,
    /// Inspections: how far from the place a position is flagged, how late an offline one may
    /// come (`[server.inspections]`).
    pub inspections: inspections::InspectionSettings,
    /// Patrols: flags, the longest a patrol runs, positions' retention, quotas (`[server.patrols]`).
    pub patrols: patrols::PatrolSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AssessmentWeights {
    pub department: gridkeeper_domain::assessment::Weights,
    pub grid: gridkeeper_domain::assessment::Weights,
    pub grid_member: gridkeeper_domain::assessment::Weights,
}

impl Default for AssessmentWeights {
    fn default() -> Self {
        use gridkeeper_domain::assessment::{default_weights, Assessed};
        Self {
            department: default_weights(Assessed::Department),
            grid: default_weights(Assessed::Grid),
            grid_member: default_weights(Assessed::GridMember),
        }
    }
}

impl AssessmentWeights {
    pub fn of(&self, kind: gridkeeper_domain::assessment::Assessed) -> &gridkeeper_domain::assessment::Weights {
        use gridkeeper_domain::assessment::Assessed;
        match kind {
            Assessed::Department => &self.department,
            Assessed::Grid => &self.grid,
            Assessed::GridMember => &self.grid_member,
        }
    }

    /// Every weight names a component of its kind and is a finite number ≥ 0.
    fn validate(&self) -> Result<(), StartupError> {
        use gridkeeper_domain::assessment::{components, Assessed};
        let kinds =
            [(Assessed::Department, "department"), (Assessed::Grid, "grid"), (Assessed::GridMember, "grid_member")];
        for (kind, name) in kinds {
            let known: Vec<&str> =
                components(kind, &Default::default(), &Default::default()).into_iter().map(|(n, _)| n).collect();
            for (k, w) in self.of(kind) {
                if !known.contains(&k.as_str()) {
                    return Err(format!(
                        "server.assessment.{name}.{k}: unknown component; one of {}",
                        known.join(", ")
                    )
                    .into());
                }
                if !w.is_finite() || *w < 0.0 {
                    return Err(format!("server.assessment.{name}.{k}: a weight is a number ≥ 0").into());
                }
            }
        }
        Ok(())
    }
}

impl Settings {
    /// The base of absolute URLs: `public_url` without a trailing slash, else `http://` and the
    /// address listened on (`localhost` for an unspecified one).
    pub fn public_url(&self) -> Result<String, StartupError> {
        match &self.public_url {
            Some(url) => {
                let url = url.trim().trim_end_matches('/');
                let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
                match rest {
                    Some(host) if !host.is_empty() && !host.contains(['?', '#', ' ', '/']) => Ok(url.to_string()),
                    _ => Err(format!(
                        "server.public_url: `{url}` is not a base URL such as https://grid.example.gov.cn (no path)"
                    )
                    .into()),
                }
            }
            None if self.bind.ip().is_unspecified() => Ok(format!("http://localhost:{}", self.bind.port())),
            None => Ok(format!("http://{}", self.bind)),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            media_dir: PathBuf::from("data/media"),
            media_url: None,
            media_options: Default::default(),
            session_hours: 12,
            district: None,
            utc_offset_hours: 8,
            max_photo_mb: 15,
            max_audio_mb: 10,
            max_video_mb: 50,
            secure_cookies: false,
            request_timeout_seconds: 60,
            retention_days: 730,
            intake_batch: 256,
            auth: accounts::AuthSettings::default(),
            audit_checkpoints: Default::default(),
            web: web::WebSettings::default(),
            assessment: AssessmentWeights::default(),
            triage: triage::TriageSettings::default(),
            notices: notices::NoticeDelivery::default(),
            participation: participation::ParticipationSettings::default(),
            inspections: inspections::InspectionSettings::default(),
            patrols: patrols::PatrolSettings::default(),
        }
    }
}

/// Reference data kept in memory: read on every request, changed rarely.
#[derive(Default)]
pub struct Reference {
    pub regions: HashMap<RegionCode, Region>,
    pub categories: HashMap<CategoryId, Category>,
    pub departments: HashMap<DepartmentId, Department>,
    pub grids: GridIndex,
    /// The district that receives reports from outside every grid.
    pub district: Option<String>,
    /// Working calendars by district; a district without one runs on the wall clock.
    pub calendars: HashMap<String, gridkeeper_domain::Calendar>,
    /// The region generation (`RegionStore::region_generation`) the regions were read at.
    pub region_generation: i64,
    /// The generation of departments and categories (`AdminStore::organisation_generation`)
    /// they were read at.
    pub organisation_generation: i64,
}

/// Everything a request handler needs.
pub struct App {
    pub store: Arc<dyn Store>,
    /// The one writer of new cases (group commit).
    pub intake: intake::IntakeQueue,
    pub media: Arc<dyn ObjectStore>,
    pub settings: Settings,
    pub sms: Arc<dyn sms::SmsSender>,
    /// Where each successful case write is announced (`GET /api/v1/events` listens).
    pub live: Arc<dyn LiveFeed>,
    /// Set to `true` when the server shuts down: live streams end so the shutdown can finish.
    pub closing: tokio::sync::watch::Sender<bool>,
    /// Where the audit chain's head is written, when configured.
    pub checkpoints: Option<checkpoints::Checkpoints>,
    /// The live notices of the last minutes, for browsers that reconnect.
    pub recent: events::Recent,
    /// The category model in use and its training.
    pub triage: triage::Suggester,
    /// The addresses whose sign-ins are slowed down after too many failures.
    gates: accounts::Gates,
    reference: RwLock<Arc<Reference>>,
    clock: Box<dyn Fn() -> Millis + Send + Sync>,
}

pub type AppState = Arc<App>;

impl App {
    /// Builds the application over a migrated store and loads the reference data.
    pub async fn new(
        store: Arc<dyn Store>,
        settings: Settings,
        sms: Arc<dyn sms::SmsSender>,
    ) -> Result<AppState, StartupError> {
        settings.assessment.validate()?;
        settings.triage.validate()?;
        settings.notices.validate()?;
        settings.participation.validate()?;
        settings.inspections.validate()?;
        settings.patrols.validate()?;
        settings.public_url()?;
        let media = media::open_store(&settings)?;
        let checkpoints = checkpoints::Checkpoints::open(&settings)?;
        let app = Arc::new(App {
            intake: intake::IntakeQueue::start(store.clone(), settings.intake_batch as usize),
            store,
            media,
            settings,
            sms,
            live: Arc::new(LocalFeed::default()),
            closing: tokio::sync::watch::Sender::new(false),
            checkpoints,
            recent: Default::default(),
            triage: Default::default(),
            gates: Default::default(),
            reference: RwLock::default(),
            clock: Box::new(|| chrono::Utc::now().timestamp_millis()),
        });
        app.reload_reference().await?;
        Ok(app)
    }

    /// Re-reads regions, categories and departments and rebuilds the grid index.
    pub async fn reload_reference(&self) -> Result<(), StartupError> {
        // Read before the regions: an import landing in between is picked up on the next check.
        let region_generation = self.store.region_generation().await.map_err(|e| e.to_string())?;
        let organisation_generation = self.store.organisation_generation().await.map_err(|e| e.to_string())?;
        let regions = self.store.regions().await.map_err(|e| e.to_string())?;
        let grids = GridIndex::build(&regions).map_err(|e| e.to_string())?;
        let districts: Vec<&Region> = regions.iter().filter(|r| r.level() == RegionLevel::District).collect();
        let district = match &self.settings.district {
            Some(d) => {
                Some(RegionCode::parse(d).map_err(|e| format!("server.district: {}", e.reason))?.district().to_string())
            }
            None if districts.len() == 1 => Some(districts[0].code.to_string()),
            None => None,
        };
        let r = Reference {
            region_generation,
            organisation_generation,
            regions: regions.into_iter().map(|r| (r.code.clone(), r)).collect(),
            categories: self
                .store
                .categories()
                .await
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|c| (c.id, c))
                .collect(),
            departments: self
                .store
                .departments()
                .await
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|d| (d.id, d))
                .collect(),
            grids,
            district,
            calendars: self.store.calendars().await.map_err(|e| e.to_string())?.into_iter().collect(),
        };
        *self.reference.write().expect("reference lock poisoned") = Arc::new(r);
        Ok(())
    }

    /// Reloads the reference data when another process (or server instance) imported regions or
    /// changed departments or categories since it was read; returns whether it reloaded.
    pub async fn refresh_reference(&self) -> Result<bool, StartupError> {
        let regions = self.store.region_generation().await.map_err(|e| e.to_string())?;
        let organisation = self.store.organisation_generation().await.map_err(|e| e.to_string())?;
        let r = self.reference();
        if regions == r.region_generation && organisation == r.organisation_generation {
            return Ok(false);
        }
        self.reload_reference().await?;
        Ok(true)
    }

    pub fn reference(&self) -> Arc<Reference> {
        self.reference.read().expect("reference lock poisoned").clone()
    }

    /// Replaces the wall clock (tests that need time to pass).
    pub fn with_clock(mut self: Arc<Self>, clock: impl Fn() -> Millis + Send + Sync + 'static) -> Arc<Self> {
        Arc::get_mut(&mut self).expect("set the clock before sharing the app").clock = Box::new(clock);
        self
    }

    /// Replaces the in-process live feed (a feed shared by several server instances).
    pub fn with_live_feed(mut self: Arc<Self>, feed: Arc<dyn LiveFeed>) -> Arc<Self> {
        Arc::get_mut(&mut self).expect("set the live feed before sharing the app").live = feed;
        self
    }

    pub fn now(&self) -> Millis {
        (self.clock)()
    }
}

/// What went wrong starting the server, as a message for the operator.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartupError(String);

impl From<String> for StartupError {
    fn from(s: String) -> Self {
        Self(s)
    }
}

/// The routes of `/api/v1` with their OpenAPI documentation: each module's `router()`, merged.
/// The document served at `/api/v1/openapi.json` is built from these same routers
/// ([`openapi::document`]).
fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(reference::router())
        .merge(accounts::router())
        .merge(media::router())
        .merge(reporting::router())
        .merge(cases::router())
        .merge(events::router())
        .merge(public::router())
        .merge(tracking::router())
        .merge(calendars::router())
        .merge(measures::router())
        .merge(analysis::router())
        .merge(exchange::router())
        .merge(responsibility::router())
        .merge(regions::router())
        .merge(admin::router())
        .merge(triage::router())
        .merge(notices::router())
        .merge(hotline::router())
        .merge(contacts::router())
        .merge(articles::router())
        .merge(consultations::router())
        .merge(proposals::router())
        .merge(participation::router())
        .merge(natives::router())
        .merge(points::router())
        .merge(inspections::router())
        .merge(teams::router())
        .merge(patrols::router())
        .merge(campaigns::router())
        .merge(fieldwork::router())
        .merge(openapi::router())
}

/// The router with every route and middleware.
pub fn router(app: AppState) -> axum::Router {
    use axum::http::{header, HeaderValue, StatusCode};
    use tower_http::set_header::SetResponseHeaderLayer;

    let (api, document) = api().split_for_parts();
    let api = api
        .layer(axum::Extension(openapi::Document::new(document)))
        .fallback(|| async { ApiError::not_found("endpoint") })
        .layer(axum::middleware::map_response(error::problem_for_plain));
    let timeout = std::time::Duration::from_secs(u64::from(app.settings.request_timeout_seconds.max(1)));
    axum::Router::new()
        .nest("/api/v1", api)
        .merge(open311::router(&app))
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .route("/readyz", axum::routing::get(http::ready))
        .merge(portal::router())
        .merge(web::router())
        .layer(axum::extract::DefaultBodyLimit::max(1024 * 1024))
        .layer(axum::middleware::from_fn(http::csrf))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout))
        // Every response: a strict CSP, no sniffing, no framing, no referrer.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; object-src 'none'; frame-ancestors 'none'; base-uri 'self'",
            ),
        ))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(app)
}

/// Serves until ctrl-c or SIGTERM, then finishes the requests in flight.
pub async fn serve(app: AppState, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let retention = tokio::spawn(anonymise_periodically(app.clone()));
    let clocks = tokio::spawn(check_deadlines_periodically(app.clone()));
    let region_watch = tokio::spawn(watch_reference(app.clone()));
    let recent = tokio::spawn(events::keep_recent(app.clone()));
    let anchor = tokio::spawn(write_checkpoints_periodically(app.clone()));
    let model = tokio::spawn(triage::keep_model(app.clone()));
    let patrols = tokio::spawn(patrols::keep_patrols_periodically(app.clone()));
    let notices = app.settings.notices.enabled.then(|| notices::start(app.clone()));
    let closing = app.closing.clone();
    let served = axum::serve(listener, router(app).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            // Live streams never end by themselves; end them so in-flight requests can finish.
            closing.send_replace(true);
        })
        .await;
    retention.abort();
    clocks.abort();
    region_watch.abort();
    recent.abort();
    anchor.abort();
    model.abort();
    patrols.abort();
    if let Some(n) = notices {
        n.abort();
    }
    served
}

/// Keeps the grid index and the reference data current when another process imports regions
/// or changes departments or categories in the same database (`App::refresh_reference`).
async fn watch_reference(app: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(WATCH_SECONDS));
    loop {
        tick.tick().await;
        match app.refresh_reference().await {
            Ok(true) => tracing::info!("regions, departments or categories changed elsewhere; reloaded"),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "checking for reference changes failed; will retry"),
        }
    }
}

/// How often a server checks whether another process (`gridkeeper import`) changed the regions.
const WATCH_SECONDS: u64 = 5;

/// Every minute, runs the case clocks (warnings, overdue marks, escalations), then the
/// inspections' (overdue ones told to their grid members, then their grid leaders).
async fn check_deadlines_periodically(app: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        match app.check_deadlines(app.now()).await {
            Ok((0, 0, 0)) => {}
            Ok((warned, overdue, escalated)) => tracing::info!(warned, overdue, escalated, "case clocks checked"),
            Err(e) => tracing::warn!(error = %e.problem().detail, "checking case clocks failed; will retry"),
        }
        match app.check_inspection_deadlines(app.now()).await {
            Ok(0) => {}
            Ok(told) => tracing::info!(told, "overdue inspections told"),
            Err(e) => tracing::warn!(error = %e.problem().detail, "telling overdue inspections failed; will retry"),
        }
    }
}

/// Every `audit_checkpoints.every_minutes`, writes the audit chain's head where it is anchored.
async fn write_checkpoints_periodically(app: AppState) {
    let Some(checkpoints) = &app.checkpoints else { return };
    let minutes = u64::from(app.settings.audit_checkpoints.every_minutes.max(1));
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60 * minutes));
    loop {
        tick.tick().await;
        match checkpoints.write(&*app.store, app.now()).await {
            Ok(Some(c)) => tracing::info!(entries = c.entries, "audit checkpoint written"),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "writing the audit checkpoint failed; will retry"),
        }
    }
}

/// Once an hour, anonymises the personal data of cases past their retention period.
async fn anonymise_periodically(app: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tick.tick().await;
        match app.anonymise_expired().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(cases = n, "personal data anonymised after the retention period"),
            Err(e) => tracing::warn!(error = %e.problem().detail, "anonymising failed; will retry"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
