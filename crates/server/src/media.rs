//! Photos: processed (metadata removed, thumbnail made) and kept in the object store.

use bytes::Bytes;
use gridkeeper_domain::{MediaId, PersonId};
use gridkeeper_media::{process, Limits, MediaError};
use gridkeeper_store::Media;
use object_store::path::Path;

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
