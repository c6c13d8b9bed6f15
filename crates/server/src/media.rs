//! Photos: processed (metadata removed, thumbnail made) and kept in the object store.

use bytes::Bytes;
use gridkeeper_domain::{MediaId, PersonId};
use gridkeeper_media::{process, Limits, MediaError};
use gridkeeper_store::Media;
use std::sync::Arc;

use object_store::path::Path;
use object_store::ObjectStore;

use crate::error::{ApiError, ApiResult};
use crate::App;

impl App {
    /// Processes an uploaded image and stores it with its thumbnail. The stored image carries no
    /// EXIF; the GPS position it had is kept as a location suggestion only.
    pub async fn store_photo(&self, field: &str, bytes: Bytes, by: Option<PersonId>) -> ApiResult<Media> {
        let limits = Limits { max_bytes: self.settings.max_photo_mb as usize * 1024 * 1024, ..Limits::default() };
        let processed = tokio::task::spawn_blocking(move || process(&bytes, &limits))
            .await
            .map_err(ApiError::internal)?
            .map_err(|e| match e {
                MediaError::TooLarge { .. } => ApiError::too_large(format!("{field}: {e}")),
                other => ApiError::field(field, other.to_string()),
            })?;
        let id: MediaId = uuid::Uuid::new_v4().to_string();
        let now = self.now();
        let day = chrono::DateTime::from_timestamp_millis(now).unwrap_or_default().format("%Y/%m/%d");
        let ext = if processed.content_type == "image/png" { "png" } else { "jpg" };
        let object_key = format!("{day}/{id}.{ext}");
        let thumb_key = format!("{day}/{id}.thumb.jpg");
        self.media
            .put(&Path::from(object_key.as_str()), Bytes::from(processed.bytes.clone()).into())
            .await
            .map_err(ApiError::internal)?;
        self.media
            .put(&Path::from(thumb_key.as_str()), Bytes::from(processed.thumbnail).into())
            .await
            .map_err(ApiError::internal)?;
        let media = Media {
            id,
            case_id: None,
            content_type: processed.content_type.to_string(),
            width: processed.width,
            height: processed.height,
            bytes: processed.bytes.len() as u64,
            object_key,
            thumb_key,
            gps_lat: processed.gps.map(|g| g.0),
            gps_lon: processed.gps.map(|g| g.1),
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

/// The object store of the photos: the folder `media_dir`, or the S3-compatible store of
/// `media_url` (`s3://BUCKET[/PREFIX]`, configured further by `AWS_*` environment variables).
pub fn open_store(settings: &crate::Settings) -> Result<Arc<dyn ObjectStore>, crate::StartupError> {
    match &settings.media_url {
        None => {
            let dir = &settings.media_dir;
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create media folder {}: {e}", dir.display()))?;
            let local = object_store::local::LocalFileSystem::new_with_prefix(dir)
                .map_err(|e| format!("cannot open media folder {}: {e}", dir.display()))?;
            Ok(Arc::new(local))
        }
        Some(url) => {
            let rest = url
                .strip_prefix("s3://")
                .ok_or_else(|| format!("server.media_url `{url}`: write it as s3://BUCKET or s3://BUCKET/PREFIX"))?;
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!("server.media_url `{url}` names no bucket").into());
            }
            let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
            for (key, value) in &settings.media_options {
                let key: object_store::aws::AmazonS3ConfigKey =
                    key.parse().map_err(|e| format!("server.media_options: `{key}`: {e}"))?;
                builder = builder.with_config(key, value);
            }
            let s3 = builder.build().map_err(|e| format!("cannot configure the S3 store of {url}: {e}"))?;
            let prefix = prefix.trim_matches('/');
            Ok(if prefix.is_empty() {
                Arc::new(s3)
            } else {
                Arc::new(object_store::prefix::PrefixStore::new(s3, prefix))
            })
        }
    }
}
