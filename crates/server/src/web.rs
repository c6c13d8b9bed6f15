//! The web application: the built assets of `web/` (Vue + Vite, see `web/README.md`), embedded
//! in the binary at compile time and served at `/`.
//!
//! - A file of `web/dist` is served as it is, gzipped when the client accepts it and the build
//!   wrote a `.gz` twin; hashed files under `/assets/` are cached for a year, everything else is
//!   revalidated (`ETag` = the file's SHA-256).
//! - Any other `GET` path that does not look like a file is a route of the single-page app and
//!   gets `index.html` (the SPA fallback) — but never under `/api`, `/open311`, `/portal`, `/healthz`,
//!   `/readyz` or `/metrics`, which answer 404 as the API does.
//! - `index.html` carries the configured map tile layer (`[server.web] tile_url`) in a `<meta>`
//!   tag, and its Content-Security-Policy then allows images from that one origin; otherwise the
//!   server's strict CSP (`default-src 'self'`, no inline scripts) applies unchanged.
//!
//! `crates/server/build.rs` runs `npm ci && npm run build` in `web/` when `web/dist` is missing or
//! older than the sources, so a plain `cargo build` embeds a current app.

use std::borrow::Cow;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rust_embed::Embed;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::AppState;

/// The `[server.web]` section: how the web application is served.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebSettings {
    /// URL template of a map tile layer, e.g. `https://tiles.example.org/{z}/{x}/{y}.png`. Maps draw
    /// grids and cases from GeoJSON without one; none by default.
    pub tile_url: Option<String>,
    /// Attribution shown with the tiles (required by most tile providers).
    pub tile_attribution: Option<String>,
}

#[derive(Embed)]
#[folder = "../../web/dist/"]
#[allow_missing = true]
struct Assets;

/// The same policy as every other response (see `crate::router` in lib.rs), plus the tile origin when set.
const CSP: &str =
    "default-src 'self'; img-src 'self' data: blob:{TILES}; media-src 'self' blob:; object-src 'none'; frame-ancestors 'none'; base-uri 'self'";

/// Paths that belong to the server, never to the web app.
const SERVER_PREFIXES: &[&str] = &["api", "open311", "healthz", "readyz", "metrics", "portal"];

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(index)).fallback(fallback)
}

async fn index(State(app): State<AppState>, headers: HeaderMap) -> Response {
    serve_index(&app, &headers)
}

async fn fallback(State(app): State<AppState>, req: Request) -> Response {
    let path = req.uri().path().trim_start_matches('/');
    let first = path.split('/').next().unwrap_or_default();
    if SERVER_PREFIXES.contains(&first) {
        return ApiError::not_found("endpoint").into_response();
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return ApiError::not_found("endpoint").into_response();
    }
    if path.split('/').any(|seg| seg == ".." || seg.starts_with('.')) {
        return ApiError::not_found("file").into_response();
    }
    if let Some(resp) = serve_file(path, req.headers()) {
        return resp;
    }
    // A missing asset stays a 404: answering index.html would hide a stale or broken build.
    let last = path.rsplit('/').next().unwrap_or_default();
    if path.starts_with("assets/") || last.contains('.') {
        return ApiError::not_found("file").into_response();
    }
    serve_index(&app, req.headers())
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    // `gzip` or `*`, unless given a quality of zero.
    let accepted = |coding: &str| {
        let mut parts = coding.split(';');
        let name = parts.next().unwrap_or_default().trim();
        let zero = parts.any(|p| p.replace(' ', "").strip_prefix("q=").is_some_and(|q| q.parse() == Ok(0.0)));
        (name == "gzip" || name == "*") && !zero
    };
    let values = headers.get_all(header::ACCEPT_ENCODING);
    values.iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(accepted)
}

fn etag_of(file: &rust_embed::EmbeddedFile, gzipped: bool) -> String {
    let hash = file.metadata.sha256_hash();
    format!("\"{}{}\"", hex::encode(&hash[..16]), if gzipped { "-gz" } else { "" })
}

fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

