//! Intelligent triage: the history a category model learns from, the trained models, the
//! suggestion recorded for each case (and so the accuracy of suggestions in production), and the
//! daily counts of reports that surges are tested on.

use async_trait::async_trait;
use gridkeeper_domain::{CaseId, CategoryId, DepartmentId, Millis, PersonId, RegionCode, HOUR};
use serde::Serialize;
use sqlx::Row;

use crate::dialect::generic;
use crate::registry::push_under;
use crate::sql::Sql;
use crate::{unsigned, Result};

/// A decided case as a training example: what the reporter wrote, the category the center chose,
/// where it lies and the department it was dispatched to.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingCase {
    pub id: CaseId,
    pub description: String,
    pub category: CategoryId,
    /// The grid (or the district outside every grid).
    pub scope_region: String,
    pub lead_department: Option<DepartmentId>,
}

/// A model to store.
#[derive(Debug, Clone)]
pub struct NewTriageModel<'a> {
    pub trained_at: Millis,
    pub trained_by: Option<PersonId>,
    pub examples: u64,
    pub format: u16,
    pub model: &'a [u8],
    /// The departments' tally as JSON.
    pub departments: &'a str,
}

/// A stored model.
#[derive(Debug, Clone, PartialEq)]
pub struct TriageModelRow {
    pub id: i64,
    pub trained_at: Millis,
    pub trained_by: Option<PersonId>,
    pub examples: u64,
    pub format: u16,
    pub model: Vec<u8>,
    pub departments: String,
}

/// The first suggestion shown for a case.
#[derive(Debug, Clone, PartialEq)]
pub struct SuggestionRecord {
    pub case: CaseId,
    pub at: Millis,
    pub model: i64,
    /// The most probable categories, first first (one to three).
    pub categories: Vec<CategoryId>,
    /// The probability of the first.
    pub probability: f64,
    /// The department suggested for the first category.
    pub department: Option<DepartmentId>,
}

/// How the suggestions recorded in a period fared, once the center decided their cases.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SuggestionTally {
    /// Cases a suggestion was recorded for.
    pub suggested: u64,
    /// Of those, cases the center has put into a category.
    pub decided: u64,
    /// Decided into the first category suggested.
    pub first_taken: u64,
    /// Decided into one of the three suggested.
    pub top3_taken: u64,
    /// Decided into the first category and dispatched, with a department suggested.
    pub department_decided: u64,
    /// Of those, dispatched to the department suggested.
    pub department_taken: u64,
}

/// Reports of one grid and category on one local day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyCount {
    /// The grid (or the district outside every grid).
    pub scope_region: String,
    /// The category decided, else the one the reporter suggested; `None` when neither.
    pub category: Option<CategoryId>,
    /// Local days since 1970-01-01.
    pub day: i64,
    pub count: u32,
}

/// How many models are kept: the one in use and the ones before it.
const MODELS_KEPT: i64 = 3;

#[async_trait]
pub trait TriageStore: Send + Sync {
    /// The newest cases put into a category (accepted, or handled on the spot), newest first, at
    /// most `limit`, with a description to learn from.
    async fn training_cases(&self, limit: u32) -> Result<Vec<TrainingCase>>;
    /// Stores a model and forgets all but the newest few; returns its id.
    async fn put_triage_model(&self, m: &NewTriageModel<'_>) -> Result<i64>;
    /// The newest model.
    async fn triage_model(&self) -> Result<Option<TriageModelRow>>;
    /// The id of the newest model (cheap: for instances checking whether another retrained).
    async fn triage_model_id(&self) -> Result<Option<i64>>;
    /// Records the first suggestion shown for a case; a later one for the same case is ignored
    /// (returns `false`).
    async fn record_suggestion(&self, s: &SuggestionRecord) -> Result<bool>;
    /// How the suggestions recorded in `[from, to)` for cases under `under` fared.
    async fn suggestion_tally(&self, under: Option<&RegionCode>, from: Millis, to: Millis) -> Result<SuggestionTally>;
    /// Reports per grid, category and local day, reported in `[from, to)` under `under`.
    async fn daily_report_counts(
        &self,
        under: &RegionCode,
        from: Millis,
        to: Millis,
        utc_offset_hours: i32,
    ) -> Result<Vec<DailyCount>>;
}

generic! {
    #[async_trait]
    impl TriageStore for SqlStore {
        async fn training_cases(&self, limit: u32) -> Result<Vec<TrainingCase>> {
            let rows = sqlx::query(
                "SELECT id, description, category, scope_region, lead_department FROM cases \
                 WHERE category IS NOT NULL AND description <> '' ORDER BY id DESC LIMIT $1",
            )
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(TrainingCase {
                        id: r.try_get("id")?,
                        description: r.try_get("description")?,
                        category: r.try_get("category")?,
                        scope_region: r.try_get("scope_region")?,
                        lead_department: r.try_get("lead_department")?,
                    })
                })
                .collect()
        }

        async fn put_triage_model(&self, m: &NewTriageModel<'_>) -> Result<i64> {
            let mut tx = self.begin_write().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO triage_models (trained_at, trained_by, examples, format, model, departments) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(m.trained_at)
            .bind(m.trained_by)
            .bind(i64::try_from(m.examples).unwrap_or(i64::MAX))
            .bind(i32::from(m.format))
            .bind(m.model.to_vec())
            .bind(m.departments)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM triage_models WHERE id <= $1")
                .bind(id - MODELS_KEPT)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(id)
        }

