use serde_json::json;

use super::*;

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn text(s: &str) -> Text {
    Text::parse("text", s).unwrap()
}

fn tenant() -> PersonalDetails {
    PersonalDetails {
        name: text("王芳"),
        phone: Some(Phone::parse("13812341234").unwrap()),
        id_number: Some(ResidentIdNumber::parse("11010519491231002X").unwrap()),
    }
}

fn tenancy(moved_in: &str, moved_out: Option<&str>) -> TenancyData {
    TenancyData {
        house: HouseId(1),
        tenant: tenant(),
        origin: Some(text("河南省周口市")),
        stay: Stay::new(date(moved_in), moved_out.map(date)).unwrap(),
        registered_by: RegisteredBy::Landlord,
    }
}

#[test]
fn a_stay_cannot_end_before_it_began() {
    let err = Stay::new(date("2026-03-01"), Some(date("2026-02-28"))).unwrap_err();
    assert_eq!(err, FieldError::new("moved_out", "2026-02-28 is before the move-in on 2026-03-01"));
    let open = Stay::new(date("2026-03-01"), None).unwrap();
    assert!(open.is_open());
    assert_eq!(open.end(date("2026-02-01")).unwrap_err().field, "moved_out");
    let ended = open.end(date("2026-03-01")).unwrap();
    assert_eq!(ended.moved_out(), Some(date("2026-03-01")), "moving out the day one moved in is allowed");
    assert_eq!(ended.end(date("2026-04-01")).unwrap_err().reason, "the tenancy ended already, on 2026-03-01");
    // The wire form is checked too.
    let bad: Result<Stay, _> = serde_json::from_value(json!({"moved_in": "2026-03-01", "moved_out": "2026-01-01"}));
    assert!(bad.unwrap_err().to_string().contains("before the move-in"));
}

#[test]
fn stays_overlap_when_they_share_a_night() {
    let s = |a: &str, b: Option<&str>| Stay::new(date(a), b.map(date)).unwrap();
    assert!(s("2026-01-01", None).overlaps(&s("2026-06-01", None)));
    assert!(s("2026-01-01", Some("2026-03-01")).overlaps(&s("2026-02-01", Some("2026-02-02"))));
    assert!(!s("2026-01-01", Some("2026-03-01")).overlaps(&s("2026-03-01", None)), "out the day the next begins");
    assert!(!s("2026-04-01", None).overlaps(&s("2026-01-01", Some("2026-03-01"))));
}

#[test]
fn a_tenant_has_one_tenancy_at_a_time_in_a_house() {
    let earlier = (TenancyId(7), Stay::new(date("2025-01-01"), Some(date("2025-12-31"))).unwrap());
    let open = (TenancyId(8), Stay::new(date("2026-01-01"), None).unwrap());
    tenancy("2026-01-01", None).check_registration(&[earlier]).unwrap();
    let err = tenancy("2026-05-01", None).check_registration(&[earlier, open]).unwrap_err();
    assert_eq!(err.field, "moved_in");
    assert!(err.reason.contains("an open tenancy") && err.reason.contains("tenancy 8"), "{err}");
    let err = tenancy("2025-06-01", Some("2025-07-01")).check_registration(&[earlier]).unwrap_err();
    assert!(err.reason.contains("a tenancy in this house") && err.reason.contains("tenancy 7"), "{err}");
    let mut no_id = tenancy("2026-01-01", None);
    no_id.tenant.id_number = None;
    assert_eq!(no_id.check_registration(&[]).unwrap_err().field, "tenant.id_number");
}

#[test]
fn ids_are_plain_numbers_and_codes_parse_with_their_field() {
    assert_eq!(serde_json::to_value(PlaceId(12)).unwrap(), json!(12));
    assert_eq!(serde_json::from_value::<HouseId>(json!(3)).unwrap(), HouseId(3));
    assert_eq!(Floors::new(0).unwrap_err().field, "floors");
    assert_eq!(Floors::new(201).unwrap_err().field, "floors");
    assert_eq!(Floors::new(200).unwrap().get(), 200);
    assert_eq!(HouseUse::parse("rental").unwrap(), HouseUse::Rental);
    assert_eq!(HouseUse::parse("hotel").unwrap_err().field, "use");
    assert_eq!(CareKind::parse("left_behind_child").unwrap(), CareKind::LeftBehindChild);
    for k in CareKind::ALL {
        assert_eq!(serde_json::to_value(k).unwrap(), json!(k.as_str()));
    }
    assert_eq!(Text::parse("name", "  ").unwrap_err().field, "name");
    assert_eq!(Text::parse("name", "a\u{7}b").unwrap_err().reason, "may not contain control characters");
    assert_eq!(text(" 乌镇 ").as_str(), "乌镇");
}

