//! `gridkeeper demo`: a demo town on SQLite, served, with a login printed for every role.

use std::path::{Path, PathBuf};
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

/// Where the demo keeps the table of logins it prints, one line per role.
const LOGINS: &str = "logins.txt";

pub async fn run(mut config: Config, args: DemoArgs, config_file: Option<&Path>) -> anyhow::Result<()> {
    if args.fresh && args.dir.exists() {
        std::fs::remove_dir_all(&args.dir).with_context(|| format!("cannot remove {}", args.dir.display()))?;
    }
    std::fs::create_dir_all(&args.dir).with_context(|| format!("cannot create {}", args.dir.display()))?;
    let db = args.dir.join("demo.db");
    config.database.url = format!("sqlite:{}", db.display());
    config.server.media_dir = args.dir.join("media");
    config.privacy.key_file = args.dir.join("keys.toml");
    if args.no_serve {
        return create(&config, &args).await;
    }
    // The town is generated and loaded by a process of its own (this command with --no-serve):
    // when it ends, the hundreds of megabytes the generation took go back to the system, and this
    // one serves the database as `serve` would.
    let mut create = std::process::Command::new(std::env::current_exe().context("cannot find this program")?);
    if let Some(file) = config_file {
        create.arg("--config").arg(file);
    }
    create.arg("demo").arg("--dir").arg(&args.dir).arg("--no-serve");
    create.arg("--cases").arg(args.cases.to_string()).arg("--seed").arg(args.seed.to_string());
    let status = create.status().context("cannot start the demo's generation")?;
    anyhow::ensure!(status.success(), "the demo town could not be created ({status})");

    let store = gridkeeper::open_store(&config).await?;
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
    print!("{}", std::fs::read_to_string(args.dir.join(LOGINS)).unwrap_or_default());
    println!("\nsign in: curl -s -X POST http://{addr}/api/v1/session -H 'content-type: application/json' -d '{{\"login\":\"dispatcher\",\"password\":\"{PASSWORD}\"}}'");
    gridkeeper_server::serve(app, listener).await?;
    Ok(())
}

/// Generates the demo town and loads it into a new database (an existing one is left as it is),
/// with the grid members' cards and the table of logins.
async fn create(config: &Config, args: &DemoArgs) -> anyhow::Result<()> {
    let store = gridkeeper::open_store(config).await?;
    if store.count_cases().await? > 0 {
        println!("using the existing demo in {} (--fresh makes a new one)", args.dir.display());
        return Ok(());
    }
    let started = Instant::now();
    let now = chrono::Utc::now().timestamp_millis();
    let town = gridkeeper_demo::generate(args.seed, now, args.cases);
    // One argon2id hash for every demo account: they share the demo password, and hashing
    // hundreds of times would make the demo slow to start.
    let hash = gridkeeper_server::auth::hash_password(PASSWORD).map_err(|e| anyhow::anyhow!("{e}"))?;
    gridkeeper_demo::load_cases(store.as_ref(), &town, Some(&hash), now, config.server.utc_offset_hours).await?;
    let registry_started = Instant::now();
    gridkeeper_demo::load_registry(store.as_ref(), &town.registry).await?;
    gridkeeper_demo::load_participation(store.as_ref(), &town.participation).await?;
    gridkeeper_demo::load_points(store.as_ref(), &town, now).await?;
    gridkeeper_demo::load_teams(store.as_ref(), &town, now).await?;
    let inspections_started = Instant::now();
    let inspections = gridkeeper_demo::load_inspections(store.as_ref(), &town, now).await?;
    let inspections_took = inspections_started.elapsed().as_secs_f64();
    let patrols_started = Instant::now();
    gridkeeper_demo::load_patrols(store.as_ref(), &town, args.seed, now).await?;
    println!("patrols loaded in {:.1} s", patrols_started.elapsed().as_secs_f64());
    let r = &town.registry;
    println!(
        "demo town created in {:.1} s: {} regions, {} departments, {} categories, {} people, {} cases; \
         registry ({:.1} s): {} buildings, {} houses, {} tenancies, {} places, {} people in care, {} inspections ({:.1} s)",
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
        inspections,
        inspections_took,
    );
    let sms = std::sync::Arc::new(gridkeeper_server::sms::LogSms::default());
    let app = gridkeeper_server::App::new(store, config.server.clone(), sms).await?;
    cards(&app, &town).await?;
    let mut seen = std::collections::HashSet::new();
    let logins: String = town
        .people
        .iter()
        .filter(|p| seen.insert(p.role_label))
        .map(|p| format!("{:<14} {PASSWORD:<10} {}\n", p.person.login, p.role_label))
        .collect();
    std::fs::write(args.dir.join(LOGINS), logins).context("cannot write the demo's logins")?;
    Ok(())
}

/// The contact cards of the demo's grid members and leaders: a drawn avatar (through the media
/// pipeline, as an upload would go), office hours, and every other one consenting to show the
/// work phone.
async fn cards(app: &gridkeeper_server::AppState, town: &gridkeeper_demo::DemoTown) -> anyhow::Result<()> {
    use gridkeeper_domain::Role;
    use gridkeeper_store::CardProfile;
    const HOURS: [&str; 3] = [
        "周一至周五 8:30–17:00，网格服务站；周末电话联系",
        "工作日 9:00–12:00 在社区服务中心，下午入户走访",
        "每周二、四全天在网格工作站，其余时间巡查",
    ];
    let keepers = town
        .people
        .iter()
        .filter(|p| p.person.grants.iter().any(|g| matches!(g.role, Role::GridMember | Role::GridLeader)));
    for (i, p) in keepers.enumerate() {
        let Some(person) = app.store.person_by_login(&p.person.login).await? else { continue };
        let photo = app
            .store_photo("photo", avatar(i).into(), Some(person.id))
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.problem().detail))?;
        let card = CardProfile {
            photo: Some(photo.id),
            office_hours: Some(HOURS[i % HOURS.len()].to_string()),
            phone_public: i % 2 == 0,
        };
        app.store.put_card_profile(person.id, &card, None).await?;
    }
    Ok(())
}

/// A simple avatar: a head and shoulders on a coloured ground, a PNG of 256 × 256.
fn avatar(i: usize) -> Vec<u8> {
    const GROUNDS: [[u8; 3]; 6] =
        [[59, 130, 246], [16, 185, 129], [245, 158, 11], [239, 68, 68], [139, 92, 246], [20, 184, 166]];
    let ground = GROUNDS[i % GROUNDS.len()];
    let img = image::RgbImage::from_fn(256, 256, |x, y| {
        let (x, y) = (f64::from(x), f64::from(y));
        let head = (x - 128.0).powi(2) + (y - 104.0).powi(2) <= 46.0_f64.powi(2);
        let body = ((x - 128.0) / 92.0).powi(2) + ((y - 256.0) / 96.0).powi(2) <= 1.0;
        if head || body {
            image::Rgb([250, 250, 250])
        } else {
            image::Rgb(ground)
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).expect("a PNG in memory");
    out.into_inner()
}
