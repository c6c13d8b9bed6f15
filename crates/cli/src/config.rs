//! Configuration: defaults → `gridkeeper.toml` → `GRIDKEEPER__SECTION__KEY` environment.
//! An unknown key anywhere is an error; secrets are never printed.

use std::path::Path;

use anyhow::Context;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub database: Database,
    pub server: gridkeeper_server::Settings,
    pub log: Log,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Database {
    /// `sqlite:path/to/file.db` (default).
    pub url: String,
}

impl Default for Database {
    fn default() -> Self {
        Self { url: "sqlite:gridkeeper.db".into() }
    }
}

/// Shows the kind of database only: a URL may carry a password.
impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = self.url.split(':').next().unwrap_or("?");
        f.debug_struct("Database").field("url", &format_args!("{kind}:<redacted>")).finish()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Log {
    /// A tracing filter, e.g. `info` or `gridkeeper_server=debug,info`. `RUST_LOG` overrides it.
    pub level: String,
}

impl Default for Log {
    fn default() -> Self {
        Self { level: "info".into() }
    }
}

impl Config {
    /// Loads the configuration. `file` must exist when given explicitly; the default
    /// `gridkeeper.toml` is optional.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(f) => {
                anyhow::ensure!(f.exists(), "configuration file {} does not exist", f.display());
                fig = fig.merge(Toml::file_exact(f));
            }
            None => fig = fig.merge(Toml::file("gridkeeper.toml")),
        }
        fig = fig.merge(Env::prefixed("GRIDKEEPER__").split("__"));
        fig.extract().map_err(|e| anyhow::anyhow!(explain(e))).context("invalid configuration")
    }
}

fn explain(e: figment::Error) -> String {
    e.into_iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail decides the closure's error type
    fn layers_and_refuses_unknown_keys() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "gridkeeper.toml",
                "[database]\nurl = \"sqlite:from-file.db\"\n[server]\nsession_hours = 3\n",
            )?;
            jail.set_env("GRIDKEEPER__SERVER__SESSION_HOURS", "5");
            let c = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(c.database.url, "sqlite:from-file.db");
            assert_eq!(c.server.session_hours, 5);
            assert_eq!(c.server.utc_offset_hours, 8);
            assert!(!format!("{:?}", c.database).contains("from-file"));

            jail.set_env("GRIDKEEPER__SERVER__SESION_HOURS", "5");
            let err = Config::load(None).unwrap_err();
            assert!(format!("{err:#}").contains("sesion_hours"), "{err:#}");
            Ok(())
        });
    }

    #[test]
    fn an_explicit_file_must_exist() {
        assert!(Config::load(Some(Path::new("/nonexistent/gridkeeper.toml"))).is_err());
    }
}
