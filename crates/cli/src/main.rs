//! `gridkeeper`: the one binary a town deploys. `serve`, `migrate`, `init`, `demo`, `user add`.

mod data;
mod demo;
mod exchange;
mod init;
mod regions;
mod triage;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use gridkeeper_domain::{Grant, Role, Scope};
use gridkeeper_store::{NewPerson, Store};

use gridkeeper::config::Config;
use gridkeeper::{init_logging, open_store};

#[derive(Parser)]
#[command(name = "gridkeeper", version, about = "Grid governance platform: report, dispatch, handle, verify, rate.")]
struct Cli {
    /// Configuration file (default: ./gridkeeper.toml if present).
    #[arg(long, global = true, env = "GRIDKEEPER_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (migrates the database first).
    Serve,
    /// Bring the database schema up to date and exit.
    Migrate,
    /// Set up a new deployment (idempotent): the national categories with their deadlines, the
    /// four platforms, Open311 questions, a working calendar with China's holidays, the first
    /// administrator and the system account of other systems. Never changes what is there.
    Init(init::InitArgs),
    /// Create a realistic demo town on SQLite and serve it, printing a login for every role.
    Demo(demo::DemoArgs),
    /// Copy a SQLite deployment into an empty PostgreSQL database; prints the rows and checksums
    /// of every table on both sides.
    MigrateData {
        /// The SQLite database: `sqlite:path/to/gridkeeper.db`.
        #[arg(long)]
        from: String,
        /// The PostgreSQL database: `postgres://user:password@host:5432/name` (empty or new).
        #[arg(long)]
        to: String,
    },
    /// Back up the database to FILE while the server runs (SQLite: a consistent copy by
    /// `VACUUM INTO`; PostgreSQL: `pg_dump`).
    Backup { file: std::path::PathBuf },
    /// Put a backup in place of the database (stop the server first).
    Restore {
        file: std::path::PathBuf,
        /// Replace an existing database (SQLite keeps the old file as NAME.before-restore).
        #[arg(long)]
        replace: bool,
    },
    /// Manage people.
    #[command(subcommand)]
    User(UserCommand),
    /// The hash-chained audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Import data from other systems.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Export data for other systems.
    #[command(subcommand)]
    Export(ExportCommand),
    /// The region tree: validation.
    #[command(subcommand)]
    Regions(regions::RegionsCommand),
    /// Open311 GeoReport v2: API keys of client systems.
    #[command(subcommand)]
    Open311(exchange::Open311Command),
    /// Personal data: retention and encryption keys.
    #[command(subcommand)]
    Privacy(PrivacyCommand),
    /// Intelligent triage: evaluate category suggestion on labelled reports.
    #[command(subcommand)]
    Triage(triage::TriageCommand),
}

#[derive(Subcommand)]
enum ImportCommand {
    #[command(flatten)]
    Exchange(exchange::ImportCommand),
    /// Import a region tree from GeoJSON: validated (refused with a report unless --repair),
    /// updated in place when imported again, regions no longer in the file retired.
    Regions(regions::ImportArgs),
}

#[derive(Subcommand)]
enum ExportCommand {
    #[command(flatten)]
    Exchange(exchange::ExportCommand),
    /// A region subtree as GeoJSON with live figures per grid, simplified for a zoom level.
    Regions(regions::ExportArgs),
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk the chain; name the first entry that was changed, inserted or removed; and, with
    /// server.audit_checkpoints.url, check that the newest checkpoint's entries are all there.
    Verify,
    /// Write the chain's head to server.audit_checkpoints.url now (the server does it every
    /// audit_checkpoints.every_minutes).
    Checkpoint,
}

