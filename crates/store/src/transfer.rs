//! Moving a deployment from SQLite to PostgreSQL (`gridkeeper migrate-data`): every table copied
//! row by row in one PostgreSQL transaction, then counted and checksummed on both sides.
//!
//! Values are copied as stored: sealed personal data stays sealed (the new deployment needs the
//! same key file), events keep their numbers, ids stay ids (identities are moved past them).
//! The checksum of a table is the SHA-256 of its rows in primary-key order, each value rendered
//! from its typed value (an integer, a boolean, a float's exact bits, a text, a JSON value), so
//! it is the same on both backends exactly when the rows are.

use std::str::FromStr;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use sqlx::postgres::PgRow;
use sqlx::sqlite::{SqliteConnectOptions, SqliteRow};
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, QueryBuilder, Row, SqlitePool};

use crate::{PgStore, Result, SqliteStore, Store, StoreError, Vault};

/// Tables the migrations fill by themselves, which the copy replaces.
const SEEDED: [&str; 2] = ["rollup_state", "place_kinds"];

/// Tables in an order that satisfies their foreign keys. Tables not named here (added later)
/// follow in name order.
const ORDER: &[&str] = &[
    "regions",
    "platforms",
    "departments",
    "categories",
    "people",
    "grants",
    "sessions",
    "case_counters",
    "cases",
    "case_departments",
    "case_events",
    "case_callers",
    "media",
    "otp_codes",
    "auth_limits",
    "audit_log",
    "calendars",
    "region_imports",
    "region_versions",
    "region_lineage",
    "assignments",
    "category_attributes",
    "open311_keys",
    "webhooks",
    "webhook_outbox",
    "webhook_deliveries",
    "place_kinds",
    "buildings",
    "houses",
    "tenancies",
    "places",
    "place_visits",
    "care_people",
    "care_visits",
    "registry_changes",
    "triage_models",
    "triage_suggestions",
    "articles",
    "article_reads",
    "article_readers",
    "consultations",
    "consultation_votes",
    "consultation_comments",
    "proposals",
    "proposal_supports",
    "natives",
    "native_leads",
    "native_lead_notes",
    "native_invitations",
    "point_rules",
    "point_accounts",
    "rewards",
    "redemptions",
    "point_ledger",
    "commendations",
    "checklists",
    "checklist_versions",
    "inspection_plan",
    "inspection_due",
    "inspections",
    "inspection_results",
    "hazards",
    "spot_checks",
    "teams",
    "team_members",
    "service_logs",
    "patrols",
    "patrol_positions",
    "patrol_quotas",
];

/// The rows of a table whose parents are in the same table come after their parents.
fn order_by(table: &str, key: &str) -> String {
    match table {
        "regions" => "length(code), code".into(),
        "categories" => "(parent_id IS NOT NULL), id".into(),
        // A moved place points to its new entry, a later one: the entries it points to first.
        "places" => "(moved_to IS NOT NULL), moved_to DESC, id".into(),
        _ => key.into(),
    }
}

/// The kind of a column, from its PostgreSQL type.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Int8,
    Int4,
    Bool,
    Float,
    Text,
    Json,
    Bytes,
}

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Int(Option<i64>),
    Bool(Option<bool>),
    Float(Option<f64>),
    Text(Option<String>),
    Json(Option<serde_json::Value>),
    Bytes(Option<Vec<u8>>),
}

impl Value {
    /// The canonical text of the value, for the checksum.
    fn render(&self, out: &mut Vec<u8>) {
        let s = match self {
            Value::Int(v) => v.map(|v| v.to_string()),
            Value::Bool(v) => v.map(|v| v.to_string()),
            Value::Float(v) => v.map(|v| format!("{:016x}", v.to_bits())),
            Value::Text(v) => v.clone(),
            Value::Json(v) => v.as_ref().map(|v| v.to_string()),
            Value::Bytes(v) => v.as_ref().map(|b| b.iter().map(|x| format!("{x:02x}")).collect()),
        };
        match s {
            None => out.push(0),
            Some(s) => {
                out.push(1);
                out.extend_from_slice(&(s.len() as u64).to_le_bytes());
                out.extend_from_slice(s.as_bytes());
            }
        }
    }
}

/// A table to copy: its columns with their kinds, and the order of its rows.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    columns: Vec<(String, Kind)>,
    order: String,
}

/// What the copy of one table found.
#[derive(Debug, Clone, PartialEq)]
pub struct TableReport {
    pub table: String,
    pub source_rows: u64,
    pub target_rows: u64,
    pub source_checksum: String,
    pub target_checksum: String,
}

impl TableReport {
    pub fn matches(&self) -> bool {
        self.source_rows == self.target_rows && self.source_checksum == self.target_checksum
    }
}

fn invalid(reason: impl Into<String>) -> StoreError {
    StoreError::Invalid(gridkeeper_domain::FieldError::new("to", reason))
}

/// A copy from a SQLite database to an empty PostgreSQL database, both migrated first.
pub struct Transfer {
    from: SqlitePool,
    to: PgPool,
    pub tables: Vec<Table>,
    /// Rows per table in the source, in the order of `tables`.
    pub counts: Vec<u64>,
}

