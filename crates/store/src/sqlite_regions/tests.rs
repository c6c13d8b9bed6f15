use std::sync::Arc;

use gridkeeper_domain::{Region, RegionCode, Role};
use serde_json::json;

use super::*;
use crate::regions::RegionWrite;
use crate::{NewPerson, Store, Vault};

async fn store() -> SqliteStore {
    let s = SqliteStore::open("sqlite::memory:", Arc::new(Vault::ephemeral())).await.unwrap();
    s.migrate().await.unwrap();
    s
}

fn code(c: &str) -> RegionCode {
    RegionCode::parse(c).unwrap()
}

fn write(c: &str, name: &str, size: f64, derived: bool) -> RegionWrite {
    let geometry = json!({"type": "Polygon", "coordinates": [[[0.0, 0.0], [size, 0.0], [size, size], [0.0, 0.0]]]});
    RegionWrite {
        region: Region { code: code(c), name: name.into(), name_en: None, geometry: Some(geometry) },
        key: Some(format!("k-{name}")),
        derived,
    }
}

fn import<'a>(
    at: i64,
    regions: &'a [RegionWrite],
    retire: &'a [RegionCode],
    lineage: &'a [(RegionCode, RegionCode, f64)],
) -> RegionImport<'a> {
    RegionImport {
        at,
        by: None,
        source: "test.geojson",
        options: json!({ "level": "grid" }),
        summary: json!({ "created": regions.len() }),
        report: json!({ "issues": [] }),
        regions,
        retire,
        lineage,
    }
}

#[tokio::test]
async fn imports_keep_versions_retire_and_record_lineage() {
    let s = store().await;
    assert_eq!(s.region_generation().await.unwrap(), 0);
    let first = [
        write("990001", "d", 1.0, true),
        write("990001001", "s", 1.0, true),
        write("990001001001", "c", 1.0, true),
        write("990001001001001", "a", 0.5, false),
        write("990001001001002", "b", 0.5, false),
    ];
    let id1 = s.apply_region_import(&import(1000, &first, &[], &[])).await.unwrap();
    assert_eq!(s.region_generation().await.unwrap(), id1);
    let records = s.region_records().await.unwrap();
    assert_eq!(records.len(), 5);
    assert_eq!(records[3].key.as_deref(), Some("k-a"));
    assert!(records[2].derived && !records[3].derived);
    assert_eq!(records[3].updated_at, Some(1000));
    // b is split into 003 and 004; a's boundary moves.
    let second = [
        write("990001001001001", "a", 0.6, false),
        write("990001001001003", "b1", 0.2, false),
        write("990001001001004", "b2", 0.2, false),
    ];
    let (b, b1, b2) = (code("990001001001002"), code("990001001001003"), code("990001001001004"));
    let lineage = [(b.clone(), b1.clone(), 10.0), (b.clone(), b2.clone(), 12.5)];
    let id2 = s.apply_region_import(&import(2000, &second, std::slice::from_ref(&b), &lineage)).await.unwrap();
    assert!(id2 > id1);
    assert_eq!(s.region_generation().await.unwrap(), id2);
    // Retired, not deleted; the live list no longer has it.
    let all = s.region_records().await.unwrap();
    assert_eq!(all.iter().find(|r| r.region.code == b).unwrap().retired_at, Some(2000));
    assert!(!s.regions().await.unwrap().iter().any(|r| r.code == b));
    let a = s.region_history(&code("990001001001001")).await.unwrap().unwrap();
    assert_eq!(a.versions.len(), 1);
    assert_eq!((a.versions[0].valid_from, a.versions[0].valid_to), (Some(1000), 2000));
    assert_eq!(a.versions[0].geometry.as_ref().unwrap()["coordinates"][0][1][0], 0.5);
    assert_eq!(a.region.region.geometry.as_ref().unwrap()["coordinates"][0][1][0], 0.6);
    let hb = s.region_history(&b).await.unwrap().unwrap();
    assert_eq!(
        hb.successors.iter().map(|l| (l.to.as_str(), l.area_m2)).collect::<Vec<_>>(),
        [(b1.as_str(), 10.0), (b2.as_str(), 12.5)]
    );
    let hb1 = s.region_history(&b1).await.unwrap().unwrap();
    assert_eq!(hb1.predecessors.len(), 1);
    assert_eq!(hb1.predecessors[0].at, 2000);
    assert!(s.region_history(&code("990001001001009")).await.unwrap().is_none());
    let imports = s.region_imports(10).await.unwrap();
    assert_eq!(imports.iter().map(|i| i.id).collect::<Vec<_>>(), [id2, id1]);
    assert_eq!(imports[0].source, "test.geojson");
}