#[derive(Subcommand)]
enum PrivacyCommand {
    /// Anonymise the personal data of cases closed longer ago than server.retention_days.
    Anonymise,
    /// Add a new encryption key to the key file and re-encrypt every sealed value with it.
    RotateKey,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a staff account. Prints a generated password unless --password-stdin is given.
    Add {
        login: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        phone: Option<String>,
        /// ROLE=SCOPE, repeatable: `dispatcher=region:330483`, `department_staff=department:3`.
        #[arg(long = "grant", required = true)]
        grants: Vec<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Enrol a TOTP second factor; prints the otpauth:// URL for an authenticator app.
    Totp { login: String },
    /// Create an API token for another system acting as this person; prints it once.
    Token {
        login: String,
        #[arg(long)]
        name: String,
    },
}

pub fn parse_grant(s: &str) -> anyhow::Result<Grant> {
    let (role, scope) = s.split_once('=').with_context(|| format!("`{s}`: write a grant as ROLE=SCOPE"))?;
    Ok(Grant::new(Role::parse(role)?, Scope::parse(scope)?)?)
}

/// Writes an administrative act to the audit log (the actor is the operator at the console).
async fn audit(
    store: &dyn Store,
    action: &str,
    object: Option<String>,
    detail: serde_json::Value,
) -> anyhow::Result<()> {
    let at = chrono::Utc::now().timestamp_millis();
    store.audit(&gridkeeper_store::NewAudit { at, actor: None, action: action.into(), object, detail }).await?;
    Ok(())
}

/// Audits a change of configuration: the settings (never the keys) are compared with those
/// recorded at the last start, and the keys that changed are written to the audit log.
async fn record_config(store: &dyn Store, config: &Config) -> anyhow::Result<()> {
    let mut now = serde_json::to_value(&config.server)?;
    now["log"] = serde_json::to_value(&config.log)?;
    now["database"] = serde_json::json!(config.database.url.split(':').next());
    now["privacy_keys"] = serde_json::json!(format!("{:?}", config.privacy));
    let q = gridkeeper_store::AuditQuery { action: Some("config".into()), limit: 1, ..Default::default() };
    let last = store.audit_search(&q).await?.into_iter().next().map(|e| e.detail["settings"].clone());
    if last.as_ref() == Some(&now) {
        return Ok(());
    }
    let changed: Vec<String> = match (&last, now.as_object()) {
        (Some(serde_json::Value::Object(old)), Some(new)) => {
            new.iter().filter(|(k, v)| old.get(*k) != Some(v)).map(|(k, _)| k.clone()).collect()
        }
        _ => vec!["(first start)".into()],
    };
    audit(store, "config", None, serde_json::json!({ "changed": changed, "settings": now })).await
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(cli.config.as_deref())?;
    init_logging(&config.log.level);
    match cli.command {
        Command::Serve => {
            let store = open_store(&config).await?;
            record_config(&*store, &config).await?;
            let sms = Arc::new(gridkeeper_server::sms::LogSms::default());
            let feed = gridkeeper_store::live_feed(&config.database.url).await.context("cannot start the live feed")?;
            let app = gridkeeper_server::App::new(store, config.server.clone(), sms).await?.with_live_feed(feed);
            if config.webhooks.enabled {
                gridkeeper_server::webhooks::start(app.clone(), config.webhooks.clone());
            }
            let listener = tokio::net::TcpListener::bind(config.server.bind)
                .await
                .with_context(|| format!("cannot listen on {}", config.server.bind))?;
            tracing::info!(address = %listener.local_addr()?, database = ?config.database, "serving");
            gridkeeper_server::serve(app, listener).await?;
        }
        Command::Migrate => {
            open_store(&config).await?;
            println!("database is up to date");
        }
        Command::Init(args) => init::run(&config, args).await?,
        Command::Demo(args) => demo::run(config, args, cli.config.as_deref()).await?,
        Command::MigrateData { from, to } => data::migrate_data(&from, &to).await?,
        Command::Backup { file } => data::backup(&config.database.url, &file).await?,
        Command::Restore { file, replace } => data::restore(&config.database.url, &file, replace).await?,
        Command::User(UserCommand::Add { login, name, phone, grants, password_stdin }) => {
            let grants = grants.iter().map(|g| parse_grant(g)).collect::<anyhow::Result<Vec<_>>>()?;
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                (line.trim_end_matches(['\r', '\n']).to_string(), false)
            } else {
                (gridkeeper_server::auth::new_token(12), true)
            };
            if password.chars().count() < 8 {
                bail!("the password must have at least 8 characters");
            }
            let hash = gridkeeper_server::auth::hash_password(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
            let store = open_store(&config).await?;
            let now = chrono::Utc::now().timestamp_millis();
            let phone = phone.as_deref().map(gridkeeper_domain::parse_phone).transpose()?;
            let person =
                NewPerson { login: login.clone(), name, phone, id_number: None, password_hash: Some(hash), grants };
            // The account and its audit entry (`person:{id}`) in one transaction, as init makes them.
            let detail = serde_json::json!({ "created": login, "grants": person.grants });
            let entry =
                gridkeeper_store::NewAudit { at: now, actor: None, action: "role_change".into(), object: None, detail };
            let id = store.create_person_audited(&person, now, &entry).await?;
            println!("created {login} (id {id})");
            if generated {
                println!("password: {password}");
            }
        }
        Command::User(UserCommand::Totp { login }) => {
            let store = open_store(&config).await?;
            let person = store.person_by_login(&login).await?.with_context(|| format!("no person `{login}`"))?;
            let (secret, url) = gridkeeper_server::auth::new_totp_secret(&login);
            store.set_totp(person.id, Some(&secret)).await?;
            audit(
                &*store,
                "second_factor",
                Some(format!("person:{}", person.id)),
                serde_json::json!({ "enrolled": true }),
            )
            .await?;
            println!("{url}");
        }
        Command::User(UserCommand::Token { login, name }) => {
            let store = open_store(&config).await?;
            let person = store.person_by_login(&login).await?.with_context(|| format!("no person `{login}`"))?;
            let token = gridkeeper_server::auth::new_token(32);
            let now = chrono::Utc::now().timestamp_millis();
            store.create_api_token(&gridkeeper_server::auth::token_hash(&token), person.id, &name, now).await?;
            audit(&*store, "api_token", Some(format!("person:{}", person.id)), serde_json::json!({ "name": name }))
                .await?;
            println!("{token}");
        }
        Command::Import(ImportCommand::Exchange(cmd)) => exchange::run_import(&config, cmd).await?,
        Command::Import(ImportCommand::Regions(args)) => regions::run_import(&config, args).await?,
        Command::Export(ExportCommand::Exchange(cmd)) => exchange::run_export(&config, cmd).await?,
        Command::Export(ExportCommand::Regions(args)) => regions::run_export(&config, args).await?,
        Command::Regions(cmd) => regions::run_regions(&config, cmd).await?,
        Command::Open311(cmd) => exchange::run_open311(&config, cmd).await?,
        Command::Triage(cmd) => triage::run(cmd)?,
        Command::Audit(AuditCommand::Verify) => {
            let store = open_store(&config).await?;
            match store.audit_verify().await? {
                gridkeeper_store::AuditCheck::Intact { entries } => println!("audit log intact: {entries} entries"),
                gridkeeper_store::AuditCheck::Broken { id, reason } => {
                    bail!("audit log broken at entry {id}: {reason}")
                }
            }
            use gridkeeper_server::checkpoints::{Anchored, Checkpoints};
            match Checkpoints::open(&config.server)? {
                None => println!("no checkpoints configured (server.audit_checkpoints.url): removing the newest entries would go unseen"),
                Some(c) => match c.verify(&*store).await? {
                    Anchored::NoCheckpoint => println!("no checkpoint written yet"),
                    Anchored::Holds(c) => {
                        println!("the checkpoint written at {} holds: entries 1 to {} are all there", c.written_at, c.entries)
                    }
                    Anchored::Broken(reason) => bail!("audit log broken: {reason}"),
                },
            }
        }
        Command::Audit(AuditCommand::Checkpoint) => {
            let store = open_store(&config).await?;
            let c = gridkeeper_server::checkpoints::Checkpoints::open(&config.server)?
                .context("set server.audit_checkpoints.url to say where checkpoints go")?;
            match c.write(&*store, chrono::Utc::now().timestamp_millis()).await? {
                Some(c) => println!("checkpoint written: {} entries, head {}", c.entries, c.hash),
                None => println!("the newest checkpoint already holds the whole log"),
            }
        }
        Command::Privacy(PrivacyCommand::Anonymise) => {
            let store = open_store(&config).await?;
            let sms = Arc::new(gridkeeper_server::sms::LogSms::default());
            let app = gridkeeper_server::App::new(store, config.server.clone(), sms).await?;
            let n = app.anonymise_expired().await.map_err(|e| anyhow::anyhow!(e.problem().detail.clone()))?;
            println!("anonymised {n} cases");
        }
        Command::Privacy(PrivacyCommand::RotateKey) => {
            let id = config.privacy.add_key()?;
            let store = open_store(&config).await?;
            let n = store.reseal_all().await?;
            audit(&*store, "key_rotation", None, serde_json::json!({ "new_key": id, "values_resealed": n })).await?;
            println!("new key {id}; re-encrypted {n} values");
        }
    }
    Ok(())
}
