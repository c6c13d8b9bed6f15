//! The contract of the store traits' methods that their own modules' tests do not reach, run on
//! both databases: together with those tests, every method of every store trait is exercised on
//! SQLite and on PostgreSQL.

use gridkeeper_domain::{
    decide, report, Action, Actor, Category, CategoryKind, Command, Deadlines, Department, DepartmentKind, Grant,
    LatLon, NewReport, Original, Platform, Region, RegionCode, Rejection, Role, Scope, Urgency,
};

use crate::prelude::*;
use crate::testing::on_both;
use crate::{Intake, Media, NewAudit, NewPerson, OtpCheck, PeopleQuery, ReferenceData};

const GRID: &str = "330483101001001";

pub(crate) fn reference() -> ReferenceData {
    let region = |code: &str, name: &str| Region {
        code: RegionCode::parse(code).unwrap(),
        name: name.into(),
        name_en: None,
        geometry: None,
    };
    let category = |id: i64, code: &str, parent_id: Option<i64>| Category {
        id,
        code: code.into(),
        name: code.into(),
        name_en: code.into(),
        kind: CategoryKind::Component,
        parent_id,
        default_department: Some(1),
        public: true,
        deadlines: Deadlines { routine_hours: 72, urgent_hours: 24, emergency_hours: 4 },
        duplicate_radius_m: 50,
        duplicate_window_hours: 72,
    };
    ReferenceData {
        regions: vec![
            region("330483", "桐乡市"),
            region("330483101", "乌镇镇"),
            region("330483101001", "银杏社区"),
            region(GRID, "第01网格"),
        ],
        platforms: vec![Platform { id: 1, code: "P1".into(), name: "平台".into(), name_en: "Platform".into() }],
        departments: vec![
            Department {
                id: 1,
                code: "D1".into(),
                name: "城管".into(),
                name_en: "Urban management".into(),
                platform_id: 1,
                kind: DepartmentKind::Government,
                region: None,
            },
            Department {
                id: 2,
                code: "D2".into(),
                name: "社区".into(),
                name_en: "Community team".into(),
                platform_id: 1,
                kind: DepartmentKind::CommunityTeam,
                region: Some(RegionCode::parse("330483101001").unwrap()),
            },
        ],
        categories: vec![category(1, "C01", None), category(2, "C0101", Some(1))],
    }
}

fn person(login: &str, phone: Option<&str>, grants: Vec<Grant>) -> NewPerson {
    NewPerson {
        login: login.into(),
        name: format!("{login} 名"),
        phone: phone.map(str::to_string),
        id_number: None,
        password_hash: None,
        grants,
    }
}

fn audit(action: &str) -> NewAudit {
    NewAudit { at: 1, actor: None, action: action.into(), object: None, detail: serde_json::json!({}) }
}

fn new_report(at: i64, lat: f64) -> gridkeeper_domain::Decision {
    let r = NewReport {
        grid: Some(RegionCode::parse(GRID).unwrap()),
        ..NewReport::new("330483", Some(LatLon { lat, lon: 120.49 }), "井盖破损")
    };
    report(&Actor::anonymous(), r, at).unwrap()
}

fn media(id: &str, at: i64) -> Media {
    Media {
        id: id.into(),
        case_id: None,
        content_type: "image/jpeg".into(),
        width: 640,
        height: 480,
        bytes: 1234,
        object_key: format!("{id}.jpg"),
        thumb_key: format!("{id}-thumb.jpg"),
        gps_lat: Some(30.745),
        gps_lon: None,
        uploaded_by: None,
        created_at: at,
    }
}

