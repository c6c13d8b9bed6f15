//! Reference data: the region tree as the case loop reads it, platforms, departments and
//! categories.

use async_trait::async_trait;
use gridkeeper_domain::{Category, CategoryKind, Deadlines, Department, DepartmentKind, Platform, Region, RegionCode};
use sqlx::{Database, Row};

use crate::dialect::generic;
use crate::{corrupt, parse_field, unsigned, Result};

/// Reference data loaded in one go (the demo, imports). Ids are given by the caller.
#[derive(Debug, Clone, Default)]
pub struct ReferenceData {
    pub regions: Vec<Region>,
    pub platforms: Vec<Platform>,
    pub departments: Vec<Department>,
    pub categories: Vec<Category>,
}

#[async_trait]
pub trait ReferenceStore: Send + Sync {
    /// Writes `data` in one transaction: regions, platforms, departments and categories are
    /// inserted or updated in place by their code or id.
    async fn load_reference(&self, data: &ReferenceData) -> Result<()>;
    /// The regions not retired, by code.
    async fn regions(&self) -> Result<Vec<Region>>;
    async fn platforms(&self) -> Result<Vec<Platform>>;
    async fn departments(&self) -> Result<Vec<Department>>;
    async fn categories(&self) -> Result<Vec<Category>>;
}

pub(crate) type Query<'q, D> = sqlx::query::Query<'q, D, <D as Database>::Arguments<'q>>;

/// The columns of a department after its id, as [`SqlStore::bind_department`](crate::SqlStore) binds them.
pub(crate) const DEPARTMENT_COLUMNS: &str = "code, name, name_en, platform_id, kind, region";
/// The columns of a category after its id, as `bind_category` binds them.
pub(crate) const CATEGORY_COLUMNS: &str = "code, name, name_en, kind, parent_id, default_department, public, \
     routine_hours, urgent_hours, emergency_hours, duplicate_radius_m, duplicate_window_hours";

generic! {
    impl SqlStore {
        /// Binds a department's columns after its id ([`DEPARTMENT_COLUMNS`]).
        pub(crate) fn bind_department<'q>(q: Query<'q, D>, d: &'q Department) -> Query<'q, D> {
            q.bind(&d.code)
                .bind(&d.name)
                .bind(&d.name_en)
                .bind(d.platform_id)
                .bind(d.kind.as_str())
                .bind(d.region.as_ref().map(|r| r.to_string()))
        }

        /// Binds a category's columns after its id ([`CATEGORY_COLUMNS`]).
        pub(crate) fn bind_category<'q>(q: Query<'q, D>, c: &'q Category) -> Query<'q, D> {
            q.bind(&c.code)
                .bind(&c.name)
                .bind(&c.name_en)
                .bind(c.kind.as_str())
                .bind(c.parent_id)
                .bind(c.default_department)
                .bind(c.public)
                .bind(i64::from(c.deadlines.routine_hours))
                .bind(i64::from(c.deadlines.urgent_hours))
                .bind(i64::from(c.deadlines.emergency_hours))
                .bind(i64::from(c.duplicate_radius_m))
                .bind(i64::from(c.duplicate_window_hours))
        }

        fn region_row(r: &D::Row) -> Result<Region> {
            let geometry: Option<String> = r.try_get("geometry")?;
            Ok(Region {
                code: parse_field(RegionCode::parse(r.try_get("code")?))?,
                name: r.try_get("name")?,
                name_en: r.try_get("name_en")?,
                geometry: geometry.map(|g| serde_json::from_str(&g)).transpose().map_err(corrupt)?,
            })
        }

        pub(crate) fn category_row(r: &D::Row) -> Result<Category> {
            Ok(Category {
                id: r.try_get("id")?,
                code: r.try_get("code")?,
                name: r.try_get("name")?,
                name_en: r.try_get("name_en")?,
                kind: parse_field(CategoryKind::parse(r.try_get("kind")?))?,
                parent_id: r.try_get("parent_id")?,
                default_department: r.try_get("default_department")?,
                public: r.try_get("public")?,
                deadlines: Deadlines {
                    routine_hours: unsigned(r.try_get("routine_hours")?)?,
                    urgent_hours: unsigned(r.try_get("urgent_hours")?)?,
                    emergency_hours: unsigned(r.try_get("emergency_hours")?)?,
                },
                duplicate_radius_m: unsigned(r.try_get("duplicate_radius_m")?)?,
                duplicate_window_hours: unsigned(r.try_get("duplicate_window_hours")?)?,
            })
        }

        /// Moves the identity of `table` past its largest id (where the database needs it), after
        /// rows were written with ids given by the caller.
        pub(crate) async fn sync_identity(conn: &mut D::Connection, table: &str) -> Result<()> {
            if let Some(sql) = D::sync_identity(table) {
                sqlx::query(&sql).execute(&mut *conn).await?;
            }
            Ok(())
        }
    }
}

