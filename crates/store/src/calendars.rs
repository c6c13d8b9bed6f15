//! Working calendars per jurisdiction.

use async_trait::async_trait;
use gridkeeper_domain::{Calendar, Millis, PersonId};

use crate::Result;

#[async_trait]
pub trait CalendarStore: Send + Sync {
    /// Every stored calendar, by district code.
    async fn calendars(&self) -> Result<Vec<(String, Calendar)>>;
    async fn put_calendar(&self, district: &str, calendar: &Calendar, by: Option<PersonId>, now: Millis) -> Result<()>;
}
