//! [`CalendarStore`] for PostgreSQL.

use async_trait::async_trait;
use gridkeeper_domain::{Calendar, Millis, PersonId};
use sqlx::Row;

use crate::calendars::CalendarStore;
use crate::pg::PgStore;
use crate::sqlite::{corrupt, json};
use crate::Result;

#[async_trait]
impl CalendarStore for PgStore {
    async fn calendars(&self) -> Result<Vec<(String, Calendar)>> {
        let rows =
            sqlx::query("SELECT district, calendar FROM calendars ORDER BY district").fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let text: String = r.try_get("calendar")?;
                Ok((r.try_get("district")?, serde_json::from_str(&text).map_err(corrupt)?))
            })
            .collect()
    }

    async fn put_calendar(&self, district: &str, calendar: &Calendar, by: Option<PersonId>, now: Millis) -> Result<()> {
        sqlx::query(
            "INSERT INTO calendars (district, calendar, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (district) DO UPDATE SET calendar = excluded.calendar, updated_at = excluded.updated_at, \
             updated_by = excluded.updated_by",
        )
        .bind(district)
        .bind(json(calendar))
        .bind(now)
        .bind(by)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
