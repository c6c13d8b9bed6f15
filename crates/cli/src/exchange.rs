//! Data exchange from the command line: `import cases FILE --mapping MAP.toml`,
//! `export cases`, and `open311 key add|list|revoke`.
//!
//! An import lives each row through the state machine (`exchange::historical`) as the `import`
//! account, holding for the run only the roles each step needs, and stores the finished
//! histories in batches with `Store::import_history`: original times kept, grids assigned from the
//! loaded grid index, every refused row listed with its reason.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use gridkeeper_domain::exchange::{historical, spreadsheet_text, HistoricalCase};
use gridkeeper_domain::{
    Actor, Case, CaseState, Category, Department, Grant, LatLon, Millis, NewEvent, NewReport, RegionLevel, Rejection,
    Role, Scope, Source, Urgency,
};
use gridkeeper_server::export::{export_to, query_from_filters, ExportFormat};
use gridkeeper_server::App;
use gridkeeper_store::{NewPerson, Respond, Store};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use gridkeeper::config::Config;

#[derive(Subcommand)]
pub enum ImportCommand {
    /// Import historical cases from a CSV file, mapped by a TOML file (see docs/DATA.md).
    Cases(ImportArgs),
}

#[derive(Args)]
pub struct ImportArgs {
    /// The CSV file (UTF-8, with a header row).
    file: PathBuf,
    /// The mapping of columns and values (docs/examples/sf311-mapping.toml is one).
    #[arg(long)]
    mapping: PathBuf,
    /// Write the refused rows (line, id, reason) to this CSV file.
    #[arg(long)]
    rejects: Option<PathBuf>,
    /// Check every row and report, but store nothing.
    #[arg(long)]
    dry_run: bool,
    /// Rows stored per transaction.
    #[arg(long, default_value_t = 500)]
    batch: usize,
}

#[derive(Subcommand)]
pub enum ExportCommand {
    /// Export cases to CSV, GeoJSON or XLSX, streamed.
    Cases {
        #[arg(long, default_value = "csv")]
        format: String,
        /// The filters of the case list as a query string: `state=closed&region=330483101&from=2026-01-01T00:00:00Z`.
        #[arg(long, default_value = "")]
        filter: String,
        /// Output file (default: standard output).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum Open311Command {
    /// API keys of Open311 clients.
    #[command(subcommand)]
    Key(KeyCommand),
}

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Create a key; requests posted with it are filed as PERSON with their roles. Prints it once.
    Add {
        name: String,
        /// Login of the person the key acts as.
        #[arg(long)]
        person: String,
        /// What POST requests answers: `id` (service_request_id) or `token`.
        #[arg(long, default_value = "id")]
        respond: String,
    },
    List,
    Revoke {
        name: String,
    },
}

// ---------------------------------------------------------------- the mapping file

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
async fn importer(store: &dyn Store, app: &App) -> anyhow::Result<Actor> {
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

#[derive(Default, Debug)]
pub struct ImportReport {
    pub rows: u64,
    pub imported: u64,
    pub already: u64,
    pub rejected: Vec<(u64, String, String)>,
    pub in_grid: u64,
}

async fn flush(
    store: &dyn Store,
    batch: &mut Vec<(String, Case, Vec<NewEvent>)>,
    report: &mut ImportReport,
    offset: i32,
    dry_run: bool,
) -> anyhow::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = batch.iter().map(|(id, _, _)| id.clone()).collect();
    let done = store.imported_external_ids(&ids).await?;
    let fresh: Vec<(Case, Vec<NewEvent>)> =
        batch.drain(..).filter(|(id, _, _)| !done.contains(id)).map(|(_, c, e)| (c, e)).collect();
    report.already += done.len() as u64;
    if !dry_run {
        store.import_history(&fresh, offset).await?;
    }
    report.imported += fresh.len() as u64;
    report.in_grid += fresh.iter().filter(|(c, _)| c.grid.is_some()).count() as u64;
    Ok(())
}

