//! Builds the web application in `web/` so that `cargo build` embeds it (see `src/web.rs`).
//!
//! The build runs only when `web/dist/index.html` is missing or older than a source of the web
//! app: `npm ci` (when `node_modules` is missing or older than `package-lock.json`), then
//! `npm run build`. When it fails and an older build exists, that build is embedded with a
//! warning (so a half-edited web app never stops the Rust build of others); when there is no
//! build at all, the Rust build fails with the reason. `GRIDKEEPER_SKIP_WEB_BUILD=1` skips all
//! of this (the binary then serves a note instead of the app).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

/// What the web build reads. Changes to any of these re-run this script.
const SOURCES: &[&str] = &[
    "src",
    "public",
    "scripts",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
    "tsconfig.app.json",
];

fn main() {
    let web = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo")).join("../../web");
    let web = web.canonicalize().unwrap_or(web);
    for s in SOURCES {
        println!("cargo:rerun-if-changed={}", web.join(s).display());
    }
    println!("cargo:rerun-if-changed={}", web.join("dist/index.html").display());
    println!("cargo:rerun-if-env-changed=GRIDKEEPER_SKIP_WEB_BUILD");
    if std::env::var_os("GRIDKEEPER_SKIP_WEB_BUILD").is_some_and(|v| !v.is_empty() && v != "0") {
        return;
    }
    if !web.join("package.json").exists() {
        // Packaged without the web app (e.g. `cargo package`): nothing to build.
        return;
    }
    let built = modified(&web.join("dist/index.html"));
    let newest = SOURCES.iter().filter_map(|s| newest(&web.join(s))).max();
    if built.is_some() && built >= newest {
        return;
    }
    let _lock = match Lock::take(&web.join(".build-lock")) {
        Ok(lock) => lock,
        Err(e) => return fail(built.is_some(), &format!("cannot lock web/.build-lock: {e}")),
    };
    // Another build may have finished while we waited for the lock.
    let built = modified(&web.join("dist/index.html"));
    if built.is_some() && built >= newest {
        return;
    }
    let installed = modified(&web.join("node_modules/.package-lock.json"));
    if installed.is_none() || installed < modified(&web.join("package-lock.json")) {
        println!("cargo:warning=building the web app: npm ci in {}", web.display());
        if let Err(e) = npm(&web, &["ci", "--no-audit", "--no-fund"]) {
            return fail(built.is_some(), &e);
        }
    }
    println!("cargo:warning=building the web app: npm run build in {}", web.display());
    if let Err(e) = npm(&web, &["run", "build"]) {
        fail(built.is_some(), &e);
    }
}

fn npm(dir: &Path, args: &[&str]) -> Result<(), String> {
    let out = Command::new("npm").args(args).current_dir(dir).output().map_err(|e| {
        format!(
            "cannot run `npm {}` ({e}). The web app needs Node.js 20.19 or newer with npm; install them, \
             or set GRIDKEEPER_SKIP_WEB_BUILD=1 to build without the web app",
            args.join(" ")
        )
    })?;
    if out.status.success() {
        return Ok(());
    }
    let tail = |b: &[u8]| {
        let s = String::from_utf8_lossy(b);
        let lines: Vec<&str> = s.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    };
    Err(format!(
        "`npm {}` in {} failed ({}):\n{}\n{}",
        args.join(" "),
        dir.display(),
        out.status,
        tail(&out.stdout),
        tail(&out.stderr)
    ))
}

/// With an older build to fall back on, warn; without any, stop the build.
fn fail(have_old_build: bool, message: &str) {
    if have_old_build {
        let text = format!("the web app was not rebuilt; embedding the previous build of web/dist. {message}");
        for line in text.lines() {
            println!("cargo:warning={line}");
        }
    } else {
        panic!("the web app (web/) could not be built, so it cannot be embedded:\n{message}");
    }
}

fn modified(p: &Path) -> Option<SystemTime> {
    p.metadata().and_then(|m| m.modified()).ok()
}

/// The newest modification time of a file or of anything below a folder.
fn newest(p: &Path) -> Option<SystemTime> {
    let meta = p.metadata().ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    let mut best = meta.modified().ok();
    for entry in std::fs::read_dir(p).ok()?.flatten() {
        best = best.max(newest(&entry.path()));
    }
    best
}

/// A lock folder, so that two cargo processes (different target folders) do not build the web
/// app at the same time. A lock older than ten minutes is taken to be left over and removed.
struct Lock(PathBuf);

impl Lock {
    fn take(path: &Path) -> std::io::Result<Lock> {
        let started = SystemTime::now();
        loop {
            match std::fs::create_dir(path) {
                Ok(()) => return Ok(Lock(path.to_path_buf())),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let stale = modified(path)
                        .and_then(|m| SystemTime::now().duration_since(m).ok())
                        .is_some_and(|age| age > Duration::from_secs(600));
                    if stale {
                        let _ = std::fs::remove_dir(path);
                    } else if started.elapsed().unwrap_or_default() > Duration::from_secs(900) {
                        return Err(std::io::Error::other("still held by another build after 15 minutes"));
                    } else {
                        std::thread::sleep(Duration::from_millis(500));
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}
