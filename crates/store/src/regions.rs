//! Regions as imported and changed over time, and who is responsible for them when.

use async_trait::async_trait;
use gridkeeper_domain::{FieldError, Grant, Millis, PersonId, Region, RegionCode, RegionLevel, Role, Scope};
use serde::Serialize;
use sqlx::{Row, Transaction};

use crate::dialect::generic;
use crate::sql::Sql;
use crate::{corrupt, json, parse_field, Result, StoreError};

/// A stored region with its bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionRecord {
    #[serde(flatten)]
    pub region: Region,
    /// Its key in the file it was imported from.
    pub key: Option<String>,
    /// Its geometry is the union of its children's.
    pub derived: bool,
    pub retired_at: Option<Millis>,
    pub updated_at: Option<Millis>,
}

/// A region an import creates or changes.
#[derive(Debug, Clone)]
pub struct RegionWrite {
    pub region: Region,
    pub key: Option<String>,
    pub derived: bool,
}

/// Everything an import writes, in one transaction.
#[derive(Debug, Clone)]
pub struct RegionImport<'a> {
    pub at: Millis,
    pub by: Option<PersonId>,
    /// The file's name, or `api`.
    pub source: &'a str,
    pub options: serde_json::Value,
    pub summary: serde_json::Value,
    pub report: serde_json::Value,
    /// Parents before children.
    pub regions: &'a [RegionWrite],
    pub retire: &'a [RegionCode],
    /// (from, to, m²): where the area of retired regions went.
    pub lineage: &'a [(RegionCode, RegionCode, f64)],
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportRecord {
    pub id: i64,
    pub at: Millis,
    pub by: Option<PersonId>,
    pub source: String,
    pub options: serde_json::Value,
    pub summary: serde_json::Value,
    pub report: serde_json::Value,
}

/// A region as it was before an import changed it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionVersion {
    pub name: String,
    pub geometry: Option<serde_json::Value>,
    pub valid_from: Option<Millis>,
    pub valid_to: Millis,
    pub import_id: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineageRecord {
    pub import_id: i64,
    pub at: Millis,
    pub from: RegionCode,
    pub to: RegionCode,
    pub area_m2: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionHistory {
    pub region: RegionRecord,
    /// Earlier names and geometries, newest first.
    pub versions: Vec<RegionVersion>,
    /// Where its area went when it was retired.
    pub successors: Vec<LineageRecord>,
    /// Retired regions whose area it took over.
    pub predecessors: Vec<LineageRecord>,
}

/// Someone responsible for a region over a period: a grid member for a grid, a grid leader for
/// a community.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assignment {
    pub id: i64,
    pub person: PersonId,
    pub region: RegionCode,
    pub role: Role,
    pub starts_at: Millis,
    /// Exclusive; `None` while it lasts.
    pub ends_at: Option<Millis>,
    pub created_at: Millis,
    pub created_by: Option<PersonId>,
}

impl Assignment {
    pub fn active_at(&self, t: Millis) -> bool {
        self.starts_at <= t && self.ends_at.is_none_or(|e| t < e)
    }
}

#[derive(Debug, Clone)]
pub struct NewAssignment {
    pub person: PersonId,
    pub region: RegionCode,
    pub role: Role,
    pub starts_at: Millis,
    pub ends_at: Option<Millis>,
    pub created_at: Millis,
    pub created_by: Option<PersonId>,
}

/// Filters of [`RegionStore::assignments`].
#[derive(Debug, Clone, Default)]
pub struct AssignmentQuery {
    /// The region and its subtree.
    pub under: Option<RegionCode>,
    pub person: Option<PersonId>,
    /// Only assignments active at this instant.
    pub at: Option<Millis>,
}

/// Live figures of a grid for maps.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GridFigures {
    pub open: i64,
    pub overdue: i64,
    /// Reported since the `since` instant asked for.
    pub recent: i64,
}

