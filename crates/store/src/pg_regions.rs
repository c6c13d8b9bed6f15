//! [`RegionStore`] for PostgreSQL.

use async_trait::async_trait;
use gridkeeper_domain::{FieldError, Millis, Region, RegionCode, Role};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row};

use crate::pg::{push_prefix, PgStore};
use crate::regions::{
    Assignment, AssignmentQuery, GridFigures, ImportRecord, LineageRecord, NewAssignment, RegionHistory, RegionImport,
    RegionRecord, RegionStore, RegionVersion,
};
use crate::sqlite::{corrupt, json, parse_field};
use crate::{Result, StoreError};

fn record_row(r: &PgRow) -> Result<RegionRecord> {
    let geometry: Option<String> = r.try_get("geometry")?;
    Ok(RegionRecord {
        region: Region {
            code: parse_field(RegionCode::parse(r.try_get("code")?))?,
            name: r.try_get("name")?,
            name_en: r.try_get("name_en")?,
            geometry: geometry.map(|g| serde_json::from_str(&g)).transpose().map_err(corrupt)?,
        },
        key: r.try_get("source_key")?,
        derived: r.try_get("derived")?,
        retired_at: r.try_get("retired_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn value(r: &PgRow, column: &str) -> Result<serde_json::Value> {
    let text: String = r.try_get(column)?;
    serde_json::from_str(&text).map_err(corrupt)
}

fn assignment_row(r: &PgRow) -> Result<Assignment> {
    Ok(Assignment {
        id: r.try_get("id")?,
        person: r.try_get("person_id")?,
        region: parse_field(RegionCode::parse(r.try_get("region")?))?,
        role: parse_field(Role::parse(r.try_get("role")?))?,
        starts_at: r.try_get("starts_at")?,
        ends_at: r.try_get("ends_at")?,
        created_at: r.try_get("created_at")?,
        created_by: r.try_get("created_by")?,
    })
}

fn lineage_row(r: &PgRow) -> Result<LineageRecord> {
    Ok(LineageRecord {
        import_id: r.try_get("import_id")?,
        at: r.try_get("at")?,
        from: parse_field(RegionCode::parse(r.try_get("from_code")?))?,
        to: parse_field(RegionCode::parse(r.try_get("to_code")?))?,
        area_m2: r.try_get("area_m2")?,
    })
}

const RECORD_COLUMNS: &str = "code, name, name_en, geometry, source_key, derived, retired_at, updated_at";
const ASSIGNMENT_COLUMNS: &str = "id, person_id, region, role, starts_at, ends_at, created_at, created_by";
const OPEN: &str = "state NOT IN ('closed', 'rated', 'rejected')";

fn invalid(field: &str, reason: impl Into<String>) -> StoreError {
    StoreError::Invalid(FieldError::new(field, reason))
}

#[async_trait]
impl RegionStore for PgStore {
    async fn region_records(&self) -> Result<Vec<RegionRecord>> {
        sqlx::query(&format!("SELECT {RECORD_COLUMNS} FROM regions ORDER BY code"))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(record_row)
            .collect()
    }

    #[tracing::instrument(skip_all, fields(source = i.source, regions = i.regions.len(), retire = i.retire.len()))]
    async fn apply_region_import(&self, i: &RegionImport<'_>) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        // One import at a time (an import is planned against the tree as it was read).
        sqlx::query("LOCK TABLE regions IN SHARE ROW EXCLUSIVE MODE").execute(&mut *tx).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO region_imports (at, by_person, source, options, summary, report) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(i.at)
        .bind(i.by)
        .bind(i.source)
        .bind(json(&i.options))
        .bind(json(&i.summary))
        .bind(json(&i.report))
        .fetch_one(&mut *tx)
        .await?;
        for w in i.regions {
            let r = &w.region;
            let geometry = r.geometry.as_ref().map(|g| g.to_string());
            let before = sqlx::query("SELECT name, geometry, updated_at FROM regions WHERE code = $1")
                .bind(r.code.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(b) = before {
                sqlx::query(
                    "INSERT INTO region_versions (code, valid_from, valid_to, name, geometry, import_id) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(r.code.as_str())
                .bind(b.try_get::<Option<i64>, _>("updated_at")?)
                .bind(i.at)
                .bind(b.try_get::<String, _>("name")?)
                .bind(b.try_get::<Option<String>, _>("geometry")?)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE regions SET name = $1, geometry = $2, source_key = $3, derived = $4, retired_at = NULL, \
                     updated_at = $5 WHERE code = $6",
                )
                .bind(&r.name)
                .bind(geometry)
                .bind(&w.key)
                .bind(w.derived)
                .bind(i.at)
                .bind(r.code.as_str())
                .execute(&mut *tx)
                .await?;
            } else {
                sqlx::query(
                    "INSERT INTO regions (code, parent, level, name, name_en, geometry, source_key, derived, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(r.code.as_str())
                .bind(r.parent().map(|p| p.to_string()))
                .bind(r.level().as_str())
                .bind(&r.name)
                .bind(&r.name_en)
                .bind(geometry)
                .bind(&w.key)
                .bind(w.derived)
                .bind(i.at)
                .execute(&mut *tx)
                .await?;
            }
        }
        for code in i.retire {
            sqlx::query("UPDATE regions SET retired_at = $1, updated_at = $2 WHERE code = $3 AND retired_at IS NULL")
                .bind(i.at)
                .bind(i.at)
                .bind(code.as_str())
                .execute(&mut *tx)
                .await?;
        }
        for (from, to, area) in i.lineage {
            sqlx::query("INSERT INTO region_lineage (import_id, from_code, to_code, area_m2) VALUES ($1, $2, $3, $4)")
                .bind(id)
                .bind(from.as_str())
                .bind(to.as_str())
                .bind(area)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    async fn region_imports(&self, limit: u32) -> Result<Vec<ImportRecord>> {
        let rows = sqlx::query("SELECT * FROM region_imports ORDER BY id DESC LIMIT $1")
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ImportRecord {
                    id: r.try_get("id")?,
                    at: r.try_get("at")?,
                    by: r.try_get("by_person")?,
                    source: r.try_get("source")?,
                    options: value(r, "options")?,
                    summary: value(r, "summary")?,
                    report: value(r, "report")?,
                })
            })
            .collect()
    }

    async fn region_generation(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM region_imports").fetch_one(&self.pool).await?)
    }

    async fn region_history(&self, code: &RegionCode) -> Result<Option<RegionHistory>> {
        let Some(row) = sqlx::query(&format!("SELECT {RECORD_COLUMNS} FROM regions WHERE code = $1"))
            .bind(code.as_str())
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let versions = sqlx::query(
            "SELECT name, geometry, valid_from, valid_to, import_id FROM region_versions WHERE code = $1 ORDER BY valid_to DESC, import_id DESC",
        )
        .bind(code.as_str())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            let geometry: Option<String> = r.try_get("geometry")?;
            Ok(RegionVersion {
                name: r.try_get("name")?,
                geometry: geometry.map(|g| serde_json::from_str(&g)).transpose().map_err(corrupt)?,
                valid_from: r.try_get("valid_from")?,
                valid_to: r.try_get("valid_to")?,
                import_id: r.try_get("import_id")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let lineage = |column: &'static str| {
            let sql = format!(
                "SELECT l.import_id, i.at, l.from_code, l.to_code, l.area_m2 FROM region_lineage l \
                 JOIN region_imports i ON i.id = l.import_id WHERE l.{column} = $1 ORDER BY l.import_id, l.from_code, l.to_code"
            );
            let pool = self.pool.clone();
            let code = code.to_string();
            async move {
                sqlx::query(&sql).bind(code).fetch_all(&pool).await?.iter().map(lineage_row).collect::<Result<Vec<_>>>()
            }
        };
        Ok(Some(RegionHistory {
            region: record_row(&row)?,
            versions,
            successors: lineage("from_code").await?,
            predecessors: lineage("to_code").await?,
        }))
    }

    async fn add_assignment(&self, a: &NewAssignment) -> Result<Assignment> {
        if a.ends_at.is_some_and(|e| e <= a.starts_at) {
            return Err(invalid("ends_at", "must lie after starts_at"));
        }
        let mut tx = self.begin_write().await?;
        // The overlap check and the insert must see the same assignments.
        sqlx::query("LOCK TABLE assignments IN SHARE ROW EXCLUSIVE MODE").execute(&mut *tx).await?;
        let live: Option<Option<i64>> = sqlx::query_scalar("SELECT retired_at FROM regions WHERE code = $1")
            .bind(a.region.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        match live {
            None => return Err(invalid("region", format!("no region {}", a.region))),
            Some(Some(_)) => return Err(invalid("region", format!("{} is retired", a.region))),
            Some(None) => {}
        }
        let person: Option<i64> =
            sqlx::query_scalar("SELECT id FROM people WHERE id = $1").bind(a.person).fetch_optional(&mut *tx).await?;
        if person.is_none() {
            return Err(invalid("person", format!("no person {}", a.person)));
        }
        let clash: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM assignments WHERE person_id = $1 AND region = $2 AND role = $3 \
             AND starts_at < coalesce($4, 9223372036854775807) AND coalesce(ends_at, 9223372036854775807) > $5 LIMIT 1",
        )
        .bind(a.person)
        .bind(a.region.as_str())
        .bind(a.role.as_str())
        .bind(a.ends_at)
        .bind(a.starts_at)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(other) = clash {
            return Err(invalid(
                "starts_at",
                format!("overlaps assignment {other} of the same person to the same region"),
            ));
        }
        let row = sqlx::query(&format!(
            "INSERT INTO assignments (person_id, region, role, starts_at, ends_at, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {ASSIGNMENT_COLUMNS}"
        ))
        .bind(a.person)
        .bind(a.region.as_str())
        .bind(a.role.as_str())
        .bind(a.starts_at)
        .bind(a.ends_at)
        .bind(a.created_at)
        .bind(a.created_by)
        .fetch_one(&mut *tx)
        .await?;
        let out = assignment_row(&row)?;
        tx.commit().await?;
        Ok(out)
    }

    async fn assignment(&self, id: i64) -> Result<Option<Assignment>> {
        sqlx::query(&format!("SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(assignment_row)
            .transpose()
    }

    async fn end_assignment(&self, id: i64, at: Millis) -> Result<Option<Assignment>> {
        let mut tx = self.begin_write().await?;
        let Some(row) = sqlx::query(&format!("SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        let current = assignment_row(&row)?;
        if at <= current.starts_at || current.ends_at.is_some_and(|e| at >= e) {
            return Err(invalid("ends_at", "must lie after the assignment starts and before it already ends"));
        }
        let row =
            sqlx::query(&format!("UPDATE assignments SET ends_at = $1 WHERE id = $2 RETURNING {ASSIGNMENT_COLUMNS}"))
                .bind(at)
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        let out = assignment_row(&row)?;
        tx.commit().await?;
        Ok(Some(out))
    }

    async fn assignments(&self, q: &AssignmentQuery) -> Result<Vec<Assignment>> {
        let mut b = QueryBuilder::<Postgres>::new(format!("SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE TRUE"));
        if let Some(r) = &q.under {
            b.push(" AND (FALSE");
            push_prefix(&mut b, "region", r);
            b.push(")");
        }
        if let Some(p) = q.person {
            b.push(" AND person_id = ").push_bind(p);
        }
        if let Some(t) = q.at {
            b.push(" AND starts_at <= ")
                .push_bind(t)
                .push(" AND (ends_at IS NULL OR ends_at > ")
                .push_bind(t)
                .push(")");
        }
        b.push(" ORDER BY region, role, starts_at, id");
        b.build().fetch_all(&self.pool).await?.iter().map(assignment_row).collect()
    }

    async fn grid_figures(
        &self,
        root: &RegionCode,
        now: Millis,
        since: Millis,
    ) -> Result<Vec<(RegionCode, GridFigures)>> {
        let mut b = QueryBuilder::<Postgres>::new(format!(
            "SELECT grid, count(*) FILTER (WHERE {OPEN}) AS open, count(*) FILTER (WHERE {OPEN} AND due_at < "
        ));
        b.push_bind(now).push(") AS overdue, count(*) FILTER (WHERE reported_at >= ").push_bind(since);
        // scope_region is the grid of a located case, and is indexed.
        b.push(") AS recent FROM cases WHERE grid IS NOT NULL AND (FALSE");
        push_prefix(&mut b, "scope_region", root);
        b.push(") GROUP BY grid ORDER BY grid");
        b.build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok((
                    parse_field(RegionCode::parse(r.try_get("grid")?))?,
                    GridFigures {
                        open: r.try_get("open")?,
                        overdue: r.try_get("overdue")?,
                        recent: r.try_get("recent")?,
                    },
                ))
            })
            .collect()
    }
}
