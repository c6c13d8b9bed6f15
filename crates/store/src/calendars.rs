//! Working calendars per jurisdiction.

use async_trait::async_trait;
use gridkeeper_domain::{Calendar, Millis, PersonId};
use sqlx::Row;

use crate::dialect::generic;
use crate::{corrupt, json, Result};

#[async_trait]
pub trait CalendarStore: Send + Sync {
    /// Every stored calendar, by district code.
    async fn calendars(&self) -> Result<Vec<(String, Calendar)>>;
    async fn put_calendar(&self, district: &str, calendar: &Calendar, by: Option<PersonId>, now: Millis) -> Result<()>;
}

generic! {
    #[async_trait]
    impl CalendarStore for SqlStore {
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
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::on_both;

    on_both! {
        async fn calendars_round_trip_and_replace(s) {
            assert!(s.calendars().await.unwrap().is_empty());
            let mut c = Calendar::office_hours();
            s.put_calendar("330483", &c, None, 1).await.unwrap();
            c.holidays.insert(chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap());
            s.put_calendar("330483", &c, None, 2).await.unwrap();
            assert_eq!(s.calendars().await.unwrap(), vec![("330483".to_string(), c)]);
        }
    }
}