impl Transfer {
    /// Opens both, brings both schemas up to date, checks that they have the same tables and
    /// columns and that the target holds nothing yet, and counts the rows to copy.
    pub async fn prepare(from: &str, to: &str) -> Result<Transfer> {
        if !from.starts_with("sqlite:") {
            return Err(StoreError::Invalid(gridkeeper_domain::FieldError::new("from", "must be a `sqlite:` URL")));
        }
        if crate::Backend::of(to) != Some(crate::Backend::Postgres) {
            return Err(invalid("must be a `postgres://` URL"));
        }
        let path = from.trim_start_matches("sqlite:").trim_start_matches("//");
        let path = path.split('?').next().unwrap_or_default();
        if !std::path::Path::new(path).is_file() {
            return Err(StoreError::Invalid(gridkeeper_domain::FieldError::new(
                "from",
                format!("there is no SQLite database at `{path}`"),
            )));
        }
        let vault = Arc::new(Vault::ephemeral());
        SqliteStore::open(from, vault.clone()).await?.migrate().await?;
        let target = PgStore::open(to, vault).await?;
        target.migrate().await?;
        let from = SqlitePool::connect_with(SqliteConnectOptions::from_str(from)?.read_only(true)).await?;
        let to = target.pool().clone();

        let mut names: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name <> '_sqlx_migrations' ORDER BY name",
        )
        .fetch_all(&from)
        .await?;
        names.sort_by_key(|n| (ORDER.iter().position(|o| o == n).unwrap_or(ORDER.len()), n.clone()));
        let mut tables = Vec::new();
        let mut counts = Vec::new();
        for name in names {
            let pg: Vec<(String, String)> = sqlx::query_as(
                "SELECT column_name::text, data_type::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            )
            .bind(&name)
            .fetch_all(&to)
            .await?;
            if pg.is_empty() {
                return Err(invalid(format!("PostgreSQL has no table `{name}`")));
            }
            let lite: Vec<(String, i64)> =
                sqlx::query_as(&format!("SELECT name, pk FROM pragma_table_info('{name}') ORDER BY cid"))
                    .fetch_all(&from)
                    .await?;
            let (mut lite_names, mut pg_names): (Vec<&str>, Vec<&str>) =
                (lite.iter().map(|c| c.0.as_str()).collect(), pg.iter().map(|c| c.0.as_str()).collect());
            lite_names.sort();
            pg_names.sort();
            if lite_names != pg_names {
                return Err(invalid(format!(
                    "the columns of `{name}` differ: SQLite has {lite_names:?}, PostgreSQL {pg_names:?}"
                )));
            }
            let columns = pg
                .into_iter()
                .map(|(c, ty)| {
                    let kind = match ty.as_str() {
                        "bigint" => Kind::Int8,
                        "integer" | "smallint" => Kind::Int4,
                        "boolean" => Kind::Bool,
                        "double precision" | "real" => Kind::Float,
                        "text" | "character varying" => Kind::Text,
                        "jsonb" | "json" => Kind::Json,
                        "bytea" => Kind::Bytes,
                        other => {
                            return Err(invalid(format!("`{name}.{c}` has a type the copy does not know: {other}")))
                        }
                    };
                    Ok((c, kind))
                })
                .collect::<Result<Vec<_>>>()?;
            let mut pk: Vec<(i64, &str)> = lite.iter().filter(|c| c.1 > 0).map(|c| (c.1, c.0.as_str())).collect();
            pk.sort();
            let key = if pk.is_empty() {
                columns.iter().map(|c| c.0.as_str()).collect::<Vec<_>>().join(", ")
            } else {
                pk.iter().map(|c| c.1).collect::<Vec<_>>().join(", ")
            };
            let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {name}")).fetch_one(&from).await?;
            counts.push(n as u64);
            tables.push(Table { order: order_by(&name, &key), name, columns });
        }
        for t in &tables {
            // What the migrations write themselves (the state of the rollups, the default kinds
            // of places) the copy replaces; anything else is data.
            if SEEDED.contains(&t.name.as_str()) {
                continue;
            }
            let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {}", t.name)).fetch_one(&to).await?;
            if n > 0 {
                return Err(invalid(format!(
                    "the target is not empty (`{}` has {n} rows): migrate into a new database",
                    t.name
                )));
            }
        }
        Ok(Transfer { from, to, tables, counts })
    }

    fn select(t: &Table) -> String {
        let cols = t.columns.iter().map(|c| c.0.as_str()).collect::<Vec<_>>().join(", ");
        format!("SELECT {cols} FROM {} ORDER BY {}", t.name, t.order)
    }

