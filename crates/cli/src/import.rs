//! Reading a CSV file of cases under a mapping (`gridkeeper import cases FILE --mapping MAP.toml`,
//! docs/DATA.md): the mapping resolved against the header row and the reference data, each row
//! parsed and lived through the state machine (`exchange::historical`). Nothing here stores:
//! `exchange.rs` of the binary writes the finished histories in batches. A library module so that
//! the fuzz target `import_csv` (`fuzz/`) runs this very code.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;

use anyhow::{bail, Context};
use gridkeeper_domain::exchange::{historical, HistoricalCase};
use gridkeeper_domain::{
    Actor, Case, CaseState, Category, Department, Grant, LatLon, Millis, NewEvent, NewReport, RegionLevel, Rejection,
    Role, Scope, Source, Urgency,
};
use gridkeeper_server::App;
use gridkeeper_store::{NewPerson, Store};
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// The mapping of a CSV file onto cases (docs/DATA.md, "Importing cases").
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// Name of the source system; prefixes original ids (`sf311:1757188`).
    pub system: String,
    /// District that receives rows located outside every grid (default: the only district).
    pub district: Option<String>,
    /// Offset of the file's local times from UTC, in hours.
    #[serde(default)]
    pub utc_offset_hours: i32,
    /// chrono format of the times, or `rfc3339`.
    #[serde(default = "default_time_format")]
    pub time_format: String,
    pub columns: Columns,
    /// Status value → state (`reported` … `closed`, `rejected`).
    pub states: BTreeMap<String, String>,
    /// Category value → category code; `"*"` for every other value.
    pub categories: BTreeMap<String, String>,
    /// Department value → department code; unmapped values go to the category's default department.
    #[serde(default)]
    pub departments: BTreeMap<String, String>,
}

