//! Photos: uploaded, processed (metadata removed, thumbnail made), kept in the object store, and
//! served to those who may see them (`/media`).

use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use gridkeeper_domain::{LatLon, MediaId, PersonId};
use gridkeeper_media::{process, Limits, MediaError};
use gridkeeper_store::Media;
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use object_store::path::Path;
use object_store::ObjectStore;

use crate::auth::MaybeAuth;
use crate::error::{ApiError, ApiResult};
use crate::http::{multipart_error, upload_body};
use crate::{App, AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload_media).layer(DefaultBodyLimit::disable()))
        .routes(routes!(media_original))
        .routes(routes!(media_thumbnail))
}

/// A stored photo.
#[derive(Serialize, ToSchema)]
pub struct MediaView {
    pub id: String,
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    pub url: String,
    pub thumbnail_url: String,
    /// The EXIF GPS position of the photo, as a suggestion.
    pub suggested_location: Option<LatLon>,
}

impl MediaView {
    pub fn of(m: &Media) -> Self {
        MediaView {
            id: m.id.clone(),
            content_type: m.content_type.clone(),
            width: m.width,
            height: m.height,
            bytes: m.bytes,
            url: format!("/api/v1/media/{}", m.id),
            thumbnail_url: format!("/api/v1/media/{}/thumbnail", m.id),
            suggested_location: m.gps_lat.zip(m.gps_lon).map(|(lat, lon)| LatLon { lat, lon }),
        }
    }
}

/// More than one photo uploaded at once.
#[derive(Serialize, ToSchema)]
pub struct MediaList {
    pub items: Vec<MediaView>,
}

/// The answer to an upload: the photo, or with several files, the list.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum Uploaded {
    One(MediaView),
    Many(MediaList),
}

/// `POST /media` as multipart/form-data.
#[derive(ToSchema, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct MediaUpload {
    /// A JPEG, PNG or WebP image; or a voice recording (M4A, WebM, MP3, Ogg, WAV; at most
    /// `max_audio_mb`) or a short video (MP4, QuickTime, WebM; at most `max_video_mb`).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

#[utoipa::path(post, path = "/media", tag = "media", summary = "Upload a photo, a voice recording or a video; its metadata is removed", security((), ("bearer" = []), ("session_cookie" = [])),
    request_body(content = MediaUpload, description = "An image, recording or video in `file` (or `photo`; several at once are allowed); its metadata is removed (a recording's where its container allows)", content_type = "multipart/form-data"),
    responses((status = 201, description = "The stored file; with several files, `{ items: [...] }`", body = Uploaded), (status = 413, description = "The upload is too large")))]
async fn upload_media(
    State(app): State<AppState>,
    auth: MaybeAuth,
    req: Request,
) -> ApiResult<(StatusCode, Json<Uploaded>)> {
    let req = upload_body(&app, req);
    let mut mp = Multipart::from_request(req, &app).await.map_err(crate::http::multipart_rejection)?;
    let by = auth.0.map(|a| a.person.id);
    let mut out = vec![];
    while let Some(field) = mp.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_string();
        if name != "file" && name != "photo" {
            return Err(ApiError::field(&name, "unknown field; send the image as `file`"));
        }
        let declared = field.content_type().map(str::to_string);
        let bytes = field.bytes().await.map_err(multipart_error)?;
        out.push(MediaView::of(&app.store_upload(&name, bytes, declared.as_deref(), by).await?));
        if out.len() > gridkeeper_domain::MAX_PHOTOS {
            return Err(ApiError::field("file", format!("at most {} photos at once", gridkeeper_domain::MAX_PHOTOS)));
        }
    }
    match out.len() {
        0 => Err(ApiError::field("file", "no image was sent")),
        1 => Ok((StatusCode::CREATED, Json(Uploaded::One(out.remove(0))))),
        _ => Ok((StatusCode::CREATED, Json(Uploaded::Many(MediaList { items: out })))),
    }
}