generic! {
    #[async_trait]
    impl ReferenceStore for SqlStore {
        async fn load_reference(&self, d: &ReferenceData) -> Result<()> {
            let mut tx = self.begin_write().await?;
            // Parents before children.
            let mut regions: Vec<&Region> = d.regions.iter().collect();
            regions.sort_by_key(|r| (r.code.level(), r.code.clone()));
            for r in regions {
                sqlx::query(
                    "INSERT INTO regions (code, parent, level, name, name_en, geometry) VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (code) DO UPDATE SET parent = excluded.parent, name = excluded.name, \
                     name_en = excluded.name_en, geometry = excluded.geometry, retired_at = NULL",
                )
                .bind(r.code.as_str())
                .bind(r.parent().map(|p| p.to_string()))
                .bind(r.level().as_str())
                .bind(&r.name)
                .bind(&r.name_en)
                .bind(r.geometry.as_ref().map(|g| g.to_string()))
                .execute(&mut *tx)
                .await?;
            }
            for p in &d.platforms {
                sqlx::query(
                    "INSERT INTO platforms (id, code, name, name_en) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE \
                     SET code = excluded.code, name = excluded.name, name_en = excluded.name_en",
                )
                .bind(p.id)
                .bind(&p.code)
                .bind(&p.name)
                .bind(&p.name_en)
                .execute(&mut *tx)
                .await?;
            }
            let update = |columns: &str| columns.split(", ").map(|c| format!("{c} = excluded.{c}")).collect::<Vec<_>>().join(", ");
            let department = format!(
                "INSERT INTO departments (id, {DEPARTMENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (id) DO UPDATE SET {}",
                update(DEPARTMENT_COLUMNS)
            );
            for x in &d.departments {
                Self::bind_department(sqlx::query(&department).bind(x.id), x).execute(&mut *tx).await?;
            }
            let category = format!(
                "INSERT INTO categories (id, {CATEGORY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
                 ON CONFLICT (id) DO UPDATE SET {}",
                update(CATEGORY_COLUMNS)
            );
            // Classes before their subclasses.
            let mut cats: Vec<&Category> = d.categories.iter().collect();
            cats.sort_by_key(|c| c.parent_id.is_some());
            for c in cats {
                Self::bind_category(sqlx::query(&category).bind(c.id), c).execute(&mut *tx).await?;
            }
            for table in ["platforms", "departments", "categories"] {
                Self::sync_identity(&mut tx, table).await?;
            }
            tx.commit().await?;
            Ok(())
        }

        async fn regions(&self) -> Result<Vec<Region>> {
            sqlx::query("SELECT code, name, name_en, geometry FROM regions WHERE retired_at IS NULL ORDER BY code")
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(Self::region_row)
                .collect()
        }

        async fn platforms(&self) -> Result<Vec<Platform>> {
            let rows =
                sqlx::query("SELECT id, code, name, name_en FROM platforms ORDER BY id").fetch_all(&self.pool).await?;
            rows.iter()
                .map(|r| {
                    Ok(Platform {
                        id: r.try_get("id")?,
                        code: r.try_get("code")?,
                        name: r.try_get("name")?,
                        name_en: r.try_get("name_en")?,
                    })
                })
                .collect()
        }

        async fn departments(&self) -> Result<Vec<Department>> {
            let rows = sqlx::query(&format!("SELECT id, {DEPARTMENT_COLUMNS} FROM departments ORDER BY id"))
                .fetch_all(&self.pool)
                .await?;
            rows.iter()
                .map(|r| {
                    let region: Option<String> = r.try_get("region")?;
                    Ok(Department {
                        id: r.try_get("id")?,
                        code: r.try_get("code")?,
                        name: r.try_get("name")?,
                        name_en: r.try_get("name_en")?,
                        platform_id: r.try_get("platform_id")?,
                        kind: parse_field(DepartmentKind::parse(r.try_get("kind")?))?,
                        region: region.map(|c| parse_field(RegionCode::parse(&c))).transpose()?,
                    })
                })
                .collect()
        }

        async fn categories(&self) -> Result<Vec<Category>> {
            sqlx::query(&format!("SELECT id, {CATEGORY_COLUMNS} FROM categories ORDER BY code"))
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(Self::category_row)
                .collect()
        }
    }
}
