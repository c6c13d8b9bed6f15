//! `gridkeeper init`: what a new deployment needs before anyone can use it, on a migrated
//! (possibly empty) database — the national standard's categories with their default deadlines,
//! the linkage center's four platforms, the Open311 questions of a few subclasses, a working
//! calendar of this year and the next with China's holidays, the first administrator and the
//! system account other systems' reports are filed as (`gridkeeper_domain::standard`, the data
//! the demo loads too).
//!
//! Idempotent: what is there already is left as it is (a category whose deadlines the town
//! changed, an existing account, a year of the calendar that lists holidays), so a second run
//! changes nothing and says so. Every write goes through the store; categories, the calendar
//! and accounts are audited as the same change made in the administration is.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use gridkeeper_domain::calendar::{parse_holidays, HolidayYear, CHINA_HOLIDAYS};
use gridkeeper_domain::{standard, Calendar, Grant, Millis, RegionCode, RegionLevel, Role, Scope};
use gridkeeper_store::{NewAudit, NewPerson, ReferenceData, Store};
use serde_json::json;

use gridkeeper::config::Config;

/// The environment variable that may hold the first administrator's password.
const PASSWORD_VAR: &str = "GRIDKEEPER_ADMIN_PASSWORD";

#[derive(Args)]
pub struct InitArgs {
    /// The district this deployment serves (6-digit code, e.g. 330483): the administrator's
    /// scope and the calendar's. Default: server.district, or the only district imported or
    /// set up before.
    #[arg(long)]
    district: Option<String>,
    /// Login of the first administrator.
    #[arg(long, default_value = "admin")]
    admin_login: String,
    /// The administrator's name as the app shows it.
    #[arg(long, default_value = "管理员")]
    admin_name: String,
    /// Read the administrator's password from the first line of this file (else from
    /// GRIDKEEPER_ADMIN_PASSWORD; else one is generated and printed once).
    #[arg(long)]
    admin_password_file: Option<PathBuf>,
    /// Login of the system account that other systems' reports (Open311 keys) are filed as.
    #[arg(long, default_value = "hotline-app")]
    system_login: String,
    /// China's holidays and make-up working days as JSON, in the format of
    /// crates/domain/data/holidays-cn.json; its years replace the built-in ones.
    #[arg(long)]
    holidays: Option<PathBuf>,
}

/// The administrator's password given by file or environment, if any (at least 8 characters).
fn given_password(args: &InitArgs) -> anyhow::Result<Option<String>> {
    let password = match &args.admin_password_file {
        Some(f) => {
            let text = std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
            Some(text.lines().next().unwrap_or("").to_string())
        }
        None => std::env::var(PASSWORD_VAR).ok(),
    };
    match password {
        Some(p) if p.chars().count() < 8 => bail!("the administrator's password must have at least 8 characters"),
        p => Ok(p),
    }
}

/// The known years of holidays: the built-in ones, replaced year by year by `--holidays`.
fn holidays(args: &InitArgs) -> anyhow::Result<Vec<HolidayYear>> {
    let mut years = parse_holidays(CHINA_HOLIDAYS).context("the built-in holidays")?;
    if let Some(f) = &args.holidays {
        let text = std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
        let given = parse_holidays(&text).with_context(|| f.display().to_string())?;
        years.retain(|y| !given.iter().any(|g| g.year == y.year));
        years.extend(given);
    }
    Ok(years)
}

fn parse_district(code: &str) -> anyhow::Result<RegionCode> {
    let code = RegionCode::parse(code).map_err(|e| anyhow::anyhow!("--district: {}", e.reason))?;
    if code.level() != RegionLevel::District {
        bail!("--district {code}: a district's code has 6 digits");
    }
    Ok(code)
}

/// The only district imported, else the only one with a calendar (set up by an earlier init).
async fn stored_district(store: &dyn Store) -> anyhow::Result<RegionCode> {
    let regions = store.regions().await?;
    let mut districts: Vec<String> =
        regions.iter().filter(|r| r.level() == RegionLevel::District).map(|r| r.code.to_string()).collect();
    if districts.is_empty() {
        districts = store.calendars().await?.into_iter().map(|(d, _)| d).collect();
    }
    match districts.as_slice() {
        [only] => parse_district(only),
        _ => bail!(
            "say which district this deployment serves: --district CODE (6 digits, e.g. 330483), \
             or server.district in gridkeeper.toml"
        ),
    }
}

fn entry(now: Millis, action: &str, object: Option<String>, detail: serde_json::Value) -> NewAudit {
    NewAudit { at: now, actor: None, action: action.into(), object, detail }
}

