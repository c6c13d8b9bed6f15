//! Accounts and personal data: lockouts, one-time codes, TOTP, CSRF, masking, reveal, audit.

use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn guessing_a_password_is_stopped_by_a_lockout() {
    let t = TestApp::spawn().await;
    let try_login = |password: &'static str| {
        let t = &t;
        async move { t.post(None, "/api/v1/session", json!({ "login": "staff", "password": password })).await }
    };
    for _ in 0..4 {
        try_login("guess").await.problem(401, None);
    }
    let locked = try_login("guess").await;
    locked.problem(429, None);
    assert!(locked.body["detail"].as_str().unwrap().contains("try again in"), "{locked:?}");
    // Locked out: even the right password is refused now, with the same clear message.
    try_login(PASSWORD).await.problem(429, None);
    // Other accounts are not affected.
    t.post(None, "/api/v1/session", json!({ "login": "dispatcher", "password": PASSWORD })).await.ok();
    let failures = t
        .store
        .audit_search(&gridkeeper_store::AuditQuery {
            action: Some("sign_in_failed".into()),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(failures.len(), 5);
}

#[tokio::test]
async fn residents_sign_up_with_a_one_time_code_and_guessing_it_fails() {
    let t = TestApp::spawn().await;
    let phone = "13712345678";
    t.post(None, "/api/v1/session/code", json!({ "phone": "137 1234 5678" })).await.ok();
    t.post(None, "/api/v1/session/code", json!({ "phone": phone })).await.problem(429, None);
    t.post(None, "/api/v1/session/code", json!({ "phone": "call me" })).await.problem(422, Some("phone"));
    let sent = t.sms.sent_to(phone);
    let code: String = sent.last().unwrap().chars().filter(char::is_ascii_digit).take(6).collect();
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let r = t.post(None, "/api/v1/session/phone", json!({ "phone": phone, "code": wrong })).await;
    r.problem(401, Some("code"));
    let r = t.post(None, "/api/v1/session/phone", json!({ "phone": phone, "code": code, "name": "赵六" })).await;
    let person = &r.ok()["person"];
    assert_eq!(person["grants"][0]["role"], "resident");
    assert_eq!(person["phone"], "137****5678");
    // The code works once.
    t.post(None, "/api/v1/session/phone", json!({ "phone": phone, "code": code })).await.problem(401, Some("code"));

    // Brute force: the code burns after five wrong tries, and the account locks.
    let other = "13698765432";
    t.post(None, "/api/v1/session/code", json!({ "phone": other })).await.ok();
    let real: String = t.sms.sent_to(other).last().unwrap().chars().filter(char::is_ascii_digit).take(6).collect();
    let mut statuses = vec![];
    for guess in 0..6 {
        let g = format!("{:06}", (real.parse::<u32>().unwrap() + 1 + guess) % 1_000_000);
        statuses
            .push(t.post(None, "/api/v1/session/phone", json!({ "phone": other, "code": g })).await.status.as_u16());
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    let after = t.post(None, "/api/v1/session/phone", json!({ "phone": other, "code": real })).await;
    assert!(after.status.is_client_error(), "the real code no longer works after the guesses: {after:?}");
}

#[tokio::test]
async fn a_second_factor_is_required_once_enrolled() {
    let t = TestApp::spawn().await;
    let person = t.store.person_by_login("dispatcher").await.unwrap().unwrap();
    let (secret, _) = gridkeeper_server::auth::new_totp_secret("dispatcher");
    t.store.set_totp(person.id, Some(&secret)).await.unwrap();
    let body = json!({ "login": "dispatcher", "password": PASSWORD });
    t.post(None, "/api/v1/session", body).await.problem(422, Some("totp"));
    let code = gridkeeper_server::auth::current_totp(&secret).unwrap();
    let ok =
        t.post(None, "/api/v1/session", json!({ "login": "dispatcher", "password": PASSWORD, "totp": code })).await;
    assert_eq!(ok.ok()["person"]["totp_enabled"], true);
}

#[tokio::test]
async fn cookie_sessions_need_the_csrf_token_and_responses_carry_security_headers() {
    let t = TestApp::spawn().await;
    let r = t
        .client
        .post(format!("{}/api/v1/session", t.base))
        .json(&json!({ "login": "dispatcher", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    for h in ["content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy"] {
        assert!(r.headers().contains_key(h), "missing {h}");
    }
    let cookies: Vec<String> =
        r.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect();
    assert!(cookies
        .iter()
        .any(|c| c.starts_with("gk_session=") && c.contains("HttpOnly") && c.contains("SameSite=Strict")));
    let pair =
        |name: &str| cookies.iter().find(|c| c.starts_with(name)).unwrap().split(';').next().unwrap().to_string();
    let (session, csrf) = (pair("gk_session="), pair("gk_csrf="));
    let id = id_of(&t.report(Some("resident"), IN_GRID1, None).await);
    let url = format!("{}/api/v1/cases/{id}/actions/note", t.base);
    let jar = format!("{session}; {csrf}");
    let without = t.client.post(&url).header(COOKIE, &jar).json(&json!({ "text": "x" })).send().await.unwrap();
    assert_eq!(without.status(), 403);
    let token = csrf.split_once('=').unwrap().1;
    let with = t
        .client
        .post(&url)
        .header(COOKIE, &jar)
        .header("x-csrf-token", token)
        .json(&json!({ "text": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(with.status(), 200);
    // Reads need no token.
    let read = t.client.get(format!("{}/api/v1/cases/{id}", t.base)).header(COOKIE, &jar).send().await.unwrap();
    assert_eq!(read.status(), 200);
}

#[tokio::test]
async fn personal_data_is_masked_revealed_on_purpose_and_audited() {
    let t = TestApp::spawn().await;
    let r = t
        .post(
            None,
            "/api/v1/cases",
            json!({ "description": "噪音扰民", "lat": IN_GRID1.0, "lon": IN_GRID1.1, "contact_name": "王芳", "contact_phone": "13512345678", "anonymous": true }),
        )
        .await;
    let id = id_of(r.ok());
    let d = t.detail("dispatcher", id).await;
    assert_eq!(d["case"]["contact"]["phone"], "135****5678");
    assert_eq!(d["case"]["contact"]["name"], "王*");
    t.act("dispatcher", id, "accept", json!({ "category": MANHOLE, "urgency": "routine" })).await;
    t.act("dispatcher", id, "dispatch", json!({ "lead_department": CITY_MGMT })).await;
    // The reporter asked to stay anonymous towards departments: the department sees no contact.
    let dept = t.detail("staff", id).await;
    assert!(dept["case"]["contact"].is_null() && dept["case"]["reporter"].is_null(), "{}", dept["case"]);
    t.post(Some("staff"), &format!("/api/v1/cases/{id}/reveal"), json!({})).await.problem(403, None);
    t.post(Some("outsider"), &format!("/api/v1/cases/{id}/reveal"), json!({})).await.problem(404, None);
    let shown = t.post(Some("dispatcher"), &format!("/api/v1/cases/{id}/reveal"), json!({})).await;
    assert_eq!(shown.ok()["contact"]["phone"], "13512345678");
    // Every reveal is in the audit log, which only auditors search.
    t.get(Some("dispatcher"), "/api/v1/audit").await.problem(403, None);
    let reveals = t
        .store
        .audit_search(&gridkeeper_store::AuditQuery { action: Some("reveal".into()), limit: 10, ..Default::default() })
        .await
        .unwrap();
    assert_eq!(reveals.len(), 1);
    assert_eq!(reveals[0].object.as_deref(), Some(format!("case:{id}").as_str()));
}

/// Everything the database holds: on SQLite every byte of the file and its WAL; on PostgreSQL
/// every row of every table as text.
async fn stored_bytes(t: &TestApp) -> Vec<u8> {
    match backend() {
        gridkeeper_store::Backend::Sqlite => {
            let mut bytes = std::fs::read(&t.db).unwrap();
            bytes.extend(std::fs::read(t.db.with_extension("db-wal")).unwrap_or_default());
            bytes
        }
        gridkeeper_store::Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&t.db_url).await.unwrap();
            let tables: Vec<String> =
                sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
                    .fetch_all(&pool)
                    .await
                    .unwrap();
            assert!(tables.len() > 10, "{tables:?}");
            let mut bytes = Vec::new();
            for table in tables {
                let rows: Vec<String> =
                    sqlx::query_scalar(&format!("SELECT x::text FROM {table} x")).fetch_all(&pool).await.unwrap();
                rows.iter().for_each(|r| bytes.extend_from_slice(r.as_bytes()));
            }
            bytes
        }
    }
}

#[tokio::test]
async fn no_phone_number_is_stored_in_plain_text() {
    let t = TestApp::spawn().await;
    let phones = ["13512340001", "13512340002"];
    for p in phones {
        t.post(None, "/api/v1/cases", json!({ "description": "路灯坏了", "lat": IN_GRID2.0, "lon": IN_GRID2.1, "contact_name": "陈阿姨", "contact_phone": p })).await.ok();
    }
    // Webhook signing keys are sealed at rest like personal data.
    let secret = "whsec-k7Qm2xZp9-Lr4Tn8Vw";
    let hook = json!({ "url": "https://city.example.org/hook", "secret": secret });
    t.post(Some("admin"), "/api/v1/webhooks", hook).await.ok();
    let bytes = stored_bytes(&t).await;
    assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "a webhook secret is stored in plain text");
    assert_eq!(t.store.webhooks().await.unwrap()[0].secret, secret, "and read back");
    let all: Vec<String> =
        phones.iter().map(|p| p.to_string()).chain(people().iter().map(|(l, _)| phone_of(l))).collect();
    for p in &all {
        assert!(!bytes.windows(p.len()).any(|w| w == p.as_bytes()), "{p} is stored in plain text");
    }
    assert!(!bytes.windows("陈阿姨".len()).any(|w| w == "陈阿姨".as_bytes()), "a contact name is stored in plain text");
    // While the application still reads them.
    let person = t.store.person_by_login("staff").await.unwrap().unwrap();
    assert_eq!(person.phone.unwrap(), phone_of("staff"));
}

#[tokio::test]
async fn audit_verify_names_a_changed_row() {
    let t = TestApp::spawn().await;
    for who in ["dispatcher", "staff", "supervisor"] {
        t.post(None, "/api/v1/session", json!({ "login": who, "password": PASSWORD })).await.ok();
    }
    let verify = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_gridkeeper"))
            .args(["audit", "verify"])
            .current_dir(&t.dir)
            .env("GRIDKEEPER__DATABASE__URL", &t.db_url)
            .output()
            .unwrap()
    };
    let ok = verify();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("intact: 3 entries"));
    // Change one byte of entry 2 behind the application's back.
    let change = "UPDATE audit_log SET detail = replace(detail, '127.0.0.1', '127.0.0.2') WHERE id = 2";
    match backend() {
        gridkeeper_store::Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&t.db_url).await.unwrap();
            sqlx::query("DROP TRIGGER audit_log_append_only_update").execute(&pool).await.unwrap();
            sqlx::query(change).execute(&pool).await.unwrap();
        }
        gridkeeper_store::Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&t.db_url).await.unwrap();
            let refused = sqlx::query(change).execute(&pool).await.unwrap_err();
            assert!(refused.to_string().contains("append-only"), "{refused}");
            sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only").execute(&pool).await.unwrap();
            sqlx::query(change).execute(&pool).await.unwrap();
        }
    }
    let broken = verify();
    assert!(!broken.status.success());
    assert!(String::from_utf8_lossy(&broken.stderr).contains("entry 2"), "{}", String::from_utf8_lossy(&broken.stderr));
}

