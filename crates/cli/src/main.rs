//! `gridkeeper`: the one binary. `serve`, `migrate`, `demo`, `user add`.

mod config;
mod demo;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use gridkeeper_domain::{Grant, Role, Scope};
use gridkeeper_store::{NewPerson, SqliteStore, Store};

use crate::config::Config;

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
    /// Create a realistic demo town on SQLite and serve it, printing a login for every role.
    Demo(demo::DemoArgs),
    /// Manage people.
    #[command(subcommand)]
    User(UserCommand),
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
}

fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_target(false).init();
}

pub async fn open_store(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if !url.starts_with("sqlite:") {
        bail!("database.url must start with `sqlite:` (PostgreSQL support comes later)");
    }
    let store = SqliteStore::open(url).await.context("cannot open the database")?;
    store.migrate().await.context("cannot migrate the database")?;
    Ok(Arc::new(store))
}

pub fn parse_grant(s: &str) -> anyhow::Result<Grant> {
    let (role, scope) = s.split_once('=').with_context(|| format!("`{s}`: write a grant as ROLE=SCOPE"))?;
    Ok(Grant::new(Role::parse(role)?, Scope::parse(scope)?)?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = Config::load(cli.config.as_deref())?;
    init_logging(&config.log.level);
    match cli.command {
        Command::Serve => {
            let store = open_store(&config.database.url).await?;
            let app = gridkeeper_server::App::new(store, config.server.clone()).await?;
            let listener = tokio::net::TcpListener::bind(config.server.bind)
                .await
                .with_context(|| format!("cannot listen on {}", config.server.bind))?;
            tracing::info!(address = %listener.local_addr()?, database = ?config.database, "serving");
            gridkeeper_server::serve(app, listener).await?;
        }
        Command::Migrate => {
            open_store(&config.database.url).await?;
            println!("database is up to date");
        }
        Command::Demo(args) => demo::run(config, args).await?,
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
            let store = open_store(&config.database.url).await?;
            let now = chrono::Utc::now().timestamp_millis();
            let person = NewPerson { login: login.clone(), name, phone, password_hash: Some(hash), grants };
            let id = store.create_person(&person, now).await?;
            println!("created {login} (id {id})");
            if generated {
                println!("password: {password}");
            }
        }
    }
    Ok(())
}