/// Imports `file` with `mapping` into the store behind `app`.
pub async fn import_cases(
    app: &App,
    file: &Path,
    mapping: Mapping,
    args_batch: usize,
    dry_run: bool,
) -> anyhow::Result<ImportReport> {
    let store = app.store.clone();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let headers = reader.headers()?.clone();
    let plan = Plan::new(mapping, &headers, app)?;
    let actor = importer(&*store, app).await?;
    let started = Instant::now();
    let mut report = ImportReport::default();
    let mut batch = Vec::with_capacity(args_batch);
    let mut seen = HashSet::new();
    for (i, record) in reader.records().enumerate() {
        let line = i as u64 + 2;
        report.rows += 1;
        let (id, result) = match record {
            Err(e) => (String::new(), Err(format!("unreadable row: {e}"))),
            Ok(r) => (
                plan.field(&r, &plan.mapping.columns.id).unwrap_or_default().to_string(),
                plan.row(app, &r)
                    .and_then(|(id, h)| {
                        if seen.insert(id.clone()) {
                            Ok((id, h))
                        } else {
                            Err(format!("id `{id}` appears twice in the file"))
                        }
                    })
                    .and_then(|(id, h)| {
                        let calendar = app.calendar(&h.report.district);
                        historical(&actor, h, &calendar).map(|(c, e)| (id, c, e)).map_err(|e| e.to_string())
                    }),
            ),
        };
        match result {
            Ok(x) => batch.push(x),
            Err(reason) => report.rejected.push((line, id, reason)),
        }
        if batch.len() >= args_batch.max(1) {
            flush(&*store, &mut batch, &mut report, app.settings.utc_offset_hours, dry_run).await?;
            eprintln!(
                "  {} rows: {} imported, {} already there, {} refused ({:.1} s)",
                report.rows,
                report.imported,
                report.already,
                report.rejected.len(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    flush(&*store, &mut batch, &mut report, app.settings.utc_offset_hours, dry_run).await?;
    Ok(report)
}

pub async fn run_import(config: &Config, cmd: ImportCommand) -> anyhow::Result<()> {
    let ImportCommand::Cases(args) = cmd;
    let text =
        std::fs::read_to_string(&args.mapping).with_context(|| format!("cannot read {}", args.mapping.display()))?;
    let mapping: Mapping = toml::from_str(&text).with_context(|| format!("{}", args.mapping.display()))?;
    let app = gridkeeper::app(config).await?;
    let report = import_cases(&app, &args.file, mapping, args.batch, args.dry_run).await?;
    println!(
        "{} rows: {} cases imported{} ({} in a grid), {} already imported, {} refused",
        report.rows,
        report.imported,
        if args.dry_run { " (dry run: nothing stored)" } else { "" },
        report.in_grid,
        report.already,
        report.rejected.len()
    );
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    for (_, _, reason) in &report.rejected {
        *reasons.entry(reason.split(':').next().unwrap_or(reason).to_string()).or_default() += 1;
    }
    for (reason, n) in reasons {
        println!("  {n} × {reason}");
    }
    if let Some(path) = &args.rejects {
        let mut w = csv::Writer::from_path(path).with_context(|| format!("cannot write {}", path.display()))?;
        w.write_record(["line", "id", "reason"])?;
        for (line, id, reason) in &report.rejected {
            w.write_record([line.to_string().as_str(), &spreadsheet_text(id), &spreadsheet_text(reason)])?;
        }
        w.flush()?;
        println!("refused rows written to {}", path.display());
    }
    if !args.dry_run && report.imported > 0 {
        crate::audit(
            &*app.store,
            "import",
            None,
            json!({ "file": args.file.display().to_string(), "imported": report.imported, "refused": report.rejected.len() }),
        )
        .await?;
    }
    Ok(())
}

pub async fn run_export(config: &Config, cmd: ExportCommand) -> anyhow::Result<()> {
    let ExportCommand::Cases { format, filter, output } = cmd;
    let format =
        ExportFormat::parse(&format).with_context(|| format!("format `{format}`: use csv, geojson or xlsx"))?;
    let app = gridkeeper::app(config).await?;
    let query = query_from_filters(&app, &filter).map_err(|e| anyhow::anyhow!(e.problem().detail.clone()))?;
    let n = match &output {
        Some(path) => {
            let mut f = std::io::BufWriter::new(
                std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
            );
            export_to(&app, query, format, &mut f).await?
        }
        None => export_to(&app, query, format, &mut std::io::stdout()).await?,
    };
    crate::audit(
        &*app.store,
        "export",
        Some(format!("cases.{}", format.extension())),
        json!({ "filters": filter, "cases": n }),
    )
    .await?;
    eprintln!("exported {n} cases");
    Ok(())
}

pub async fn run_open311(config: &Config, cmd: Open311Command) -> anyhow::Result<()> {
    let store = gridkeeper::open_store(config).await?;
    let now = chrono::Utc::now().timestamp_millis();
    match cmd {
        Open311Command::Key(KeyCommand::Add { name, person, respond }) => {
            let respond = match respond.as_str() {
                "id" => Respond::Id,
                "token" => Respond::Token,
                other => bail!("--respond `{other}`: use id or token"),
            };
            let p = store.person_by_login(&person).await?.with_context(|| format!("no person `{person}`"))?;
            let key = gridkeeper_server::auth::new_token(24);
            store.create_open311_key(&name, &gridkeeper_server::auth::token_hash(&key), p.id, respond, now).await?;
            crate::audit(&*store, "open311_key", Some(format!("person:{}", p.id)), json!({ "created": name })).await?;
            println!("{key}");
        }
        Open311Command::Key(KeyCommand::List) => {
            for k in store.open311_keys().await? {
                let login = store.person(k.person_id).await?.map(|p| p.login).unwrap_or_default();
                println!(
                    "{}\t{}\t{}\t{}",
                    k.name,
                    login,
                    k.respond.as_str(),
                    gridkeeper_domain::time::to_rfc3339(k.created_at)
                );
            }
        }
        Open311Command::Key(KeyCommand::Revoke { name }) => {
            if !store.revoke_open311_key(&name, now).await? {
                bail!("no live key named `{name}`");
            }
            crate::audit(&*store, "open311_key", None, json!({ "revoked": name })).await?;
            println!("revoked {name}");
        }
    }
    Ok(())
}