#[test]
fn personal_details_are_masked_for_lists() {
    let m = tenant().masked();
    assert_eq!(
        m,
        MaskedPerson {
            name: "王*".into(),
            phone: Some("138****1234".into()),
            id_number: Some("1101**********002X".into())
        }
    );
}

fn place() -> PlaceData {
    PlaceData {
        kind: "hotel".into(),
        name: text("乌镇客栈"),
        address: text("乌镇镇西栅大街1号"),
        location: LatLon::new(30.745, 120.49).unwrap(),
        grid: RegionCode::parse("330483101001001").unwrap(),
        functional_grid: None,
        credit_code: Some(CreditCode::parse("91330100799655058B").unwrap()),
        licences: vec![Licence { kind: text("特种行业许可证"), number: text("浙桐公特旅字第001号") }],
        responsible: tenant(),
        staff: 6,
        risk: RiskLevel::Medium,
        fields: serde_json::from_value(json!({"rooms": 12})).unwrap(),
    }
}

#[test]
fn a_place_is_checked_by_its_kind() {
    let kinds = default_place_kinds();
    let hotel = kinds.iter().find(|k| k.key == "hotel").unwrap();
    let shop = kinds.iter().find(|k| k.key == "shop").unwrap();
    place().checked(hotel).unwrap();
    assert_eq!(place().checked(shop).unwrap_err().field, "kind");
    let mut p = place();
    p.fields.clear();
    assert_eq!(p.checked(hotel).unwrap_err(), FieldError::new("fields.rooms", "is required"));
}

#[test]
fn history_records_the_changed_fields_with_people_masked() {
    let old = place();
    let patch: PlacePatch = serde_json::from_value(json!({
        "name": "乌镇民宿",
        "responsible": {"name": "李雷", "phone": "13912345678"},
        "fields": {"rooms": 14},
        "credit_code": null
    }))
    .unwrap();
    assert_eq!(patch.credit_code, Some(None), "null clears");
    assert_eq!(patch.functional_grid, None, "absent leaves it");
    let new = old.patched(&patch);
    let c = changes(Some(&old), &new);
    let fields: Vec<_> = c.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(
        fields,
        ["credit_code", "fields.rooms", "name", "responsible.id_number", "responsible.name", "responsible.phone"]
    );
    let get = |f: &str| c.iter().find(|c| c.field == f).unwrap();
    assert_eq!((get("name").old.clone(), get("name").new.clone()), (json!("乌镇客栈"), json!("乌镇民宿")));
    assert_eq!(
        (get("responsible.name").old.clone(), get("responsible.name").new.clone()),
        (json!("王*"), json!("李*"))
    );
    assert_eq!(get("responsible.phone").new, json!("139****5678"));
    assert_eq!(get("responsible.id_number").old, json!("1101**********002X"));
    assert_eq!(get("responsible.id_number").new, json!(null));
    let text = serde_json::to_string(&c).unwrap();
    for secret in ["13812341234", "13912345678", "11010519491231002X", "王芳", "李雷"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    // A new entry records every field it has.
    let created = changes(None, &old);
    assert!(created.iter().any(|c| c.field == "licences" && c.old.is_null()));
    assert!(changes(Some(&old), &old).is_empty());
}

#[test]
fn care_needs_a_kind_and_a_sane_interval() {
    let mut c =
        CareData { house: HouseId(1), person: tenant(), kinds: [CareKind::ElderlyAlone].into(), visit_every_days: 7 };
    c.check().unwrap();
    c.visit_every_days = 0;
    assert_eq!(c.check().unwrap_err().field, "visit_every_days");
    c.visit_every_days = 7;
    c.kinds.clear();
    assert_eq!(c.check().unwrap_err().field, "kinds");
    assert_eq!(visit_due(0, 2), 2 * 86_400_000);
}
