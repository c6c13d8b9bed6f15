//! Data exchange from the command line: `import cases FILE --mapping MAP.toml`,
//! `export cases`, and `open311 key add|list|revoke`.
//!
//! An import reads each row and lives it through the state machine (`gridkeeper::import`) as the
//! `import` account, holding for the run only the roles each step needs, and stores the finished
//! histories in batches with `Store::import_history`: original times kept, grids assigned from the
//! loaded grid index, every refused row listed with its reason.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use gridkeeper_domain::exchange::spreadsheet_text;
use gridkeeper_domain::{Case, NewEvent};
use gridkeeper_server::export::{export_to, query_from_filters, ExportFormat};
use gridkeeper_server::App;
use gridkeeper_store::{Respond, Store};
use serde_json::json;

use gridkeeper::config::Config;
use gridkeeper::import::{importer, CaseRows, Mapping, Row};

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
    let input = std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut rows = CaseRows::new(app, mapping, input)?;
    let actor = importer(&*store, app).await?;
    let started = Instant::now();
    let mut report = ImportReport::default();
    let mut batch = Vec::with_capacity(args_batch);
    while let Some(Row { line, id, result }) = rows.next_row(app, &actor) {
        report.rows += 1;
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
