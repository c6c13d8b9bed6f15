//! What the `gridkeeper` binary shares with `gridkeeper-bench` (`crates/bench`): the
//! configuration, logging, and the store and application it configures.

pub mod config;
pub mod import;

use std::sync::Arc;

use anyhow::{bail, Context};
use gridkeeper_store::Store;

use crate::config::Config;

/// Logs at `level` (a tracing filter) unless `RUST_LOG` says otherwise.
pub fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_target(false).init();
}

/// The configured store, opened and migrated.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let url = &config.database.url;
    if gridkeeper_store::Backend::of(url).is_none() {
        bail!("database.url must start with `sqlite:` or `postgres://`");
    }
    let vault = Arc::new(config.privacy.vault()?);
    let store = gridkeeper_store::open(url, vault).await.context("cannot open the database")?;
    store.migrate().await.context("cannot migrate the database")?;
    Ok(store)
}

/// The application over the configured store (for commands that use its services).
pub async fn app(config: &Config) -> anyhow::Result<gridkeeper_server::AppState> {
    let store = open_store(config).await?;
    let sms = Arc::new(gridkeeper_server::sms::LogSms::default());
    Ok(gridkeeper_server::App::new(store, config.server.clone(), sms).await?)
}