async fn media_file(app: &AppState, auth: MaybeAuth, id: &str, thumb: bool) -> ApiResult<Response> {
    let m = app.store.media(id).await?.ok_or_else(|| ApiError::not_found("photo"))?;
    let actor = auth.0.map(|a| a.actor).unwrap_or_default();
    let visible = match m.case_id {
        // Not yet part of a report: only its uploader sees it (an anonymous upload, nobody:
        // the reporter's phone previews what it sent), or anyone when it is the cover of a live
        // article.
        None => {
            (m.uploaded_by.is_some() && m.uploaded_by == actor.person)
                || app.store.is_live_cover(&m.id, app.now()).await?
                // A grid member's card photo is public, as the card is.
                || app.store.is_card_photo(id).await?
        }
        Some(case) => match app.store.case(case).await? {
            Some(c) => gridkeeper_domain::can_see(&actor, &c) || crate::public::public_visible(&c),
            None => false,
        },
    };
    if !visible {
        return Err(ApiError::not_found("photo"));
    }
    if thumb && m.thumb_key.is_empty() {
        return Err(ApiError::not_found("thumbnail (a recording has none)"));
    }
    let bytes = app.photo_bytes(&m, thumb).await?;
    let ct = if thumb { "image/jpeg" } else { m.content_type.as_str() };
    Ok(([(header::CONTENT_TYPE, ct.to_string()), (header::CACHE_CONTROL, "private, max-age=86400".into())], bytes)
        .into_response())
}

#[utoipa::path(get, path = "/media/{id}", tag = "media", summary = "A photo", security((), ("bearer" = []), ("session_cookie" = [])),
    params(("id" = String, Path, description = "Photo id")),
    responses((status = 200, description = "The image (JPEG, PNG or WebP), recording or video", content_type = "*/*"), (status = 404, description = "Not found, or outside one's scope")))]
async fn media_original(
    State(app): State<AppState>,
    auth: MaybeAuth,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> ApiResult<Response> {
    media_file(&app, auth, &id, false).await
}

#[utoipa::path(get, path = "/media/{id}/thumbnail", tag = "media", summary = "A photo's thumbnail", security((), ("bearer" = []), ("session_cookie" = [])),
    params(("id" = String, Path, description = "Photo id")),
    responses((status = 200, description = "A JPEG thumbnail", content_type = "image/jpeg"), (status = 404, description = "Not found, or outside one's scope")))]
async fn media_thumbnail(
    State(app): State<AppState>,
    auth: MaybeAuth,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> ApiResult<Response> {
    media_file(&app, auth, &id, true).await
}

impl App {
    /// Stores an upload: a recording (audio or video, recognised by its bytes) or else a photo.
    pub async fn store_upload(
        &self,
        field: &str,
        bytes: Bytes,
        declared: Option<&str>,
        by: Option<PersonId>,
    ) -> ApiResult<Media> {
        if gridkeeper_media::is_recording(&bytes) {
            self.store_recording(field, bytes, declared, by).await
        } else {
            self.store_photo(field, bytes, by).await
        }
    }

    /// Checks a voice recording or video, neutralises its metadata where the container allows,
    /// and stores it (no thumbnail).
    pub async fn store_recording(
        &self,
        field: &str,
        bytes: Bytes,
        declared: Option<&str>,
        by: Option<PersonId>,
    ) -> ApiResult<Media> {
        let limits = gridkeeper_media::RecordingLimits {
            max_audio_bytes: self.settings.max_audio_mb as usize * 1024 * 1024,
            max_video_bytes: self.settings.max_video_mb as usize * 1024 * 1024,
        };
        let declared = declared.map(str::to_string);
        let r = tokio::task::spawn_blocking(move || {
            gridkeeper_media::process_recording(&bytes, declared.as_deref(), &limits)
        })
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| upload_refusal(field, e))?;
        let ext = r.content_type.rsplit('/').next().unwrap_or("bin");
        let stored =
            Stored { content_type: r.content_type, ext, bytes: r.bytes, thumbnail: None, size: (0, 0), gps: None };
        self.keep(stored, by).await
    }

    /// Processes an uploaded image and stores it with its thumbnail. The stored image carries no
    /// EXIF; the GPS position it had is kept as a location suggestion only.
    pub async fn store_photo(&self, field: &str, bytes: Bytes, by: Option<PersonId>) -> ApiResult<Media> {
        let limits = Limits { max_bytes: self.settings.max_photo_mb as usize * 1024 * 1024, ..Limits::default() };
        let processed = tokio::task::spawn_blocking(move || process(&bytes, &limits))
            .await
            .map_err(ApiError::internal)?
            .map_err(|e| upload_refusal(field, e))?;
        let stored = Stored {
            content_type: processed.content_type,
            ext: if processed.content_type == "image/png" { "png" } else { "jpg" },
            bytes: processed.bytes,
            thumbnail: Some(processed.thumbnail),
            size: (processed.width, processed.height),
            gps: processed.gps,
        };
        self.keep(stored, by).await
    }

    /// Writes a processed upload (and its thumbnail) to the object store and records it.
    async fn keep(&self, s: Stored, by: Option<PersonId>) -> ApiResult<Media> {
        let id: MediaId = uuid::Uuid::new_v4().to_string();
        let now = self.now();
        let day = chrono::DateTime::from_timestamp_millis(now).unwrap_or_default().format("%Y/%m/%d");
        let object_key = format!("{day}/{id}.{}", s.ext);
        let size = s.bytes.len() as u64;
        self.media
            .put(&Path::from(object_key.as_str()), Bytes::from(s.bytes).into())
            .await
            .map_err(ApiError::internal)?;
        let thumb_key = match s.thumbnail {
            Some(thumb) => {
                let key = format!("{day}/{id}.thumb.jpg");
                self.media
                    .put(&Path::from(key.as_str()), Bytes::from(thumb).into())
                    .await
                    .map_err(ApiError::internal)?;
                key
            }
            // A recording has no thumbnail.
            None => String::new(),
        };
        let media = Media {
            id,
            case_id: None,
            content_type: s.content_type.to_string(),
            width: s.size.0,
            height: s.size.1,
            bytes: size,
            object_key,
            thumb_key,
            gps_lat: s.gps.map(|g| g.0),
            gps_lon: s.gps.map(|g| g.1),
            uploaded_by: by,
            created_at: now,
        };
        self.store.insert_media(&media).await?;
        Ok(media)
    }

    /// The bytes of a stored photo or its thumbnail.
    pub async fn photo_bytes(&self, m: &Media, thumb: bool) -> ApiResult<Bytes> {
        let key = if thumb { &m.thumb_key } else { &m.object_key };
        let got = self.media.get(&Path::from(key.as_str())).await.map_err(ApiError::internal)?;
        got.bytes().await.map_err(ApiError::internal)
    }
}

