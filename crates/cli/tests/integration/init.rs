//! `gridkeeper init` run as the real binary on an empty database, as the README's going-live
//! steps do: a second run changes nothing (and says so), a town's own change survives it, and
//! the README's Open311 example works afterwards — the key for `hotline-app`, the services with
//! their questions, a post and the query that finds it.

use std::path::Path;
use std::time::Duration;

use gridkeeper_store::prelude::*;
use gridkeeper_store::{AuditCheck, NewAudit, PeopleQuery};

use crate::common::*;

/// Runs the binary in `dir` (where its gridkeeper.toml is); answers its standard output, and
/// fails the test with its standard error unless it succeeds.
fn gridkeeper(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gridkeeper"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "gridkeeper {args:?}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// Everything init writes, as text: platforms, categories, questions, calendars, people, and the
/// number of audit entries (the chain checked whole).
async fn content(store: &dyn Store) -> String {
    let mut questions = vec![];
    for c in store.categories().await.unwrap() {
        questions.push((c.code, store.category_attributes(c.id).await.unwrap()));
    }
    let people = store.list_people(&PeopleQuery { limit: 500, ..Default::default() }).await.unwrap();
    let AuditCheck::Intact { entries } = store.audit_verify().await.unwrap() else { panic!("the audit chain holds") };
    format!(
        "{:?}\n{:?}\n{questions:?}\n{:?}\n{people:?}\naudit entries: {entries}",
        store.platforms().await.unwrap(),
        store.categories().await.unwrap(),
        store.calendars().await.unwrap(),
    )
}

#[tokio::test]
async fn init_twice_is_init_once_and_the_readme_open311_example_works() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let db = TestDb::create_on(backend(), dir).await;
    let port = crate::crash::free_port();
    std::fs::write(
        dir.join("gridkeeper.toml"),
        format!(
            "[database]\nurl = \"{}\"\n[server]\nbind = \"127.0.0.1:{port}\"\ndistrict = \"330483\"\n\
             media_dir = \"media\"\n[log]\nlevel = \"warn\"\n",
            db.url
        ),
    )
    .unwrap();
    std::fs::write(dir.join("admin-password"), "first-admin-pw\n").unwrap();
    // This year's and the next year's holidays in the format of the built-in file (whose years
    // are this version's), so that the test does not depend on the year it runs in.
    let year =
        chrono::Datelike::year(&chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap()));
    let arrangement = |y: i32| {
        serde_json::json!({ "year": y, "source": "test", "makeup_days": [format!("{y}-10-10")],
            "days_off": [{ "name": "国庆节", "from": format!("{y}-10-01"), "to": format!("{y}-10-07") }] })
    };
    std::fs::write(
        dir.join("holidays.json"),
        serde_json::json!([arrangement(year), arrangement(year + 1)]).to_string(),
    )
    .unwrap();

    gridkeeper(dir, &["migrate"]);
    let first = gridkeeper(dir, &["init", "--admin-password-file", "admin-password", "--holidays", "holidays.json"]);
    assert!(first.contains("Categories: added 105") && first.contains("created `hotline-app`"), "{first}");
    for y in [year, year + 1] {
        assert!(first.contains(&format!("{y}: added 7 days off (国庆节) and 1 make-up")), "{first}");
    }
    assert!(!first.contains("Password (shown only now"), "a given password is not printed: {first}");

    let config = gridkeeper::config::Config::load(Some(&dir.join("gridkeeper.toml"))).unwrap();
    let config = gridkeeper::config::Config {
        privacy: gridkeeper::config::Privacy { key_file: dir.join("gridkeeper.keys"), ..config.privacy },
        ..config
    };
    let store = gridkeeper::open_store(&config).await.unwrap();
    let once = content(&*store).await;
    let admin = store.person_by_login("admin").await.unwrap().expect("the first administrator");
    let scope = gridkeeper_domain::Scope::parse("region:330483").unwrap();
    assert_eq!(admin.grants, [gridkeeper_domain::Grant::new(gridkeeper_domain::Role::Admin, scope).unwrap()]);
    let system = store.person_by_login("hotline-app").await.unwrap().unwrap();
    assert!(system.password_hash.is_none(), "the system account cannot sign in");
    let calendar = &store.calendars().await.unwrap()[0].1;
    for y in [year, year + 1] {
        let day = |d| chrono::NaiveDate::from_ymd_opt(y, 10, d).unwrap();
        assert!((1..=7).all(|d| !calendar.is_working_day(day(d))) && calendar.is_working_day(day(10)));
    }

    // The second run changes nothing.
    let second = gridkeeper(dir, &["init"]);
    assert!(second.contains("Nothing changed"), "{second}");
    assert_eq!(content(&*store).await, once, "init twice equals init once");

    // A town's change survives: the street light's deadlines, edited in the administration.
    let mut light = store.categories().await.unwrap().into_iter().find(|c| c.code == "C0107").unwrap();
    light.deadlines.routine_hours = 30;
    let audit = NewAudit {
        at: 1,
        actor: None,
        action: "reference_change".into(),
        object: None,
        detail: light.code.clone().into(),
    };
    assert!(store.update_category(&light, &audit).await.unwrap());
    let edited = content(&*store).await;
    assert!(gridkeeper(dir, &["init"]).contains("Nothing changed"));
    assert_eq!(content(&*store).await, edited);

    // The README's Open311 example, as written.
    let key = gridkeeper(dir, &["open311", "key", "add", "city-app", "--person", "hotline-app"]).trim().to_string();
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_gridkeeper"))
        .arg("serve")
        .current_dir(dir)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}/open311/v2");
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..200 {
        if client.get(format!("http://127.0.0.1:{port}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "the server became ready");
    let services: serde_json::Value =
        client.get(format!("{base}/services.json")).send().await.unwrap().json().await.unwrap();
    let service = |code: &str| services.as_array().unwrap().iter().find(|s| s["service_code"] == code).unwrap().clone();
    assert_eq!(service("C0107")["metadata"], true, "{services}");
    assert_eq!(service("C0101")["metadata"], true);
    assert_eq!(service("C0108")["metadata"], false);
    let light: serde_json::Value =
        client.get(format!("{base}/services/C0107.json")).send().await.unwrap().json().await.unwrap();
    let codes: Vec<&str> =
        light["attributes"].as_array().unwrap().iter().map(|a| a["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["pole_number", "lights_out"], "{light}");

    let posted = client
        .post(format!("{base}/requests.json"))
        .form(&[
            ("api_key", key.as_str()),
            ("service_code", "C0101"),
            ("lat", "30.745"),
            ("long", "120.487"),
            ("description", "井盖破损"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    let posted: serde_json::Value = posted.json().await.unwrap();
    let id = posted[0]["service_request_id"].as_str().expect("an id, as the key was made to answer").to_string();
    assert!(id.starts_with("330483-"), "{posted}");
    let xml = client.get(format!("{base}/requests.xml?status=open&service_code=C0101")).send().await.unwrap();
    let xml = xml.text().await.unwrap();
    assert!(xml.contains(&format!("<service_request_id>{id}</service_request_id>")), "{xml}");
    server.kill().await.unwrap();

    // Without server.district, a later run finds the district it set up (its calendar).
    let toml = std::fs::read_to_string(dir.join("gridkeeper.toml")).unwrap();
    let toml = toml.replace("district = \"330483\"\n", "");
    assert!(!toml.contains("district"), "{toml}");
    std::fs::write(dir.join("gridkeeper.toml"), toml).unwrap();
    let again = gridkeeper(dir, &["init"]);
    assert!(again.contains("Setting up district 330483") && again.contains("Nothing changed"), "{again}");
}

#[tokio::test]
async fn init_refuses_bad_input_before_touching_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gridkeeper"))
            .args(args)
            .current_dir(dir.path())
            .env("GRIDKEEPER__DATABASE__URL", "sqlite:never.db")
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    assert!(run(&["init", "--district", "330483101"]).contains("a district's code has 6 digits"));
    std::fs::write(dir.path().join("short"), "1234567\n").unwrap();
    assert!(run(&["init", "--admin-password-file", "short"]).contains("at least 8 characters"));
    std::fs::write(dir.path().join("holidays.json"), r#"[{"year": 2027}]"#).unwrap();
    assert!(run(&["init", "--district", "330483", "--holidays", "holidays.json"]).contains("not a list of years"));
    assert!(!dir.path().join("never.db").exists(), "nothing was created");
}

/// docs/GOING-LIVE.md as written: its `sh` blocks, in order, in an empty folder beside the
/// repository's docs, with the binary on the PATH — on the backend of the run (its
/// configuration's SQLite URL replaced by a new PostgreSQL database) and on a free port. The
/// last block prints the first report's reference, `dispatched` and its grid.
#[tokio::test]
async fn going_live_runs_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::os::unix::fs::symlink(root.join("docs"), dir.path().join("docs")).unwrap();
    let page = std::fs::read_to_string(root.join("docs/GOING-LIVE.md")).unwrap();
    let blocks: Vec<&str> = page.split("```sh\n").skip(1).map(|b| b.split("```").next().unwrap()).collect();
    assert!(blocks.len() >= 8, "the page's steps: {}", blocks.len());
    let db = TestDb::create_on(backend(), dir.path()).await;
    let port = crate::crash::free_port();
    let script = format!("trap 'kill $(jobs -p) 2>/dev/null' EXIT\n{}", blocks.concat())
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"))
        .replace(
            "url = \"sqlite:gridkeeper.db\"",
            &format!("url = \"{}\"", db.url.replace("test.db", "town/gridkeeper.db")),
        );
    let bin = Path::new(env!("CARGO_BIN_EXE_gridkeeper")).parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let out = tokio::process::Command::new("timeout")
        .args(["300", "bash", "-euo", "pipefail", "-c", &script])
        .current_dir(dir.path())
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env("GRIDKEEPER__LOG__LEVEL", "warn")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "GOING-LIVE.md failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().unwrap_or_default();
    let words: Vec<&str> = last.split(' ').collect();
    assert_eq!(words.len(), 3, "{stdout}");
    assert!(words[0].starts_with("330483-") && words[0].ends_with("-000001"), "{last}");
    assert_eq!((words[1], words[2]), ("dispatched", "330483101001001"), "{stdout}");
}
