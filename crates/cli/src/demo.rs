//! `gridkeeper demo`: a demo town on SQLite, served, with a login printed for every role.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use gridkeeper::config::Config;

#[derive(Args)]
pub struct DemoArgs {
    /// Folder for the demo's database and photos.
    #[arg(long, default_value = "gridkeeper-demo")]
    dir: PathBuf,
    /// Number of cases in the simulated year.
    #[arg(long, default_value_t = 30_000)]
    cases: usize,
    /// Throw away an existing demo and generate it again.
    #[arg(long)]
    fresh: bool,
    /// Create the demo and exit without serving.
    #[arg(long)]
    no_serve: bool,
    /// Seed of the simulation.
    #[arg(long, default_value_t = 330483)]
    seed: u64,
}

const PASSWORD: &str = "demo1234";

pub async fn run(mut config: Config, args: DemoArgs) -> anyhow::Result<()> {
    if args.fresh && args.dir.exists() {
        std::fs::remove_dir_all(&args.dir).with_context(|| format!("cannot remove {}", args.dir.display()))?;
    }
    std::fs::create_dir_all(&args.dir).with_context(|| format!("cannot create {}", args.dir.display()))?;
    let db = args.dir.join("demo.db");
    config.database.url = format!("sqlite:{}", db.display());
    config.server.media_dir = args.dir.join("media");
    config.privacy.key_file = args.dir.join("keys.toml");
    let store = gridkeeper::open_store(&config).await?;
    let started = Instant::now();
    let now = chrono::Utc::now().timestamp_millis();
    let town = gridkeeper_demo::generate(args.seed, now, args.cases);
    if store.count_cases().await? == 0 {
        // One argon2id hash for every demo account: they share the demo password, and hashing
        // hundreds of times would make the demo slow to start.
        let hash = gridkeeper_server::auth::hash_password(PASSWORD).map_err(|e| anyhow::anyhow!("{e}"))?;
        gridkeeper_demo::load_cases(store.as_ref(), &town, Some(&hash), now, config.server.utc_offset_hours).await?;
        let registry_started = Instant::now();
        gridkeeper_demo::load_registry(store.as_ref(), &town.registry).await?;
        gridkeeper_demo::load_participation(store.as_ref(), &town.participation).await?;
        gridkeeper_demo::load_points(store.as_ref(), &town, now).await?;
        let r = &town.registry;
        println!(
            "demo town created in {:.1} s: {} regions, {} departments, {} categories, {} people, {} cases; \
             registry ({:.1} s): {} buildings, {} houses, {} tenancies, {} places, {} people in care",
            started.elapsed().as_secs_f64(),
            town.reference.regions.len(),
            town.reference.departments.len(),
            town.reference.categories.len(),
            town.people.len(),
            store.count_cases().await?,
            registry_started.elapsed().as_secs_f64(),
            r.buildings().count(),
            r.houses().count(),
            r.tenancies().count(),
            r.places().count(),
            r.care().count(),
        );
    } else {
        println!("using the existing demo in {} (--fresh makes a new one)", args.dir.display());
    }
    if args.no_serve {
        return Ok(());
    }
    let sms = std::sync::Arc::new(gridkeeper_server::sms::LogSms::default());
    let app = gridkeeper_server::App::new(store, config.server.clone(), sms).await?;
    if config.webhooks.enabled {
        gridkeeper_server::webhooks::start(app.clone(), config.webhooks.clone());
    }
    let listener = tokio::net::TcpListener::bind(config.server.bind)
        .await
        .with_context(|| format!("cannot listen on {} (set GRIDKEEPER__SERVER__BIND)", config.server.bind))?;
    let addr = listener.local_addr()?;
    println!("\ngridkeeper demo: http://{addr}/   (API: http://{addr}/api/v1/)\n");
    println!("{:<14} {:<10} role", "login", "password");
    let mut seen = std::collections::HashSet::new();
    for p in &town.people {
        if seen.insert(p.role_label) {
            println!("{:<14} {:<10} {}", p.person.login, PASSWORD, p.role_label);
        }
    }
    println!("\nsign in: curl -s -X POST http://{addr}/api/v1/session -H 'content-type: application/json' -d '{{\"login\":\"dispatcher\",\"password\":\"{PASSWORD}\"}}'");
    gridkeeper_server::serve(app, listener).await?;
    Ok(())
}