        async fn triage_model(&self) -> Result<Option<TriageModelRow>> {
            let row = sqlx::query(
                "SELECT id, trained_at, trained_by, examples, format, model, departments FROM triage_models \
                 ORDER BY id DESC LIMIT 1",
            )
            .fetch_optional(&self.pool)
            .await?;
            row.map(|r| {
                let examples: i64 = r.try_get("examples")?;
                let format: i32 = r.try_get("format")?;
                Ok(TriageModelRow {
                    id: r.try_get("id")?,
                    trained_at: r.try_get("trained_at")?,
                    trained_by: r.try_get("trained_by")?,
                    examples: u64::try_from(examples).unwrap_or(0),
                    // A format number that does not fit is read as 0: a format no build reads,
                    // so the model is rebuilt rather than trusted.
                    format: u16::try_from(format).unwrap_or(0),
                    model: r.try_get("model")?,
                    departments: r.try_get("departments")?,
                })
            })
            .transpose()
        }

        async fn triage_model_id(&self) -> Result<Option<i64>> {
            Ok(sqlx::query_scalar("SELECT max(id) FROM triage_models").fetch_one(&self.pool).await?)
        }

        async fn record_suggestion(&self, s: &SuggestionRecord) -> Result<bool> {
            let Some(&first) = s.categories.first() else { return Ok(false) };
            let done = sqlx::query(
                "INSERT INTO triage_suggestions (case_id, at, model_id, first, second, third, probability, department) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (case_id) DO NOTHING",
            )
            .bind(s.case)
            .bind(s.at)
            .bind(s.model)
            .bind(first)
            .bind(s.categories.get(1).copied())
            .bind(s.categories.get(2).copied())
            .bind(s.probability)
            .bind(s.department)
            .execute(&self.pool)
            .await?;
            Ok(D::rows_affected(&done) == 1)
        }

        async fn suggestion_tally(&self, under: Option<&RegionCode>, from: Millis, to: Millis) -> Result<SuggestionTally> {
            let mut b = Sql::new(
                "SELECT count(*) AS suggested, \
                 count(*) FILTER (WHERE c.category IS NOT NULL) AS decided, \
                 count(*) FILTER (WHERE c.category = s.first) AS first_taken, \
                 count(*) FILTER (WHERE c.category IN (s.first, s.second, s.third)) AS top3_taken, \
                 count(*) FILTER (WHERE c.category = s.first AND s.department IS NOT NULL \
                     AND c.lead_department IS NOT NULL) AS department_decided, \
                 count(*) FILTER (WHERE c.category = s.first AND c.lead_department = s.department) AS department_taken \
                 FROM triage_suggestions s JOIN cases c ON c.id = s.case_id WHERE s.at >= ",
            );
            b.push_bind(from).push(" AND s.at < ").push_bind(to);
            push_under(&mut b, "c.scope_region", under);
            let r = Self::query_of(&b).fetch_one(&self.pool).await?;
            let n = |c: &str| -> Result<u64> { Ok(u64::from(unsigned(r.try_get(c)?)?)) };
            Ok(SuggestionTally {
                suggested: n("suggested")?,
                decided: n("decided")?,
                first_taken: n("first_taken")?,
                top3_taken: n("top3_taken")?,
                department_decided: n("department_decided")?,
                department_taken: n("department_taken")?,
            })
        }

        async fn daily_report_counts(
            &self,
            under: &RegionCode,
            from: Millis,
            to: Millis,
            utc_offset_hours: i32,
        ) -> Result<Vec<DailyCount>> {
            let offset = i64::from(utc_offset_hours) * HOUR;
            let mut b = Sql::new(
                "SELECT scope_region, coalesce(category, suggested_category) AS category, \
                 (reported_at + ",
            );
            b.push_bind(offset).push(format!(") / {} AS day, count(*) AS n FROM cases WHERE reported_at >= ", 24 * HOUR));
            b.push_bind(from).push(" AND reported_at < ").push_bind(to);
            push_under(&mut b, "scope_region", Some(under));
            b.push(" GROUP BY scope_region, coalesce(category, suggested_category), day");
            let rows = Self::query_of(&b).fetch_all(&self.pool).await?;
            rows.iter()
                .map(|r| {
                    Ok(DailyCount {
                        scope_region: r.try_get("scope_region")?,
                        category: r.try_get("category")?,
                        day: r.try_get("day")?,
                        count: unsigned(r.try_get("n")?)?,
                    })
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::on_both;

    on_both! {
        async fn models_round_trip_and_only_the_newest_are_kept(s) {
            assert_eq!(s.triage_model().await.unwrap(), None);
            assert_eq!(s.triage_model_id().await.unwrap(), None);
            let mut last = 0;
            for i in 0..5u8 {
                let bytes = vec![i; 1000 + usize::from(i)];
                let m = NewTriageModel { trained_at: i64::from(i), trained_by: None, examples: 40, format: 1, model: &bytes, departments: "{}" };
                last = s.put_triage_model(&m).await.unwrap();
            }
            let m = s.triage_model().await.unwrap().unwrap();
            assert_eq!((m.id, m.trained_at, m.examples, m.format, m.model.len()), (last, 4, 40, 1, 1004));
            assert!(m.model.iter().all(|b| *b == 4));
            assert_eq!(s.triage_model_id().await.unwrap(), Some(last));
        }
    }
}