#[async_trait]
pub trait RegionStore: Send + Sync {
    /// Every region, retired ones too.
    async fn region_records(&self) -> Result<Vec<RegionRecord>>;
    /// Writes an import: regions (keeping the previous name and geometry of changed ones as a
    /// version), retirements, lineage and the import record. All or nothing. Returns its id.
    async fn apply_region_import(&self, import: &RegionImport<'_>) -> Result<i64>;
    /// The latest imports, newest first.
    async fn region_imports(&self, limit: u32) -> Result<Vec<ImportRecord>>;
    /// Changes whenever an import changes the regions.
    async fn region_generation(&self) -> Result<i64>;
    async fn region_history(&self, code: &RegionCode) -> Result<Option<RegionHistory>>;

    /// Refuses an unknown or retired region, and a period overlapping another assignment of the
    /// same person to the same region and role.
    async fn add_assignment(&self, a: &NewAssignment) -> Result<Assignment>;
    async fn assignment(&self, id: i64) -> Result<Option<Assignment>>;
    /// Ends an assignment at `at` (not before it starts, not after it already ended).
    async fn end_assignment(&self, id: i64, at: Millis) -> Result<Option<Assignment>>;
    async fn assignments(&self, q: &AssignmentQuery) -> Result<Vec<Assignment>>;

    /// Figures of the grids under `root` that have cases: open, overdue at `now`, reported since `since`.
    async fn grid_figures(
        &self,
        root: &RegionCode,
        now: Millis,
        since: Millis,
    ) -> Result<Vec<(RegionCode, GridFigures)>>;
}

const RECORD_COLUMNS: &str = "code, name, name_en, geometry, source_key, derived, retired_at, updated_at";
const ASSIGNMENT_COLUMNS: &str = "id, person_id, region, role, starts_at, ends_at, created_at, created_by";
const OPEN: &str = "state NOT IN ('closed', 'rated', 'rejected')";

fn invalid(field: &str, reason: impl Into<String>) -> StoreError {
    StoreError::Invalid(FieldError::new(field, reason))
}

/// The region a grant makes its holder answer for: a grid member's grid, a grid leader's
/// community. Who answers for a grid has one truth — such a grant and an open assignment go
/// together: granting the role opens the assignment, taking it away ends it, and ending the
/// assignment takes the role away (see [`RegionStore::add_assignment`] for assignments to
/// regions under a wider grant).
fn answers_for(grant: &Grant) -> Option<&RegionCode> {
    let level = match grant.role {
        Role::GridMember => RegionLevel::Grid,
        Role::GridLeader => RegionLevel::Community,
        _ => return None,
    };
    match &grant.scope {
        Scope::Region { code } if code.level() == level => Some(code),
        _ => None,
    }
}

generic! {
    impl SqlStore {
        fn record_row(r: &D::Row) -> Result<RegionRecord> {
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

        fn value(r: &D::Row, column: &str) -> Result<serde_json::Value> {
            let text: String = r.try_get(column)?;
            serde_json::from_str(&text).map_err(corrupt)
        }

        fn assignment_row(r: &D::Row) -> Result<Assignment> {
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

        /// Opens the assignment a grant of a grid role stands for ([`answers_for`]), from `at`,
        /// unless one is open then; nothing for other grants or a region not (or no longer) in
        /// the tree.
        pub(crate) async fn open_assignment(
            tx: &mut Transaction<'static, D>,
            person: PersonId,
            grant: &Grant,
            at: Millis,
            by: Option<PersonId>,
        ) -> Result<()> {
            let Some(region) = answers_for(grant) else { return Ok(()) };
            sqlx::query(
                "INSERT INTO assignments (person_id, region, role, starts_at, created_at, created_by) \
                 SELECT $1, code, $2, $3, $3, $4 FROM regions WHERE code = $5 AND retired_at IS NULL \
                 AND NOT EXISTS (SELECT 1 FROM assignments WHERE person_id = $1 AND region = $5 AND role = $2 \
                 AND (ends_at IS NULL OR ends_at > $3))",
            )
            .bind(person)
            .bind(grant.role.as_str())
            .bind(at)
            .bind(by)
            .bind(region.as_str())
            .execute(&mut **tx)
            .await?;
            Ok(())
        }

        /// Ends at `at` the open assignments of `person` in the role of `grant` to regions within
        /// its scope (the role is taken away).
        pub(crate) async fn end_assignments(
            tx: &mut Transaction<'static, D>,
            person: PersonId,
            grant: &Grant,
            at: Millis,
        ) -> Result<()> {
            let Scope::Region { code } = &grant.scope else { return Ok(()) };
            if !matches!(grant.role, Role::GridMember | Role::GridLeader) {
                return Ok(());
            }
            sqlx::query(
                "UPDATE assignments SET ends_at = $1 WHERE person_id = $2 AND role = $3 \
                 AND (region = $4 OR region LIKE $5) AND starts_at < $1 AND (ends_at IS NULL OR ends_at > $1)",
            )
            .bind(at)
            .bind(person)
            .bind(grant.role.as_str())
            .bind(code.as_str())
            .bind(format!("{}%", code.as_str()))
            .execute(&mut **tx)
            .await?;
            Ok(())
        }

        fn lineage_row(r: &D::Row) -> Result<LineageRecord> {
            Ok(LineageRecord {
                import_id: r.try_get("import_id")?,
                at: r.try_get("at")?,
                from: parse_field(RegionCode::parse(r.try_get("from_code")?))?,
                to: parse_field(RegionCode::parse(r.try_get("to_code")?))?,
                area_m2: r.try_get("area_m2")?,
            })
        }
    }
}

generic! {
    #[async_trait]
    impl RegionStore for SqlStore {
        async fn region_records(&self) -> Result<Vec<RegionRecord>> {
            sqlx::query(&format!("SELECT {RECORD_COLUMNS} FROM regions ORDER BY code"))
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(Self::record_row)
                .collect()
        }

        #[tracing::instrument(skip_all, fields(source = i.source, regions = i.regions.len(), retire = i.retire.len()))]
        async fn apply_region_import(&self, i: &RegionImport<'_>) -> Result<i64> {
            let mut tx = self.begin_write().await?;
            // One import at a time (an import is planned against the tree as it was read).
            Self::lock(&mut tx, "regions", "SHARE ROW EXCLUSIVE").await?;
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
                        options: Self::value(r, "options")?,
                        summary: Self::value(r, "summary")?,
                        report: Self::value(r, "report")?,
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
                    sqlx::query(&sql).bind(code).fetch_all(&pool).await?.iter().map(Self::lineage_row).collect::<Result<Vec<_>>>()
                }
            };
            Ok(Some(RegionHistory {
                region: Self::record_row(&row)?,
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
            Self::lock(&mut tx, "assignments", "SHARE ROW EXCLUSIVE").await?;
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
                return Err(StoreError::Conflicts(FieldError::new(
                    "starts_at",
                    format!("overlaps assignment {other} of the same person to the same region"),
                )));
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
            let out = Self::assignment_row(&row)?;
            // The role follows an open-ended assignment (a wider grant may cover it already).
            if a.ends_at.is_none() {
                sqlx::query(
                "INSERT INTO grants (person_id, role, scope_type, scope_value) VALUES ($1, $2, 'region', $3) \
                 ON CONFLICT DO NOTHING",
            )
                .bind(a.person)
                .bind(a.role.as_str())
                .bind(a.region.as_str())
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(out)
        }

        async fn assignment(&self, id: i64) -> Result<Option<Assignment>> {
            sqlx::query(&format!("SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .as_ref()
                .map(Self::assignment_row)
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
            let current = Self::assignment_row(&row)?;
            if at <= current.starts_at || current.ends_at.is_some_and(|e| at >= e) {
                return Err(StoreError::Conflicts(FieldError::new(
                    "ends_at",
                    "must lie after the assignment starts and before it already ends",
                )));
            }
            let row =
                sqlx::query(&format!("UPDATE assignments SET ends_at = $1 WHERE id = $2 RETURNING {ASSIGNMENT_COLUMNS}"))
                    .bind(at)
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
            let out = Self::assignment_row(&row)?;
            // No assignment left there: the role over exactly that region goes with it.
            sqlx::query(
                "DELETE FROM grants WHERE person_id = $1 AND role = $2 AND scope_type = 'region' AND scope_value = $3 \
                 AND NOT EXISTS (SELECT 1 FROM assignments WHERE person_id = $1 AND role = $2 AND region = $3 \
                 AND (ends_at IS NULL OR ends_at > $4))",
            )
            .bind(out.person)
            .bind(out.role.as_str())
            .bind(out.region.as_str())
            .bind(at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Some(out))
        }

        async fn assignments(&self, q: &AssignmentQuery) -> Result<Vec<Assignment>> {
            let mut b = Sql::new(format!("SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE TRUE"));
            if let Some(r) = &q.under {
                b.push(" AND (FALSE");
                Self::push_prefix(&mut b, "region", r);
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
            Self::query_of(&b).fetch_all(&self.pool).await?.iter().map(Self::assignment_row).collect()
        }

        async fn grid_figures(
            &self,
            root: &RegionCode,
            now: Millis,
            since: Millis,
        ) -> Result<Vec<(RegionCode, GridFigures)>> {
            let mut b = Sql::new(format!(
                "SELECT grid, count(*) FILTER (WHERE {OPEN}) AS open, count(*) FILTER (WHERE {OPEN} AND due_at < "
            ));
            b.push_bind(now).push(") AS overdue, count(*) FILTER (WHERE reported_at >= ").push_bind(since);
            // scope_region is the grid of a located case, and is indexed.
            b.push(") AS recent FROM cases WHERE grid IS NOT NULL AND (FALSE");
            Self::push_prefix(&mut b, "scope_region", root);
            b.push(") GROUP BY grid ORDER BY grid");
            Self::query_of(&b)
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
}

#[cfg(test)]
mod tests {
    use gridkeeper_domain::{Region, RegionCode};
    use serde_json::json;

    use super::*;
    use crate::testing::on_both;
    use crate::{AdminStore, NewAudit, NewPerson, PeopleStore, ReferenceStore};

    fn code(c: &str) -> RegionCode {
        RegionCode::parse(c).unwrap()
    }

    /// District 990001, its street and community, and these grids (code, name, size) in it.
    fn community(grids: &[(&str, &str, f64)]) -> Vec<RegionWrite> {
        let mut out = vec![
            write("990001", "d", 1.0, true),
            write("990001001", "s", 1.0, true),
            write("990001001001", "c", 1.0, true),
        ];
        out.extend(grids.iter().map(|(c, name, size)| write(c, name, *size, false)));
        out
    }

    fn write(c: &str, name: &str, size: f64, derived: bool) -> RegionWrite {
        let geometry = json!({"type": "Polygon", "coordinates": [[[0.0, 0.0], [size, 0.0], [size, size], [0.0, 0.0]]]});
        RegionWrite {
            region: Region { code: code(c), name: name.into(), name_en: None, geometry: Some(geometry) },
            key: Some(format!("k-{name}")),
            derived,
        }
    }

    fn import<'a>(
        at: i64,
        regions: &'a [RegionWrite],
        retire: &'a [RegionCode],
        lineage: &'a [(RegionCode, RegionCode, f64)],
    ) -> RegionImport<'a> {
        RegionImport {
            at,
            by: None,
            source: "test.geojson",
            options: json!({ "level": "grid" }),
            summary: json!({ "created": regions.len() }),
            report: json!({ "issues": [] }),
            regions,
            retire,
            lineage,
        }
    }

    on_both! {
        async fn imports_keep_versions_retire_and_record_lineage(s) {
            assert_eq!(s.region_generation().await.unwrap(), 0);
            let first = community(&[("990001001001001", "a", 0.5), ("990001001001002", "b", 0.5)]);
            let id1 = s.apply_region_import(&import(1000, &first, &[], &[])).await.unwrap();
            assert_eq!(s.region_generation().await.unwrap(), id1);
            let records = s.region_records().await.unwrap();
            assert_eq!(records.len(), 5);
            assert_eq!(records[3].key.as_deref(), Some("k-a"));
            assert!(records[2].derived && !records[3].derived);
            assert_eq!(records[3].updated_at, Some(1000));
            // b is split into 003 and 004; a's boundary moves.
            let second = [
                write("990001001001001", "a", 0.6, false),
                write("990001001001003", "b1", 0.2, false),
                write("990001001001004", "b2", 0.2, false),
            ];
            let (b, b1, b2) = (code("990001001001002"), code("990001001001003"), code("990001001001004"));
            let lineage = [(b.clone(), b1.clone(), 10.0), (b.clone(), b2.clone(), 12.5)];
            let id2 = s.apply_region_import(&import(2000, &second, std::slice::from_ref(&b), &lineage)).await.unwrap();
            assert!(id2 > id1);
            assert_eq!(s.region_generation().await.unwrap(), id2);
            // Retired, not deleted; the live list no longer has it.
            let all = s.region_records().await.unwrap();
            assert_eq!(all.iter().find(|r| r.region.code == b).unwrap().retired_at, Some(2000));
            assert!(!s.regions().await.unwrap().iter().any(|r| r.code == b));
            let a = s.region_history(&code("990001001001001")).await.unwrap().unwrap();
            assert_eq!(a.versions.len(), 1);
            assert_eq!((a.versions[0].valid_from, a.versions[0].valid_to), (Some(1000), 2000));
            assert_eq!(a.versions[0].geometry.as_ref().unwrap()["coordinates"][0][1][0], 0.5);
            assert_eq!(a.region.region.geometry.as_ref().unwrap()["coordinates"][0][1][0], 0.6);
            let hb = s.region_history(&b).await.unwrap().unwrap();
            assert_eq!(
                hb.successors.iter().map(|l| (l.to.as_str(), l.area_m2)).collect::<Vec<_>>(),
                [(b1.as_str(), 10.0), (b2.as_str(), 12.5)]
            );
            let hb1 = s.region_history(&b1).await.unwrap().unwrap();
            assert_eq!(hb1.predecessors.len(), 1);
            assert_eq!(hb1.predecessors[0].at, 2000);
            assert!(s.region_history(&code("990001001001009")).await.unwrap().is_none());
            let imports = s.region_imports(10).await.unwrap();
            assert_eq!(imports.iter().map(|i| i.id).collect::<Vec<_>>(), [id2, id1]);
            assert_eq!(imports[0].source, "test.geojson");
        }

        async fn assignments_have_periods_that_do_not_overlap(s) {
            let regions = community(&[("990001001001001", "g", 1.0)]);
            s.apply_region_import(&import(1, &regions, &[], &[])).await.unwrap();
            let p = NewPerson {
                login: "m".into(),
                name: "Member".into(),
                phone: None,
                id_number: None,
                password_hash: None,
                grants: vec![],
            };
            let person = s.create_person(&p, 0).await.unwrap();
            let grid = code("990001001001001");
            let new = |starts_at: i64, ends_at: Option<i64>| NewAssignment {
                person,
                region: grid.clone(),
                role: Role::GridMember,
                starts_at,
                ends_at,
                created_at: 5,
                created_by: None,
            };
            let first = s.add_assignment(&new(100, Some(200))).await.unwrap();
            assert!(first.active_at(100) && first.active_at(199) && !first.active_at(200));
            // Overlapping periods of the same person, region and role are refused; adjacent ones are not.
            for (a, b) in [(150, None), (50, Some(101)), (0, None)] {
                let err = s.add_assignment(&new(a, b)).await.unwrap_err();
                assert!(matches!(&err, StoreError::Conflicts(f) if f.field == "starts_at"), "{a}..{b:?}: {err}");
            }
            let second = s.add_assignment(&new(200, None)).await.unwrap();
            s.add_assignment(&new(10, Some(100))).await.unwrap();
            assert!(
                matches!(s.add_assignment(&new(300, Some(300))).await, Err(StoreError::Invalid(f)) if f.field == "ends_at")
            );
            let err =
                s.add_assignment(&NewAssignment { region: code("990001001001009"), ..new(1000, None) }).await.unwrap_err();
            assert!(matches!(err, StoreError::Invalid(f) if f.field == "region"));
            let err = s.add_assignment(&NewAssignment { person: 999, ..new(1000, None) }).await.unwrap_err();
            assert!(matches!(err, StoreError::Invalid(f) if f.field == "person"));

            let at = |t: i64| AssignmentQuery { under: Some(code("990001001")), person: None, at: Some(t) };
            assert_eq!(s.assignments(&at(150)).await.unwrap(), vec![first.clone()]);
            assert_eq!(s.assignments(&at(5000)).await.unwrap(), vec![second.clone()]);
            assert!(s.assignments(&AssignmentQuery { under: Some(code("990002")), ..at(150) }).await.unwrap().is_empty());
            assert_eq!(s.assignments(&AssignmentQuery::default()).await.unwrap().len(), 3);
            // Ending: not before the start, not after it ended.
            assert!(matches!(s.end_assignment(second.id, 200).await, Err(StoreError::Conflicts(_))));
            assert!(matches!(s.end_assignment(first.id, 250).await, Err(StoreError::Conflicts(_))));
            let ended = s.end_assignment(second.id, 900).await.unwrap().unwrap();
            assert_eq!(ended.ends_at, Some(900));
            assert_eq!(s.assignment(second.id).await.unwrap(), Some(ended));
            assert!(s.assignments(&at(5000)).await.unwrap().is_empty());
            assert!(s.end_assignment(12345, 900).await.unwrap().is_none());
            // A retired region takes no new assignments.
            s.apply_region_import(&import(2, &[], std::slice::from_ref(&grid), &[])).await.unwrap();
            let err = s.add_assignment(&new(5000, None)).await.unwrap_err();
            assert!(matches!(err, StoreError::Invalid(f) if f.reason.contains("retired")));
        }
    }

    on_both! {
        async fn a_grid_role_and_its_assignment_go_together(s) {
            let regions = community(&[("990001001001001", "g", 1.0), ("990001001001002", "g2", 1.0)]);
            s.apply_region_import(&import(1, &regions, &[], &[])).await.unwrap();
            let (grid, community) = (code("990001001001001"), code("990001001001"));
            let member = Grant::new(Role::GridMember, Scope::Region { code: grid.clone() }).unwrap();
            let leader = Grant::new(Role::GridLeader, Scope::Region { code: community.clone() }).unwrap();
            // A person created with grid roles answers for their grid and community from then on.
            let p = NewPerson {
                login: "m".into(),
                name: "Member".into(),
                phone: None,
                id_number: None,
                password_hash: None,
                grants: vec![member.clone(), leader.clone()],
            };
            let person = s.create_person(&p, 10).await.unwrap();
            let open = |t: i64| AssignmentQuery { under: Some(code("990001")), person: Some(person), at: Some(t) };
            let held: Vec<_> = s.assignments(&open(10)).await.unwrap().into_iter().map(|a| (a.region, a.role)).collect();
            assert_eq!(held.len(), 2);
            assert!(held.contains(&(grid.clone(), Role::GridMember)) && held.contains(&(community.clone(), Role::GridLeader)));

            // Taking the role away ends the assignment; giving it back opens a new one.
            let audit = |at: i64| NewAudit { at, actor: None, action: "role_change".into(), object: None, detail: json!({}) };
            assert!(s.remove_grant(person, &member, &audit(20)).await.unwrap());
            let now: Vec<_> = s.assignments(&open(25)).await.unwrap().into_iter().map(|a| a.role).collect();
            assert_eq!(now, [Role::GridLeader]);
            assert!(s.add_grant(person, &member, &audit(30)).await.unwrap());
            let back = s.assignments(&open(35)).await.unwrap();
            assert!(back.iter().any(|a| a.region == grid && a.starts_at == 30 && a.ends_at.is_none()));

            // Ending the assignment takes the role over that grid away.
            let a = back.iter().find(|a| a.region == grid).unwrap();
            s.end_assignment(a.id, 40).await.unwrap().unwrap();
            let grants = s.person(person).await.unwrap().unwrap().grants;
            assert!(!grants.contains(&member) && grants.contains(&leader), "{grants:?}");

            // An assignment to another grid grants its role there; a role over a non-grid region
            // (a grid member over a whole community) opens no assignment of its own.
            let other = code("990001001001002");
            let new = NewAssignment {
                person,
                region: other.clone(),
                role: Role::GridMember,
                starts_at: 50,
                ends_at: None,
                created_at: 50,
                created_by: None,
            };
            s.add_assignment(&new).await.unwrap();
            assert!(s.person(person).await.unwrap().unwrap().grants.iter().any(|g| g.scope == Scope::Region { code: other.clone() }));
            let wide = Grant::new(Role::GridMember, Scope::Region { code: community.clone() }).unwrap();
            s.add_grant(person, &wide, &audit(60)).await.unwrap();
            assert_eq!(s.assignments(&open(65)).await.unwrap().len(), 2, "leader of the community, member of grid 2");
        }
    }
}