/// A list of names for a sentence, the first few and how many more.
fn some(names: &[String]) -> String {
    const SHOWN: usize = 6;
    let mut s = names.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > SHOWN {
        s.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    s
}

pub async fn run(config: &Config, args: InitArgs) -> anyhow::Result<()> {
    // Everything given is checked before the database is touched.
    let password = given_password(&args)?;
    let years = holidays(&args)?;
    let given = args.district.as_ref().or(config.server.district.as_ref()).map(|d| parse_district(d)).transpose()?;
    let store = gridkeeper::open_store(config).await?;
    let store = &*store;
    let district = match given {
        Some(d) => d,
        None => stored_district(store).await?,
    };
    let now = chrono::Utc::now().timestamp_millis();
    println!("Setting up district {district} (the database is migrated).");
    let offset = chrono::FixedOffset::east_opt(config.server.utc_offset_hours * 3600).context("utc_offset_hours")?;
    let year = chrono::Datelike::year(&chrono::Utc::now().with_timezone(&offset));
    // Each step runs (none is skipped because another changed something).
    let changed = [
        platforms(store).await?,
        categories(store, now).await?,
        calendar(store, &district, &years, year, now).await?,
        administrator(store, &args, &district, password, now).await?,
        system_account(store, &args.system_login, &district, now).await?,
    ];
    if changed.contains(&true) {
        let has_grids = store.regions().await?.iter().any(|r| r.level() == RegionLevel::Grid);
        println!(
            "Done. Next: {}create departments and staff, then serve (docs/GOING-LIVE.md).",
            if has_grids { "" } else { "import the region tree (gridkeeper import regions), " }
        );
    } else {
        println!("Nothing changed: everything init sets up was already there.");
    }
    Ok(())
}

/// The four platforms (departments belong to one), those missing by code. Whether any was added.
async fn platforms(store: &dyn Store) -> anyhow::Result<bool> {
    let platforms = store.platforms().await?;
    let mut next_id = platforms.iter().map(|p| p.id).max().unwrap_or(0);
    let missing: Vec<_> = standard::platforms()
        .into_iter()
        .filter(|p| !platforms.iter().any(|q| q.code == p.code))
        .map(|mut p| {
            next_id += 1;
            p.id = next_id;
            p
        })
        .collect();
    if missing.is_empty() {
        println!("- Platforms: the {} there are left as they are.", platforms.len());
        return Ok(false);
    }
    store.load_reference(&ReferenceData { platforms: missing.clone(), ..Default::default() }).await?;
    let names: Vec<&str> = missing.iter().map(|p| p.name.as_str()).collect();
    println!("- Platforms: added {} ({}); departments are created on one of them.", missing.len(), names.join(", "));
    Ok(true)
}

/// The national standard's categories missing by code (classes before their subclasses), then
/// the Open311 questions of the subclasses that ask none yet. Whether anything was added.
async fn categories(store: &dyn Store, now: Millis) -> anyhow::Result<bool> {
    let mut ids: HashMap<String, i64> = store.categories().await?.into_iter().map(|c| (c.code, c.id)).collect();
    let standard = standard::categories();
    let code_of: HashMap<i64, &str> = standard.iter().map(|c| (c.id, c.code.as_str())).collect();
    let (mut added, mut kept) = (vec![], 0);
    for c in &standard {
        if ids.contains_key(&c.code) {
            kept += 1;
            continue;
        }
        let mut c = c.clone();
        c.parent_id = match c.parent_id {
            Some(p) => Some(*ids.get(code_of[&p]).with_context(|| format!("no class {} for {}", code_of[&p], c.code))?),
            None => None,
        };
        let audit = entry(now, "reference_change", None, json!({ "category": c, "created": true, "by": "init" }));
        let id = store.insert_category(&c, &audit).await?;
        ids.insert(c.code.clone(), id);
        added.push(format!("{} {}", c.code, c.name));
    }
    if added.is_empty() {
        println!("- Categories: all {kept} of the national standard are there; left as they are.");
    } else {
        println!(
            "- Categories: added {} of the national standard with their default deadlines ({}){}. Give each \
             subclass its default department once the departments exist (administration → categories).",
            added.len(),
            some(&added),
            if kept > 0 { format!("; {kept} were there and are left as they are") } else { String::new() },
        );
    }

    let asking = store.categories_with_attributes().await?;
    let mut questions = vec![];
    for (code, attributes) in standard::service_attributes() {
        let Some(&id) = ids.get(code) else { continue };
        if !asking.contains(&id) {
            store.set_category_attributes(id, &attributes).await?;
            let asked: Vec<&str> = attributes.iter().map(|a| a.code.as_str()).collect();
            questions.push(format!("{code} ({})", asked.join(", ")));
        }
    }
    if questions.is_empty() {
        println!("- Open311 questions: every subclass that has some keeps its own.");
    } else {
        println!("- Open311 questions (none required) added to {}: {}.", questions.len(), questions.join(", "));
    }
    Ok(!added.is_empty() || !questions.is_empty())
}

/// The district's working calendar (office hours when it has none) with the holidays of `year`
/// and the next, for each year that lists none yet. Whether it was written.
async fn calendar(
    store: &dyn Store,
    district: &RegionCode,
    known: &[HolidayYear],
    year: i32,
    now: Millis,
) -> anyhow::Result<bool> {
    let before = store.calendars().await?.into_iter().find(|(d, _)| d == district.as_str()).map(|(_, c)| c);
    let mut calendar = before.clone().unwrap_or_else(Calendar::office_hours);
    if before.is_none() {
        println!("- Working calendar: Monday to Friday, 08:30–12:00 and 13:30–17:30 (China Standard Time).");
    } else {
        println!("- Working calendar: the district's own working days and hours are kept.");
    }
    let mut added = false;
    for y in [year, year + 1] {
        match known.iter().find(|h| h.year == y) {
            Some(_) if calendar.has_holidays_of(y) => println!("  {y}: holidays already listed; left as they are."),
            Some(h) => {
                h.add_to(&mut calendar);
                added = true;
                println!(
                    "  {y}: added {} days off ({}) and {} make-up working days, from {}.",
                    h.days().count(),
                    h.days_off.iter().map(|d| d.name.as_str()).collect::<Vec<_>>().join(", "),
                    h.makeup_days.len(),
                    h.source
                );
            }
            None if calendar.has_holidays_of(y) => println!("  {y}: holidays listed by the town; left as they are."),
            None => println!(
                "  {y}: China's holidays are not known to this version: once the State Council publishes them, \
                 run `gridkeeper init --holidays FILE` (the format of crates/domain/data/holidays-cn.json) or \
                 edit the calendar in the administration. Until then {y} has working days only."
            ),
        }
    }
    if before.is_some() && !added {
        return Ok(false);
    }
    calendar.validate().map_err(|e| anyhow::anyhow!("the calendar of {district} with these holidays: {e}"))?;
    store.put_calendar(district.as_str(), &calendar, None, now).await?;
    let detail = json!({ "before": before, "after": calendar, "by": "init" });
    store.audit(&entry(now, "config", Some(format!("calendar:{district}")), detail)).await?;
    Ok(true)
}

/// Creates an account holding one role, audited as the administration's are.
async fn create_account(
    store: &dyn Store,
    login: &str,
    name: &str,
    password_hash: Option<String>,
    grant: Grant,
    now: Millis,
) -> anyhow::Result<()> {
    let person = NewPerson {
        login: login.into(),
        name: name.into(),
        phone: None,
        id_number: None,
        password_hash,
        grants: vec![grant],
    };
    let detail = json!({ "created": login, "grants": person.grants, "by": "init" });
    store.create_person_audited(&person, now, &entry(now, "role_change", None, detail)).await?;
    Ok(())
}

/// The first administrator, unless the login exists. Whether it was created.
async fn administrator(
    store: &dyn Store,
    args: &InitArgs,
    district: &RegionCode,
    password: Option<String>,
    now: Millis,
) -> anyhow::Result<bool> {
    if let Some(p) = store.person_by_login(&args.admin_login).await? {
        let note = if p.grants.iter().any(|g| g.role == Role::Admin) { "" } else { " (it holds no admin role)" };
        println!("- Administrator: `{}` exists already; left as it is, password included{note}.", p.login);
        return Ok(false);
    }
    let (password, generated) = match password {
        Some(p) => (p, false),
        None => (gridkeeper_server::auth::new_token(12), true),
    };
    let hash = gridkeeper_server::auth::hash_password(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
    let grant = Grant::new(Role::Admin, Scope::Region { code: district.clone() })?;
    create_account(store, &args.admin_login, &args.admin_name, Some(hash), grant, now).await?;
    println!("- Administrator: created `{}`, admin of district {district}.", args.admin_login);
    if generated {
        println!("  Password (shown only now; change it after signing in): {password}");
    }
    Ok(true)
}

/// The system account other systems' reports are filed as, unless the login exists: a
/// dispatcher of the district (so their reports keep their source), without a password.
async fn system_account(store: &dyn Store, login: &str, district: &RegionCode, now: Millis) -> anyhow::Result<bool> {
    if store.person_by_login(login).await?.is_some() {
        println!("- System account: `{login}` exists already; left as it is.");
        return Ok(false);
    }
    let grant = Grant::new(Role::Dispatcher, Scope::Region { code: district.clone() })?;
    create_account(store, login, "其他系统上报 (Open311)", None, grant, now).await?;
    println!(
        "- System account: created `{login}` for reports from other systems (a hotline, a city app). It has no \
         password and cannot sign in; give a system a key with `gridkeeper open311 key add NAME --person {login}`, \
         and its reports are filed as this account (dispatcher of {district}, so they keep their source)."
    );
    Ok(true)
}
