//! `gridkeeper import regions`, `gridkeeper regions validate`, `gridkeeper export regions`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use gridkeeper_domain::{RegionCode, RegionLevel};
use gridkeeper_geo::import::ImportOptions;
use gridkeeper_geo::tree::{Report, Tolerances};
use gridkeeper_server::regions::{self, ImportOutcome, ImportRequest};
use gridkeeper_server::ApiError;

use gridkeeper::config::Config;

#[derive(Args)]
pub struct ImportArgs {
    /// A GeoJSON FeatureCollection of Polygons or MultiPolygons (WGS-84).
    file: PathBuf,
    /// Level of the features: district, street, community or grid.
    #[arg(long)]
    level: String,
    /// Property with each feature's key: a region code of that level, or the source's own
    /// identifier (codes are then allocated under --under and remembered with the key).
    #[arg(long)]
    code_property: String,
    /// Property with each feature's name (default: the code property).
    #[arg(long)]
    name_property: Option<String>,
    /// Property naming each feature's parent (one level up), created when new.
    #[arg(long)]
    parent_property: Option<String>,
    /// The region the imported regions (or their parents) hang under; created if missing.
    #[arg(long)]
    under: Option<String>,
    /// Name of --under when it is created.
    #[arg(long)]
    under_name: Option<String>,
    /// Fix what can be fixed (invalid geometries, overlaps, gaps, children outside their
    /// parent) and list every change; without it an invalid tree is refused.
    #[arg(long)]
    repair: bool,
    /// Validate and report, but store nothing.
    #[arg(long)]
    dry_run: bool,
    /// Write the report to this file: JSON if it ends in .json, Markdown otherwise.
    #[arg(long)]
    report: Option<PathBuf>,
    #[command(flatten)]
    tolerances: ToleranceArgs,
}

#[derive(Args)]
pub struct ToleranceArgs {
    /// Overlaps, gaps and protrusions below this many m² are rounding noise.
    #[arg(long, default_value_t = Tolerances::default().min_area_m2)]
    min_area: f64,
    /// Holes among children of a derived parent narrower than this (metres, mean width) are gaps;
    /// wider ones are enclaves.
    #[arg(long, default_value_t = Tolerances::default().max_gap_width_m)]
    max_gap_width: f64,
}

impl ToleranceArgs {
    fn get(&self) -> Tolerances {
        Tolerances { min_area_m2: self.min_area, max_gap_width_m: self.max_gap_width }
    }
}

#[derive(Subcommand)]
pub enum RegionsCommand {
    /// Validate the stored region tree (or the subtree under a region) and report.
    Validate {
        #[arg(long)]
        under: Option<String>,
        /// Write the report to this file: JSON if it ends in .json, Markdown otherwise.
        #[arg(long)]
        report: Option<PathBuf>,
        #[command(flatten)]
        tolerances: ToleranceArgs,
    },
}

#[derive(Args)]
pub struct ExportArgs {
    /// The region whose subtree to export.
    #[arg(long)]
    under: String,
    /// Simplify for display at this web map zoom level (0–24).
    #[arg(long)]
    zoom: Option<u8>,
    /// Output file (default: standard output).
    #[arg(long, short)]
    output: Option<PathBuf>,
}

fn code(field: &str, s: &str) -> anyhow::Result<RegionCode> {
    RegionCode::parse(s).map_err(|e| anyhow::anyhow!("--{field}: {}", e.reason))
}

fn api(e: ApiError) -> anyhow::Error {
    let p = e.problem();
    match &p.field {
        Some((field, reason)) => anyhow::anyhow!("{field}: {reason}"),
        None => anyhow::anyhow!("{}", p.detail),
    }
}

fn write_report(path: &Path, title: &str, report: &Report, extra: serde_json::Value) -> anyhow::Result<()> {
    let text = if path.extension().is_some_and(|e| e == "json") {
        let mut v = serde_json::json!(report);
        if let serde_json::Value::Object(extra) = extra {
            v.as_object_mut().expect("a report is an object").extend(extra);
        }
        serde_json::to_string_pretty(&v)?
    } else {
        regions::report_markdown(title, report)
    };
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

fn progress_bar() -> regions::Progress {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg:12} [{bar:40}] {pos}/{len} ({elapsed})")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    Box::new(move |stage: &str, done: u64, total: u64| {
        if bar.message() != stage {
            bar.set_message(stage.to_string());
            bar.set_length(total);
        }
        bar.set_position(done);
        if stage == "writing" && done == total {
            bar.finish_and_clear();
        }
    })
}

