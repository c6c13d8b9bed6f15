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
    pub privacy: Privacy,
    pub webhooks: gridkeeper_server::webhooks::WebhookSettings,
    pub log: Log,
}

/// Keys for the encryption of personal data at rest.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Privacy {
    /// `ID:BASE64` keys, current first; older ones still decrypt (rotation). When empty, the
    /// keys are read from `key_file`, which is created with fresh keys on first use.
    pub keys: Vec<String>,
    /// Base64 key of the blind indexes (lookup of a phone number without storing it).
    pub index_key: Option<String>,
    pub key_file: std::path::PathBuf,
}

impl Default for Privacy {
    fn default() -> Self {
        Self { keys: vec![], index_key: None, key_file: "gridkeeper.keys".into() }
    }
}

/// Never prints key material.
impl std::fmt::Debug for Privacy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.split(':').next().unwrap_or("?")).collect();
        f.debug_struct("Privacy").field("keys", &ids).field("key_file", &self.key_file).finish()
    }
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    keys: Vec<String>,
    index_key: String,
}

impl Privacy {
    /// The vault of the configured keys, or of the key file (created on first use, mode 0600).
    pub fn vault(&self) -> anyhow::Result<gridkeeper_store::Vault> {
        use anyhow::Context;
        if !self.keys.is_empty() {
            let index = self.index_key.as_deref().context("privacy.index_key is required with privacy.keys")?;
            return Ok(gridkeeper_store::Vault::new(&self.keys, index)?);
        }
        let path = &self.key_file;
        if !path.exists() {
            let file = KeyFile {
                keys: vec![gridkeeper_store::Vault::generate_key("k1")],
                index_key: gridkeeper_store::Vault::generate_index_key(),
            };
            write_private(path, &toml::to_string(&file)?)
                .with_context(|| format!("cannot create the key file {}", path.display()))?;
            tracing::warn!(file = %path.display(), "created new encryption keys; back this file up with the database");
        }
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read the key file {}", path.display()))?;
        let file: KeyFile =
            toml::from_str(&text).with_context(|| format!("the key file {} is malformed", path.display()))?;
        Ok(gridkeeper_store::Vault::new(&file.keys, &file.index_key)?)
    }

    /// Adds a new current key to the key file (old keys stay, to read old data).
    pub fn add_key(&self) -> anyhow::Result<String> {
        anyhow::ensure!(
            self.keys.is_empty(),
            "keys come from the configuration: add the new key there, first in the list"
        );
        let text = std::fs::read_to_string(&self.key_file)?;
        let mut file: KeyFile = toml::from_str(&text)?;
        let id = format!("k{}", file.keys.len() + 1);
        file.keys.insert(0, gridkeeper_store::Vault::generate_key(&id));
        write_private(&self.key_file, &toml::to_string(&file)?)?;
        Ok(id)
    }
}

fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)?.write_all(text.as_bytes())
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Database {
    /// `sqlite:path/to/file.db` (default), or `postgres://user:password@host:5432/name` for
    /// PostgreSQL (many server instances sharing one database).
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