fn default_time_format() -> String {
    "%Y-%m-%d %H:%M:%S".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Columns {
    pub id: String,
    pub reported_at: String,
    pub closed_at: Option<String>,
    pub status: String,
    /// One column, or several joined with " — ".
    pub description: OneOrMany,
    pub address: Option<String>,
    pub lat: Option<String>,
    pub lon: Option<String>,
    pub category: String,
    pub department: Option<String>,
    pub notes: Option<String>,
    pub media_url: Option<String>,
    /// Columns kept as they were in the first event (`exchange.original`).
    #[serde(default)]
    pub keep: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn names(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// The mapping resolved against the header row and the reference data.
struct Plan {
    mapping: Mapping,
    index: HashMap<String, usize>,
    states: HashMap<String, (CaseState, Option<Rejection>)>,
    categories: HashMap<String, Category>,
    any_category: Option<Category>,
    departments: HashMap<String, Department>,
    all_departments: HashMap<i64, Department>,
    district: Option<String>,
}

fn parse_state(s: &str) -> anyhow::Result<(CaseState, Option<Rejection>)> {
    if let Some(reason) = s.strip_prefix("rejected:") {
        return Ok((CaseState::Rejected, Some(Rejection::parse(reason)?)));
    }
    let state = CaseState::parse(s)?;
    anyhow::ensure!(state != CaseState::Rated, "state `rated`: a rating belongs to the reporter; use closed");
    Ok((state, None))
}

impl Plan {
    fn new(mapping: Mapping, headers: &csv::StringRecord, app: &App) -> anyhow::Result<Self> {
        let index: HashMap<String, usize> =
            headers.iter().enumerate().map(|(i, h)| (h.trim().to_string(), i)).collect();
        let c = &mapping.columns;
        let mut named: Vec<&str> = vec![&c.id, &c.reported_at, &c.status, &c.category];
        named.extend(c.description.names());
        named.extend(
            [&c.closed_at, &c.address, &c.lat, &c.lon, &c.department, &c.notes, &c.media_url]
                .into_iter()
                .flatten()
                .map(String::as_str),
        );
        named.extend(c.keep.iter().map(String::as_str));
        if let Some(missing) = named.iter().find(|n| !index.contains_key(**n)) {
            bail!("the mapping names column `{missing}`, which the file does not have");
        }
        let reference = app.reference();
        let by_code = |code: &str| reference.categories.values().find(|k| k.code == code).cloned();
        let mut categories = HashMap::new();
        let mut any_category = None;
        for (value, code) in &mapping.categories {
            let cat =
                by_code(code).with_context(|| format!("[categories] `{value}`: no category with code `{code}`"))?;
            anyhow::ensure!(!cat.is_class(), "[categories] `{value}`: `{code}` is a class; map to a subclass");
            if value == "*" {
                any_category = Some(cat);
            } else {
                categories.insert(value.clone(), cat);
            }
        }
        let mut departments = HashMap::new();
        for (value, code) in &mapping.departments {
            let d = reference.departments.values().find(|d| &d.code == code);
            let d = d.with_context(|| format!("[departments] `{value}`: no department with code `{code}`"))?;
            departments.insert(value.clone(), d.clone());
        }
        let mut states = HashMap::new();
        for (value, s) in &mapping.states {
            states.insert(value.clone(), parse_state(s).with_context(|| format!("[states] `{value}`"))?);
        }
        let districts: Vec<String> = reference
            .regions
            .values()
            .filter(|r| r.level() == RegionLevel::District)
            .map(|r| r.code.to_string())
            .collect();
        let district = match &mapping.district {
            Some(d) => {
                anyhow::ensure!(districts.contains(d), "district `{d}` is not a loaded district");
                Some(d.clone())
            }
            None if districts.len() == 1 => Some(districts[0].clone()),
            None => None,
        };
        Ok(Self {
            mapping,
            index,
            states,
            categories,
            any_category,
            departments,
            all_departments: reference.departments.clone(),
            district,
        })
    }

    fn field<'r>(&self, row: &'r csv::StringRecord, column: &str) -> Option<&'r str> {
        self.index.get(column).and_then(|i| row.get(*i)).map(str::trim).filter(|v| !v.is_empty())
    }

    fn time(&self, field: &str, v: &str) -> Result<Millis, String> {
        if self.mapping.time_format == "rfc3339" {
            return gridkeeper_domain::time::parse_rfc3339(field, v).map_err(|e| e.to_string());
        }
        let t = chrono::NaiveDateTime::parse_from_str(v, &self.mapping.time_format)
            .map_err(|_| format!("{field}: `{v}` does not match {}", self.mapping.time_format))?;
        Ok(t.and_utc().timestamp_millis() - i64::from(self.mapping.utc_offset_hours) * 3_600_000)
    }

    /// The historical case of a row, or why not.
    fn row(&self, app: &App, row: &csv::StringRecord) -> Result<(String, HistoricalCase), String> {
        let c = &self.mapping.columns;
        let id = self.field(row, &c.id).ok_or("no id")?;
        let external_id = format!("{}:{id}", self.mapping.system);
        let reported_at = self.time(&c.reported_at, self.field(row, &c.reported_at).ok_or("no report time")?)?;
        let closed_at = match c.closed_at.as_deref().and_then(|col| self.field(row, col)) {
            Some(v) => Some(self.time(c.closed_at.as_deref().unwrap_or_default(), v)?),
            None => None,
        };
        let status = self.field(row, &c.status).unwrap_or_default();
        let (state, rejection) =
            *self.states.get(status).ok_or_else(|| format!("status `{status}` is not mapped in [states]"))?;
        let category_value = self.field(row, &c.category).unwrap_or_default();
        let category = self
            .categories
            .get(category_value)
            .or(self.any_category.as_ref())
            .cloned()
            .ok_or_else(|| format!("category `{category_value}` is not mapped in [categories]"))?;
        let number = |col: &Option<String>| -> Result<Option<f64>, String> {
            match col.as_deref().and_then(|c| self.field(row, c)) {
                Some(v) => v.parse().map(Some).map_err(|_| format!("`{v}` is not a number")),
                None => Ok(None),
            }
        };
        let location = match (number(&c.lat)?, number(&c.lon)?) {
            (Some(lat), Some(lon)) => Some(LatLon::new(lat, lon).map_err(|e| e.to_string())?),
            _ => None,
        };
        let address = c.address.as_deref().and_then(|col| self.field(row, col)).map(str::to_string);
        if location.is_none() && address.is_none() {
            return Err("no location: neither lat/lon nor an address".into());
        }
        let grid = location.and_then(|p| app.locate(p));
        let district = match &grid {
            Some(g) => g.district().to_string(),
            None => self.district.clone().ok_or("outside every grid, and the mapping names no district")?,
        };
        let description: Vec<&str> = c.description.names().into_iter().filter_map(|col| self.field(row, col)).collect();
        let mut description = description.join(" — ");
        if description.is_empty() {
            description = category_value.to_string();
        }
        let lead = match c.department.as_deref().and_then(|col| self.field(row, col)) {
            Some(v) if self.departments.contains_key(v) => Some(self.departments[v].clone()),
            _ => category.default_department.and_then(|d| self.all_departments.get(&d).cloned()),
        };
        let mut exchange = Map::new();
        exchange.insert("via".into(), json!("import"));
        exchange.insert("external_id".into(), json!(external_id));
        exchange.insert("status".into(), json!(status));
        if let Some(u) = c.media_url.as_deref().and_then(|col| self.field(row, col)) {
            exchange.insert("media_url".into(), json!(u));
        }
        let original: Map<String, Value> =
            c.keep.iter().filter_map(|k| self.field(row, k).map(|v| (k.clone(), json!(v)))).collect();
        if !original.is_empty() {
            exchange.insert("original".into(), Value::Object(original));
        }
        let h = HistoricalCase {
            report: NewReport {
                district,
                grid,
                location,
                address,
                description,
                urgency: Urgency::Routine,
                suggested_category: Some(category.clone()),
                photos: vec![],
                anonymous: false,
                contact: None,
                source: Some(Source::Exchange),
            },
            reported_at,
            state,
            rejection,
            category: Some(category),
            lead,
            closed_at,
            notes: c.notes.as_deref().and_then(|col| self.field(row, col)).map(str::to_string),
            exchange,
        };
        Ok((external_id, h))
    }
}

/// The `import` account the events are recorded under, and the roles the run lends it: the
/// linkage center and grid leader of every district, and staff of every department.
pub async fn importer(store: &dyn Store, app: &App) -> anyhow::Result<Actor> {
    let id = match store.person_by_login("import").await? {
        Some(p) => p.id,
        None => {
            let p = NewPerson {
                login: "import".into(),
                name: "Data import".into(),
                phone: None,
                id_number: None,
                password_hash: None,
                grants: vec![],
            };
            store.create_person(&p, chrono::Utc::now().timestamp_millis()).await?
        }
    };
    let reference = app.reference();
    let mut grants = vec![];
    for r in reference.regions.values().filter(|r| r.level() == RegionLevel::District) {
        for role in [Role::Dispatcher, Role::GridLeader] {
            grants.push(Grant::new(role, Scope::Region { code: r.code.clone() })?);
        }
    }
    for d in reference.departments.keys() {
        grants.push(Grant::new(Role::DepartmentStaff, Scope::Department { id: *d })?);
    }
    Ok(Actor::person(id, grants))
}

/// One row of the file: its line, the value of its id column, and the case it becomes (its
/// original id, the finished projection and its events) or why it is refused.
pub struct Row {
    pub line: u64,
    pub id: String,
    pub result: Result<(String, Case, Vec<NewEvent>), String>,
}

/// The rows of a CSV file (UTF-8, with a header row) read under a mapping.
pub struct CaseRows<R: Read> {
    plan: Plan,
    records: csv::StringRecordsIntoIter<R>,
    seen: HashSet<String>,
    line: u64,
}

impl<R: Read> CaseRows<R> {
    /// Reads the header row and resolves the mapping against it and the reference data of `app`.
    pub fn new(app: &App, mapping: Mapping, input: R) -> anyhow::Result<Self> {
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
        let headers = reader.headers()?.clone();
        let plan = Plan::new(mapping, &headers, app)?;
        Ok(Self { plan, records: reader.into_records(), seen: HashSet::new(), line: 1 })
    }

    /// The next row, lived through the state machine by `actor` (the `import` account, see
    /// [`importer`]); `None` at the end of the file.
    pub fn next_row(&mut self, app: &App, actor: &Actor) -> Option<Row> {
        let record = self.records.next()?;
        self.line += 1;
        let plan = &self.plan;
        let (id, result) = match record {
            Err(e) => (String::new(), Err(format!("unreadable row: {e}"))),
            Ok(r) => (
                plan.field(&r, &plan.mapping.columns.id).unwrap_or_default().to_string(),
                plan.row(app, &r)
                    .and_then(|(id, h)| {
                        if self.seen.insert(id.clone()) {
                            Ok((id, h))
                        } else {
                            Err(format!("id `{id}` appears twice in the file"))
                        }
                    })
                    .and_then(|(id, h)| {
                        let calendar = app.calendar(&h.report.district);
                        historical(actor, h, &calendar).map(|(c, e)| (id, c, e)).map_err(|e| e.to_string())
                    }),
            ),
        };
        Some(Row { line: self.line, id, result })
    }
}