/// Serves one embedded file, or `None` when there is no such file.
fn serve_file(path: &str, headers: &HeaderMap) -> Option<Response> {
    let file = Assets::get(path)?;
    let content_type = file.metadata.mimetype().to_string();
    let gz = if accepts_gzip(headers) { Assets::get(&format!("{path}.gz")) } else { None };
    let (body, gzipped) = match gz {
        Some(g) => (g, true),
        None => (file, false),
    };
    let etag = etag_of(&body, gzipped);
    let cache = if path.starts_with("assets/") { "public, max-age=31536000, immutable" } else { "no-cache" };
    let mut h = HeaderMap::new();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if not_modified(headers, &etag) {
        return Some((StatusCode::NOT_MODIFIED, h).into_response());
    }
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if gzipped {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    Some((h, body.data).into_response())
}

/// `index.html`, with the tile layer settings and the matching CSP; never cached without
/// revalidation, so a new build is picked up at once.
fn serve_index(app: &AppState, headers: &HeaderMap) -> Response {
    let Some(file) = Assets::get("index.html") else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "gridkeeper — the web app was not built into this binary (build it with `npm ci && npm run build` \
             in web/, then rebuild). The JSON API lives under /api/v1.\n",
        )
            .into_response();
    };
    let web = &app.settings.web;
    let tiles = web.tile_url.as_deref().map(str::trim).filter(|u| !u.is_empty());
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let csp = CSP.replace("{TILES}", &tiles.and_then(tile_origin).map(|o| format!(" {o}")).unwrap_or_default());
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    let body: Cow<'static, [u8]> = match tiles {
        None => {
            let etag = etag_of(&file, false);
            if not_modified(headers, &etag) {
                return (StatusCode::NOT_MODIFIED, h).into_response();
            }
            if let Ok(v) = HeaderValue::from_str(&etag) {
                h.insert(header::ETAG, v);
            }
            file.data
        }
        Some(url) => {
            let html = String::from_utf8_lossy(&file.data);
            let meta = format!(
                "<meta name=\"gk-tile-url\" content=\"{}\" />\n    <meta name=\"gk-tile-attribution\" content=\"{}\" />\n  </head>",
                escape_attr(url),
                escape_attr(web.tile_attribution.as_deref().unwrap_or_default())
            );
            Cow::Owned(html.replacen("</head>", &meta, 1).into_bytes())
        }
    };
    (h, body).into_response()
}

/// The origin to allow in `img-src` for a tile URL template: `https://{s}.tile.example.org/...`
/// allows `https://*.tile.example.org`. `None` for a URL that is not http(s).
fn tile_origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let host = rest.split('/').next().unwrap_or_default();
    let host = host.replace("{s}", "*");
    if host.is_empty() || host.contains(['{', '}', ' ', ';', '\'', '"']) {
        return Some(format!("{scheme}:"));
    }
    Some(format!("{scheme}://{host}"))
}

fn escape_attr(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;").replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_origins() {
        assert_eq!(tile_origin("https://{s}.tile.example.org/{z}/{x}/{y}.png").unwrap(), "https://*.tile.example.org");
        assert_eq!(
            tile_origin("https://tiles.example.org:8443/{z}/{x}/{y}.png").unwrap(),
            "https://tiles.example.org:8443"
        );
        assert_eq!(tile_origin("https://{a}.example.org/{z}").unwrap(), "https:");
        assert!(tile_origin("javascript:alert(1)").is_none());
        assert!(tile_origin("data:image/png;base64,xx").is_none());
    }

    #[test]
    fn gzip_negotiation() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
            accepts_gzip(&h)
        };
        assert!(with("gzip, deflate, br"));
        assert!(with("br;q=1.0, gzip;q=0.8"));
        assert!(with("*"));
        assert!(!with("gzip;q=0"));
        assert!(!with("br, deflate"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn attributes_are_escaped() {
        assert_eq!(escape_attr(r#"a"><script>&'"#), "a&quot;&gt;&lt;script&gt;&amp;&#39;");
    }
}