#[tokio::test]
async fn removing_the_newest_audit_entries_is_found_by_the_checkpoint() {
    let t = TestApp::spawn().await;
    for who in ["dispatcher", "staff", "supervisor"] {
        t.post(None, "/api/v1/session", json!({ "login": who, "password": PASSWORD })).await.ok();
    }
    let anchor = t.dir.join("anchor");
    let audit = |what: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gridkeeper"))
            .args(["audit", what])
            .current_dir(&t.dir)
            .env("GRIDKEEPER__DATABASE__URL", &t.db_url)
            .env("GRIDKEEPER__SERVER__AUDIT_CHECKPOINTS__URL", &anchor)
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr))
    };
    let (ok, said) = audit("checkpoint");
    assert!(ok && said.contains("checkpoint written: 3 entries"), "{said}");
    let (ok, said) = audit("verify");
    assert!(ok && said.contains("entries 1 to 3 are all there"), "{said}");
    // A forged checkpoint claiming more entries is not believed: it lacks the key's signature.
    let forged = r#"{"entries": 9, "hash": "00", "written_at": "2026-12-03T00:00:00Z", "signature": "00"}"#;
    std::fs::write(anchor.join("audit-checkpoints/000000000009.json"), forged).unwrap();
    assert!(audit("verify").0);
    // The owner of the database removes the newest entry: the chain alone still looks whole.
    let remove = "DELETE FROM audit_log WHERE id = 3";
    match backend() {
        gridkeeper_store::Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&t.db_url).await.unwrap();
            sqlx::query("DROP TRIGGER audit_log_append_only_delete").execute(&pool).await.unwrap();
            sqlx::query(remove).execute(&pool).await.unwrap();
        }
        gridkeeper_store::Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&t.db_url).await.unwrap();
            sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only").execute(&pool).await.unwrap();
            sqlx::query(remove).execute(&pool).await.unwrap();
        }
    }
    let (ok, said) = audit("verify");
    assert!(!ok, "{said}");
    assert!(said.contains("intact: 2 entries") && said.contains("the newest entries were removed"), "{said}");
}