    /// Copies every table in one transaction; `progress(table index, rows copied of it)` after
    /// each batch.
    pub async fn copy(&self, mut progress: impl FnMut(usize, u64)) -> Result<()> {
        use futures::TryStreamExt;
        let mut tx = self.to.begin().await?;
        // The outbox trigger must not fire for events that are only being moved.
        sqlx::query("ALTER TABLE case_events DISABLE TRIGGER case_events_webhook_outbox").execute(&mut *tx).await?;
        for table in SEEDED {
            sqlx::query(&format!("DELETE FROM {table}")).execute(&mut *tx).await?;
        }
        for (i, t) in self.tables.iter().enumerate() {
            let cols = t.columns.iter().map(|c| c.0.as_str()).collect::<Vec<_>>().join(", ");
            let batch = (30_000 / t.columns.len()).max(1);
            let sql = Self::select(t);
            let mut rows = sqlx::query(&sql).fetch(&self.from);
            let mut buffer: Vec<Vec<Value>> = Vec::with_capacity(batch);
            let mut done = 0u64;
            loop {
                let row = rows.try_next().await?;
                if let Some(r) = &row {
                    buffer.push(sqlite_values(r, &t.columns)?);
                }
                if buffer.len() >= batch || (row.is_none() && !buffer.is_empty()) {
                    let mut b = QueryBuilder::<Postgres>::new(format!("INSERT INTO {} ({cols}) ", t.name));
                    b.push_values(buffer.drain(..), |mut row, values| {
                        for v in values {
                            match v {
                                Value::Int(x) => row.push_bind(x),
                                Value::Bool(x) => row.push_bind(x),
                                Value::Float(x) => row.push_bind(x),
                                Value::Text(x) => row.push_bind(x),
                                Value::Json(x) => row.push_bind(x.map(Json)),
                                Value::Bytes(x) => row.push_bind(x),
                            };
                        }
                    });
                    let n = b.build().execute(&mut *tx).await?.rows_affected();
                    done += n;
                    progress(i, done);
                }
                if row.is_none() {
                    break;
                }
            }
            let has_identity: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() \
                 AND table_name = $1 AND column_name = 'id' AND is_identity = 'YES')",
            )
            .bind(&t.name)
            .fetch_one(&mut *tx)
            .await?;
            if has_identity {
                crate::PgStore::sync_identity(&mut tx, &t.name).await?;
            }
        }
        sqlx::query("ALTER TABLE case_events ENABLE TRIGGER case_events_webhook_outbox").execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Counts and checksums every table on both sides.
    pub async fn verify(&self) -> Result<Vec<TableReport>> {
        use futures::TryStreamExt;
        let mut out = Vec::new();
        for t in &self.tables {
            let sql = Self::select(t);
            let (mut source, mut target) = (Sha256::new(), Sha256::new());
            let (mut source_rows, mut target_rows) = (0u64, 0u64);
            let mut buf = Vec::new();
            let mut rows = sqlx::query(&sql).fetch(&self.from);
            while let Some(r) = rows.try_next().await? {
                buf.clear();
                sqlite_values(&r, &t.columns)?.iter().for_each(|v| v.render(&mut buf));
                source.update(&buf);
                source_rows += 1;
            }
            let mut rows = sqlx::query(&sql).fetch(&self.to);
            while let Some(r) = rows.try_next().await? {
                buf.clear();
                pg_values(&r, &t.columns)?.iter().for_each(|v| v.render(&mut buf));
                target.update(&buf);
                target_rows += 1;
            }
            out.push(TableReport {
                table: t.name.clone(),
                source_rows,
                target_rows,
                source_checksum: hex::encode(source.finalize()),
                target_checksum: hex::encode(target.finalize()),
            });
        }
        Ok(out)
    }
}

fn sqlite_values(r: &SqliteRow, columns: &[(String, Kind)]) -> Result<Vec<Value>> {
    columns
        .iter()
        .enumerate()
        .map(|(i, (name, kind))| {
            Ok(match kind {
                Kind::Int8 | Kind::Int4 => Value::Int(r.try_get(i)?),
                Kind::Bool => Value::Bool(r.try_get(i)?),
                Kind::Float => Value::Float(r.try_get(i)?),
                Kind::Text => Value::Text(r.try_get(i)?),
                Kind::Json => {
                    let text: Option<String> = r.try_get(i)?;
                    let parsed = text.map(|t| serde_json::from_str(&t)).transpose();
                    Value::Json(parsed.map_err(|e| crate::corrupt(format!("{name}: {e}")))?)
                }
                Kind::Bytes => Value::Bytes(r.try_get(i)?),
            })
        })
        .collect()
}

fn pg_values(r: &PgRow, columns: &[(String, Kind)]) -> Result<Vec<Value>> {
    columns
        .iter()
        .enumerate()
        .map(|(i, (_, kind))| {
            Ok(match kind {
                Kind::Int8 => Value::Int(r.try_get(i)?),
                Kind::Int4 => Value::Int(r.try_get::<Option<i32>, _>(i)?.map(i64::from)),
                Kind::Bool => Value::Bool(r.try_get(i)?),
                Kind::Float => Value::Float(r.try_get(i)?),
                Kind::Text => Value::Text(r.try_get(i)?),
                Kind::Json => Value::Json(r.try_get::<Option<Json<serde_json::Value>>, _>(i)?.map(|j| j.0)),
                Kind::Bytes => Value::Bytes(r.try_get(i)?),
            })
        })
        .collect()
}