on_both! {
    async fn reference_data_round_trips_and_is_updated_in_place(s) {
        let mut data = reference();
        s.load_reference(&data).await.unwrap();
        assert_eq!(s.platforms().await.unwrap(), data.platforms);
        assert_eq!(s.departments().await.unwrap(), data.departments);
        assert_eq!(s.categories().await.unwrap(), data.categories);
        assert_eq!(s.regions().await.unwrap().len(), 4);
        // Loaded again with a change: updated where it is, nothing added.
        data.departments[0].name = "综合执法".into();
        data.categories[1].deadlines.routine_hours = 48;
        s.load_reference(&data).await.unwrap();
        assert_eq!(s.departments().await.unwrap(), data.departments);
        assert_eq!(s.categories().await.unwrap(), data.categories);
    }

    async fn people_sessions_tokens_and_second_factors(s) {
        let id = s.create_person(&person("li", Some("13812341234"), vec![]), 0).await.unwrap();
        assert_eq!(s.person_by_login("li").await.unwrap().unwrap().id, id);
        assert_eq!(s.person_by_phone("13812341234").await.unwrap().unwrap().name, "li 名");
        assert!(s.person_by_phone("13900000000").await.unwrap().is_none());
        s.create_session("live", id, 0, 100).await.unwrap();
        assert_eq!(s.session_person("live", 50).await.unwrap(), Some(id));
        assert_eq!(s.session_person("live", 100).await.unwrap(), None, "expired");
        s.delete_session("live").await.unwrap();
        assert_eq!(s.session_person("live", 50).await.unwrap(), None);
        s.create_api_token("token", id, "city app", 0).await.unwrap();
        assert_eq!(s.session_person("token", i64::MAX - 1).await.unwrap(), Some(id));
        assert_eq!(s.totp_secret(id).await.unwrap(), None);
        s.set_totp(id, Some("JBSWY3DPEHPK3PXP")).await.unwrap();
        assert_eq!(s.totp_secret(id).await.unwrap().as_deref(), Some("JBSWY3DPEHPK3PXP"));
        assert!(s.person(id).await.unwrap().unwrap().totp_enabled);
        s.put_otp("13812341234", "123456", 10, 1000).await.unwrap();
        assert_eq!(s.otp_sent_at("13812341234").await.unwrap(), Some(10));
        assert_eq!(s.check_otp("13812341234", "123456", 11, 3).await.unwrap(), OtpCheck::Valid);
        // A disabled account's sessions end.
        assert!(s.set_disabled(id, true, &audit("account")).await.unwrap());
        assert!(!s.set_disabled(id, true, &audit("account")).await.unwrap(), "no change, no entry");
        assert_eq!(s.session_person("token", 1).await.unwrap(), None);
    }

    async fn administration_writes_each_change_with_its_audit_entry(s) {
        s.load_reference(&reference()).await.unwrap();
        let generation = s.organisation_generation().await.unwrap();
        let id = s.create_person_audited(&person("wang", None, vec![]), 0, &audit("account")).await.unwrap();
        s.create_person(&person("zhao", Some("13900001111"), vec![]), 0).await.unwrap();
        let logins = |q: PeopleQuery| {
            let s = &s;
            async move { s.list_people(&q).await.unwrap().into_iter().map(|p| p.login).collect::<Vec<_>>() }
        };
        assert_eq!(logins(PeopleQuery { login_prefix: Some("wa".into()), limit: 10, ..Default::default() }).await, ["wang"]);
        // A phone number finds its person through the blind index (phones are sealed).
        assert_eq!(logins(PeopleQuery { phone: Some("13900001111".into()), limit: 10, ..Default::default() }).await, ["zhao"]);
        assert!(logins(PeopleQuery { phone: Some("13900002222".into()), limit: 10, ..Default::default() }).await.is_empty());
        let grant = Grant::new(Role::GridMember, Scope::parse(&format!("region:{GRID}")).unwrap()).unwrap();
        assert!(s.add_grant(id, &grant, &audit("role_change")).await.unwrap());
        assert!(!s.add_grant(id, &grant, &audit("role_change")).await.unwrap(), "already held");
        assert_eq!(s.person(id).await.unwrap().unwrap().grants, std::slice::from_ref(&grant));
        assert!(s.remove_grant(id, &grant, &audit("role_change")).await.unwrap());
        assert!(s.person(id).await.unwrap().unwrap().grants.is_empty());
        let mut d = reference().departments[0].clone();
        d.code = "D3".into();
        let new = s.insert_department(&d, &audit("reference_change")).await.unwrap();
        assert!(new > 2);
        d.id = new;
        d.name = "水务".into();
        assert!(s.update_department(&d, &audit("reference_change")).await.unwrap());
        d.code = "D1".into();
        let taken = s.update_department(&d, &audit("reference_change")).await.unwrap_err();
        assert!(matches!(&taken, crate::StoreError::Conflicts(f) if f.field == "code"), "{taken:?}");
        let mut c = reference().categories[1].clone();
        c.code = "C0102".into();
        c.id = s.insert_category(&c, &audit("reference_change")).await.unwrap();
        c.public = false;
        assert!(s.update_category(&c, &audit("reference_change")).await.unwrap());
        assert!(s.categories().await.unwrap().contains(&c));
        assert!(s.organisation_generation().await.unwrap() > generation);
        // One entry for each change made; none for the refused or empty ones.
        assert_eq!(s.audit_verify().await.unwrap(), crate::AuditCheck::Intact { entries: 7 });
    }

    async fn cases_their_media_neighbours_duplicates_and_the_public_map(s) {
        s.load_reference(&reference()).await.unwrap();
        let dispatcher = s
            .create_person(&person("d", None, vec![Grant::new(Role::Dispatcher, Scope::parse("region:330483").unwrap()).unwrap()]), 0)
            .await
            .unwrap();
        let actor = Actor::person(dispatcher, s.person(dispatcher).await.unwrap().unwrap().grants);
        s.insert_media(&media("m1", 5)).await.unwrap();
        assert_eq!(s.media("m1").await.unwrap().unwrap(), media("m1", 5));
        let first = new_report(1_000, 30.7450);
        let case = s.insert_case(Intake { decision: &first, year: 2026, tracking_hash: None, media: &["m1".into()] }).await.unwrap();
        assert_eq!(s.case_media(case.id).await.unwrap().iter().map(|m| m.case_id).collect::<Vec<_>>(), [Some(case.id)]);
        assert_eq!(s.case_by_reference(&case.reference).await.unwrap().unwrap(), case);
        // A new report has its accept-by clock running.
        assert_eq!(s.open_cases_with_clocks(0, 10).await.unwrap().len(), 1);
        let category = reference().categories[1].clone();
        let accepted = decide(&case, &actor, Command::Accept { category, urgency: Urgency::Routine, note: None }, 2_000).unwrap();
        let case = s.apply(&accepted, &[]).await.unwrap();
        let second = s.insert_case(Intake { decision: &new_report(3_000, 30.7451), year: 2026, tracking_hash: None, media: &[] }).await.unwrap();
        let near = s.cases_near(2, [30.74, 120.48, 30.75, 120.50], 0, second.id).await.unwrap();
        assert_eq!(near.iter().map(|c| c.id).collect::<Vec<_>>(), [case.id]);
        assert!(s.cases_near(2, [30.74, 120.48, 30.75, 120.50], 0, case.id).await.unwrap().is_empty(), "itself left out");
        let original = Original { id: case.id, district: case.district.clone(), state: case.state, duplicate_of: None };
        let reject = Command::Reject { reason: Rejection::Duplicate, original: Some(original), note: None };
        let rejected = s.apply(&decide(&second, &actor, reject, 4_000).unwrap(), &[]).await.unwrap();
        assert_eq!(rejected.duplicate_of, Some(case.id));
        let links = s.duplicates_of(case.id).await.unwrap();
        assert_eq!(links.iter().map(|l| (l.id, l.state)).collect::<Vec<_>>(), [(second.id, rejected.state)]);
        // The public map: accepted cases only, not the rejected duplicate, not outside the box.
        let public = s.public_cases_in([30.74, 120.48, 30.75, 120.50], 0, 10).await.unwrap();
        assert_eq!(public.iter().map(|c| c.id).collect::<Vec<_>>(), [case.id]);
        assert!(s.public_cases_in([31.0, 121.0, 31.1, 121.1], 0, 10).await.unwrap().is_empty());
        let figures = s.grid_figures(&RegionCode::parse("330483").unwrap(), 5_000, 0).await.unwrap();
        assert_eq!(figures.len(), 1);
        assert_eq!((figures[0].0.as_str(), figures[0].1.open, figures[0].1.recent), (GRID, 1, 2));
        assert_eq!(s.events(case.id).await.unwrap().iter().map(|e| e.event.action).collect::<Vec<_>>(), [Action::Report, Action::Accept]);
    }

    async fn accounts_failures_retention_and_resealing(s) {
        let rule = crate::LimitRule { window: 100, max_failures: 2, lockout: 1000 };
        s.record_failure("ip:1", 0, rule).await.unwrap();
        s.clear_failures("ip:1").await.unwrap();
        assert_eq!(s.record_failure("ip:1", 1, rule).await.unwrap(), None, "counted from zero again");
        // Nothing finished yet: nothing to anonymise; the vault's key did not change: nothing to reseal.
        s.insert_case(Intake { decision: &new_report(1_000, 30.745), year: 2026, tracking_hash: None, media: &[] }).await.unwrap();
        assert!(s.cases_to_anonymise(i64::MAX, 10).await.unwrap().is_empty());
        s.create_person(&person("sun", Some("13700000000"), vec![]), 0).await.unwrap();
        assert_eq!(s.reseal_all().await.unwrap(), 0);
    }
}