#[tokio::test]
async fn assignments_have_periods_that_do_not_overlap() {
    let s = store().await;
    let regions = [
        write("990001", "d", 1.0, true),
        write("990001001", "s", 1.0, true),
        write("990001001001", "c", 1.0, true),
        write("990001001001001", "g", 1.0, false),
    ];
    s.apply_region_import(&import(1, &regions, &[], &[])).await.unwrap();
    let p = NewPerson {
        login: "m".into(),
        name: "Member".into(),
        phone: None,
        id_number: None,
        password_hash: None,
        grants: vec![],
    };
    let person = s.create_person(&p, 0).await.unwrap();
    let grid = code("990001001001001");
    let new = |starts_at: i64, ends_at: Option<i64>| NewAssignment {
        person,
        region: grid.clone(),
        role: Role::GridMember,
        starts_at,
        ends_at,
        created_at: 5,
        created_by: None,
    };
    let first = s.add_assignment(&new(100, Some(200))).await.unwrap();
    assert!(first.active_at(100) && first.active_at(199) && !first.active_at(200));
    // Overlapping periods of the same person, region and role are refused; adjacent ones are not.
    for (a, b) in [(150, None), (50, Some(101)), (0, None)] {
        let err = s.add_assignment(&new(a, b)).await.unwrap_err();
        assert!(matches!(&err, StoreError::Invalid(f) if f.field == "starts_at"), "{a}..{b:?}: {err}");
    }
    let second = s.add_assignment(&new(200, None)).await.unwrap();
    s.add_assignment(&new(10, Some(100))).await.unwrap();
    assert!(
        matches!(s.add_assignment(&new(300, Some(300))).await, Err(StoreError::Invalid(f)) if f.field == "ends_at")
    );
    let err =
        s.add_assignment(&NewAssignment { region: code("990001001001009"), ..new(1000, None) }).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(f) if f.field == "region"));
    let err = s.add_assignment(&NewAssignment { person: 999, ..new(1000, None) }).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(f) if f.field == "person"));

    let at = |t: i64| AssignmentQuery { under: Some(code("990001001")), person: None, at: Some(t) };
    assert_eq!(s.assignments(&at(150)).await.unwrap(), vec![first.clone()]);
    assert_eq!(s.assignments(&at(5000)).await.unwrap(), vec![second.clone()]);
    assert!(s.assignments(&AssignmentQuery { under: Some(code("990002")), ..at(150) }).await.unwrap().is_empty());
    assert_eq!(s.assignments(&AssignmentQuery::default()).await.unwrap().len(), 3);
    // Ending: not before the start, not after it ended.
    assert!(matches!(s.end_assignment(second.id, 200).await, Err(StoreError::Invalid(_))));
    assert!(matches!(s.end_assignment(first.id, 250).await, Err(StoreError::Invalid(_))));
    let ended = s.end_assignment(second.id, 900).await.unwrap().unwrap();
    assert_eq!(ended.ends_at, Some(900));
    assert_eq!(s.assignment(second.id).await.unwrap(), Some(ended));
    assert!(s.assignments(&at(5000)).await.unwrap().is_empty());
    assert!(s.end_assignment(12345, 900).await.unwrap().is_none());
    // A retired region takes no new assignments.
    s.apply_region_import(&import(2, &[], std::slice::from_ref(&grid), &[])).await.unwrap();
    let err = s.add_assignment(&new(5000, None)).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(f) if f.reason.contains("retired")));
}