/// An upload made ready to store.
struct Stored {
    content_type: &'static str,
    ext: &'static str,
    bytes: Vec<u8>,
    thumbnail: Option<Vec<u8>>,
    /// Width and height in pixels (0 for a recording).
    size: (u32, u32),
    gps: Option<(f64, f64)>,
}

/// Why an upload was refused, as an answer: 413 too large, 415 not a format kept, else 422.
fn upload_refusal(field: &str, e: MediaError) -> ApiError {
    match e {
        MediaError::TooLarge { .. } => ApiError::too_large(format!("{field}: {e}")),
        MediaError::NotAnImage | MediaError::NotARecording | MediaError::Unsupported(_) => {
            let mut p = ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                format!("{field}: {e}"),
            );
            p.set_field(field, e.to_string());
            p
        }
        other => ApiError::field(field, other.to_string()),
    }
}

/// The object store of the photos: the folder `media_dir`, or the S3-compatible store of
/// `media_url` (`s3://BUCKET[/PREFIX]`, configured further by `AWS_*` environment variables).
pub fn open_store(settings: &crate::Settings) -> Result<Arc<dyn ObjectStore>, crate::StartupError> {
    match &settings.media_url {
        None => object_store_at(&settings.media_dir.to_string_lossy(), settings, "server.media_dir"),
        Some(url) if url.starts_with("s3://") => object_store_at(url, settings, "server.media_url"),
        Some(url) => Err(format!("server.media_url `{url}`: write it as s3://BUCKET or s3://BUCKET/PREFIX").into()),
    }
}

/// The object store at `location`: `s3://BUCKET[/PREFIX]` (configured further by the `AWS_*`
/// environment variables and `media_options`), or else a local folder, created if missing.
/// `setting` names where `location` came from, for the errors.
pub fn object_store_at(
    location: &str,
    settings: &crate::Settings,
    setting: &str,
) -> Result<Arc<dyn ObjectStore>, crate::StartupError> {
    let Some(rest) = location.strip_prefix("s3://") else {
        std::fs::create_dir_all(location).map_err(|e| format!("{setting}: cannot create folder {location}: {e}"))?;
        let local = object_store::local::LocalFileSystem::new_with_prefix(location)
            .map_err(|e| format!("{setting}: cannot open folder {location}: {e}"))?;
        return Ok(Arc::new(local));
    };
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(format!("{setting} `{location}` names no bucket").into());
    }
    let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
    for (key, value) in &settings.media_options {
        let key: object_store::aws::AmazonS3ConfigKey =
            key.parse().map_err(|e| format!("server.media_options: `{key}`: {e}"))?;
        builder = builder.with_config(key, value);
    }
    let s3 = builder.build().map_err(|e| format!("{setting}: cannot configure the S3 store of {location}: {e}"))?;
    let prefix = prefix.trim_matches('/');
    Ok(if prefix.is_empty() { Arc::new(s3) } else { Arc::new(object_store::prefix::PrefixStore::new(s3, prefix)) })
}