fn summary_line(o: &ImportOutcome) -> String {
    let s = &o.plan.summary;
    format!(
        "{} features: {} created, {} updated, {} unchanged, {} retired; {} issue(s), {} repair(s), {} note(s)",
        s.features,
        s.created,
        s.updated,
        s.unchanged,
        s.retired,
        o.plan.report.issues.len(),
        o.plan.report.changes.len(),
        o.plan.report.notes.len()
    )
}

pub async fn run_import(config: &Config, args: ImportArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let options = ImportOptions {
        level: RegionLevel::parse(&args.level).map_err(|e| anyhow::anyhow!("--level: {}", e.reason))?,
        code_property: args.code_property,
        name_property: args.name_property,
        parent_property: args.parent_property,
        under: args.under.as_deref().map(|u| code("under", u)).transpose()?,
        under_name: args.under_name,
        repair: args.repair,
        tolerances: args.tolerances.get(),
    };
    let store = gridkeeper::open_store(config).await?;
    let source = args.file.file_name().map_or_else(|| "file".into(), |n| n.to_string_lossy().to_string());
    let request = ImportRequest {
        text,
        source,
        options,
        dry_run: args.dry_run,
        by: None,
        now: chrono::Utc::now().timestamp_millis(),
    };
    let outcome = regions::import_regions(store.as_ref(), request, progress_bar()).await.map_err(api)?;
    if let Some(path) = &args.report {
        let extra = serde_json::json!({
            "accepted": outcome.accepted, "import_id": outcome.import_id, "summary": outcome.plan.summary,
            "codes": outcome.plan.codes, "retired": outcome.plan.retire, "lineage": outcome.plan.lineage,
        });
        write_report(path, &format!("Import of {}", args.file.display()), &outcome.plan.report, extra)?;
    }
    println!("{}", summary_line(&outcome));
    if !outcome.accepted {
        for issue in outcome.plan.report.issues.iter().take(20) {
            println!("  {}", serde_json::to_string(issue)?);
        }
        bail!(
            "refused: the regions would not tile ({} issue(s){}); nothing was stored{}",
            outcome.plan.report.issues.len(),
            if outcome.plan.report.issues.len() > 20 { ", the first 20 above" } else { "" },
            if args.report.is_some() {
                "; see the report"
            } else {
                "; --report FILE writes them all, --repair fixes what can be fixed"
            }
        );
    }
    match outcome.import_id {
        Some(id) => println!("stored as import {id}; a running server picks the new grids up within seconds"),
        None => println!("dry run: nothing stored"),
    }
    Ok(())
}

pub async fn run_regions(config: &Config, cmd: RegionsCommand) -> anyhow::Result<()> {
    let RegionsCommand::Validate { under, report, tolerances } = cmd;
    let under = under.as_deref().map(|u| code("under", u)).transpose()?;
    let store = gridkeeper::open_store(config).await?;
    let r = regions::validate_stored(store.as_ref(), under.as_ref(), tolerances.get()).await.map_err(api)?;
    if let Some(path) = &report {
        write_report(path, "Validation of the region tree", &r, serde_json::json!({ "valid": r.is_valid() }))?;
    }
    println!("{} issue(s), {} note(s)", r.issues.len(), r.notes.len());
    if !r.is_valid() {
        for issue in r.issues.iter().take(20) {
            println!("  {}", serde_json::to_string(issue)?);
        }
        bail!("the region tree is not valid");
    }
    println!("the region tree is valid");
    Ok(())
}

pub async fn run_export(config: &Config, args: ExportArgs) -> anyhow::Result<()> {
    let under = code("under", &args.under)?;
    if args.zoom.is_some_and(|z| z > 24) {
        bail!("--zoom: must be between 0 and 24");
    }
    let store = gridkeeper::open_store(config).await?;
    let live: std::collections::HashMap<RegionCode, gridkeeper_domain::Region> =
        store.regions().await?.into_iter().map(|r| (r.code.clone(), r)).collect();
    let now = chrono::Utc::now().timestamp_millis();
    let fc = regions::export(store.as_ref(), &live, &under, args.zoom, true, now).await.map_err(api)?;
    let text = fc.to_string();
    match &args.output {
        Some(path) => std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?,
        None => println!("{text}"),
    }
    eprintln!("exported {} regions", fc["features"].as_array().map_or(0, Vec::len));
    Ok(())
}
