//! Every transition and every refusal of the state machine.

use super::*;
use crate::{CategoryKind, Deadlines, DepartmentKind, Grant, Scope, HOUR};

const T0: Millis = 1_780_000_000_000;
const GRID: &str = "330483101001001";

fn code(s: &str) -> RegionCode {
    RegionCode::parse(s).unwrap()
}
fn grant(role: Role, scope: &str) -> Grant {
    Grant::new(role, Scope::parse(scope).unwrap()).unwrap()
}
fn resident() -> Actor {
    Actor::person(1, vec![grant(Role::Resident, "region:330483")])
}
fn dispatcher() -> Actor {
    Actor::person(2, vec![grant(Role::Dispatcher, "region:330483")])
}
fn staff() -> Actor {
    Actor::person(3, vec![grant(Role::DepartmentStaff, "department:10")])
}
fn co_staff() -> Actor {
    Actor::person(4, vec![grant(Role::DepartmentStaff, "department:11")])
}
fn member() -> Actor {
    Actor::person(5, vec![grant(Role::GridMember, &format!("region:{GRID}"))])
}
fn leader() -> Actor {
    Actor::person(6, vec![grant(Role::GridLeader, "region:330483101001")])
}
fn supervisor() -> Actor {
    Actor::person(7, vec![grant(Role::Supervisor, "region:330483")])
}
fn other_dispatcher() -> Actor {
    Actor::person(8, vec![grant(Role::Dispatcher, "region:330482")])
}
fn other_member() -> Actor {
    Actor::person(9, vec![grant(Role::GridMember, "region:330483101001002")])
}

fn category() -> Category {
    Category {
        id: 101,
        code: "C0101".into(),
        name: "井盖".into(),
        name_en: "Manhole cover".into(),
        kind: CategoryKind::Component,
        parent_id: Some(100),
        default_department: Some(10),
        public: true,
        deadlines: Deadlines { routine_hours: 72, urgent_hours: 24, emergency_hours: 2 },
        duplicate_radius_m: 50,
        duplicate_window_hours: 72,
    }
}
fn class() -> Category {
    Category { id: 100, code: "C01".into(), parent_id: None, ..category() }
}
fn dept(id: i64) -> Department {
    Department {
        id,
        code: format!("D{id}"),
        name: "城管".into(),
        name_en: "City management".into(),
        platform_id: 1,
        kind: DepartmentKind::Government,
        region: None,
    }
}

fn new_report() -> NewReport {
    NewReport {
        district: "330483".into(),
        grid: Some(code(GRID)),
        location: Some(LatLon { lat: 30.74, lon: 120.49 }),
        address: None,
        description: "井盖破损 broken manhole cover".into(),
        urgency: Urgency::Urgent,
        suggested_category: Some(category()),
        photos: vec!["p1".into()],
        anonymous: false,
        contact: Some(crate::Contact { name: Some("王芳".into()), phone: Some("138 1234 1234".into()) }),
        source: None,
    }
}

fn reported() -> Case {
    let mut c = report(&resident(), new_report(), T0).unwrap().case;
    c.id = 42;
    c.reference = "330483-2026-000042".into();
    c
}

/// Applies a command and checks the invariants of every decision.
fn step(case: &Case, actor: &Actor, cmd: Command, at: Millis) -> Case {
    let action = cmd.action();
    let d = decide(case, actor, cmd, at).unwrap_or_else(|e| panic!("{action:?} refused: {e}"));
    assert_eq!(d.case.version, case.version + 1);
    assert_eq!(d.event.action, action);
    assert_eq!(d.event.from, Some(case.state));
    assert_eq!(d.event.to, d.case.state);
    assert_eq!(d.event.actor, actor.person);
    assert_eq!(d.case.updated_at, at);
    d.case
}

fn refuse(case: &Case, actor: &Actor, cmd: Command) -> Refusal {
    decide(case, actor, cmd, T0 + HOUR).expect_err("should be refused")
}

fn accept() -> Command {
    Command::Accept { category: category(), urgency: Urgency::Urgent, note: None }
}
fn dispatch() -> Command {
    Command::Dispatch { lead: dept(10), co: vec![dept(11)], deadline: None, note: None }
}
fn accepted() -> Case {
    step(&reported(), &dispatcher(), accept(), T0 + 10 * MIN)
}
fn dispatched() -> Case {
    step(&accepted(), &dispatcher(), dispatch(), T0 + 20 * MIN)
}
fn in_progress() -> Case {
    step(&dispatched(), &staff(), Command::Sign, T0 + 30 * MIN)
}
fn submit() -> Command {
    Command::SubmitResult { note: "replaced the cover".into(), evidence: vec!["e1".into()] }
}
fn resolved() -> Case {
    step(&in_progress(), &staff(), submit(), T0 + 5 * HOUR)
}
fn verified() -> Case {
    step(&resolved(), &member(), Command::Verify { passed: true, note: None, evidence: vec![] }, T0 + 6 * HOUR)
}
fn closed() -> Case {
    step(&verified(), &dispatcher(), Command::Close { note: None }, T0 + 7 * HOUR)
}

const MIN: Millis = crate::MINUTE;

fn is_wrong_state(r: &Refusal) -> bool {
    matches!(r, Refusal::WrongState { .. })
}
fn is_not_allowed(r: &Refusal) -> bool {
    matches!(r, Refusal::NotAllowed { .. })
}
fn invalid_field(r: &Refusal) -> &str {
    match r {
        Refusal::Invalid(e) => &e.field,
        other => panic!("expected invalid data, got {other:?}"),
    }
}

#[test]
fn report_starts_the_accept_clock_and_records_everything() {
    let d = report(&resident(), new_report(), T0).unwrap();
    assert_eq!(d.case.state, CaseState::Reported);
    assert_eq!(d.case.version, 1);
    assert_eq!(d.case.due_at, Some(T0 + Urgency::Urgent.accept_within()));
    assert_eq!(d.case.source, Source::Resident);
    assert_eq!(d.case.reporter, Some(1));
    assert_eq!(d.case.suggested_category, Some(101));
    assert_eq!(d.event.action, Action::Report);
    assert_eq!(d.event.from, None);
    assert_eq!(d.event.data["photos"][0], "p1");
    assert_eq!(d.case.contact.as_ref().unwrap().phone.as_deref(), Some("13812341234"));
    // Personal data stays out of the event and out of the serialised case.
    assert!(!d.event.data.to_string().contains("1381234"));
    assert!(!serde_json::to_string(&d.case).unwrap().contains("1381234"));
    // Grid members' reports are marked as such; anonymous reports have no reporter.
    assert_eq!(report(&member(), new_report(), T0).unwrap().case.source, Source::GridMember);
    assert_eq!(report(&Actor::anonymous(), new_report(), T0).unwrap().case.reporter, None);
}

#[test]
fn report_refusals() {
    let a = resident();
    let bad = |r: NewReport| report(&a, r, T0).unwrap_err();
    assert_eq!(invalid_field(&bad(NewReport { description: "  ".into(), ..new_report() })), "description");
    assert_eq!(invalid_field(&bad(NewReport { description: "x".repeat(4001), ..new_report() })), "description");
    assert_eq!(invalid_field(&bad(NewReport { location: None, address: None, ..new_report() })), "location");
    assert_eq!(
        invalid_field(&bad(NewReport { photos: (0..10).map(|i| i.to_string()).collect(), ..new_report() })),
        "photos"
    );
    assert_eq!(invalid_field(&bad(NewReport { photos: vec!["a".into(), "a".into()], ..new_report() })), "photos");
    assert_eq!(invalid_field(&bad(NewReport { suggested_category: Some(class()), ..new_report() })), "category");
    assert!(is_not_allowed(&bad(NewReport { source: Some(Source::Exchange), ..new_report() })));
    let bad_phone = crate::Contact { name: None, phone: Some("call me".into()) };
    assert_eq!(invalid_field(&bad(NewReport { contact: Some(bad_phone), ..new_report() })), "phone");
    // An address alone is enough.
    assert!(report(
        &a,
        NewReport { location: None, grid: None, address: Some("乌镇 西栅".into()), ..new_report() },
        T0
    )
    .is_ok());
}

#[test]
fn accept_sets_category_urgency_and_dispatch_clock() {
    let c = accepted();
    assert_eq!(c.state, CaseState::Accepted);
    assert_eq!(c.category, Some(101));
    assert_eq!(c.category_kind, Some(CategoryKind::Component));
    assert!(c.public);
    assert_eq!(c.handle_within, Some(24 * HOUR));
    assert_eq!(c.due_at, Some(T0 + 10 * MIN + Urgency::Urgent.dispatch_within()));
}

#[test]
fn accept_refusals() {
    let r = reported();
    assert!(is_not_allowed(&refuse(&r, &member(), accept())));
    assert!(is_not_allowed(&refuse(&r, &supervisor(), accept())));
    assert_eq!(refuse(&r, &other_dispatcher(), accept()), Refusal::OutOfScope);
    assert!(is_wrong_state(&refuse(&accepted(), &dispatcher(), accept())));
    let cmd = Command::Accept { category: class(), urgency: Urgency::Routine, note: None };
    assert_eq!(invalid_field(&refuse(&r, &dispatcher(), cmd)), "category");
}

#[test]
fn reject_as_invalid_outside_or_duplicate() {
    let r = reported();
    let c = step(
        &r,
        &dispatcher(),
        Command::Reject { reason: Rejection::OutsideArea, original: None, note: None },
        T0 + MIN,
    );
    assert_eq!((c.state, c.rejection, c.due_at), (CaseState::Rejected, Some(Rejection::OutsideArea), None));
    let c = step(
        &r,
        &dispatcher(),
        Command::Reject { reason: Rejection::Invalid, original: None, note: Some("test message".into()) },
        T0 + MIN,
    );
    assert_eq!(c.rejection, Some(Rejection::Invalid));
    let original = Original { id: 7, district: "330483".into(), state: CaseState::Dispatched, duplicate_of: None };
    let c = step(
        &r,
        &dispatcher(),
        Command::Reject { reason: Rejection::Duplicate, original: Some(original), note: None },
        T0 + MIN,
    );
    assert_eq!((c.rejection, c.duplicate_of), (Some(Rejection::Duplicate), Some(7)));
}

#[test]
fn reject_refusals() {
    let r = reported();
    let dup = |o: Option<Original>| Command::Reject { reason: Rejection::Duplicate, original: o, note: None };
    let orig = Original { id: 7, district: "330483".into(), state: CaseState::Accepted, duplicate_of: None };
    assert!(is_not_allowed(&refuse(
        &r,
        &staff_seeing(&r),
        Command::Reject { reason: Rejection::Invalid, original: None, note: Some("x".into()) }
    )));
    assert!(is_wrong_state(&refuse(&accepted(), &dispatcher(), dup(Some(orig.clone())))));
    assert_eq!(invalid_field(&refuse(&r, &dispatcher(), dup(None))), "duplicate_of");
    assert_eq!(
        invalid_field(&refuse(&r, &dispatcher(), dup(Some(Original { id: 42, ..orig.clone() })))),
        "duplicate_of"
    );
    assert_eq!(
        invalid_field(&refuse(&r, &dispatcher(), dup(Some(Original { district: "330482".into(), ..orig.clone() })))),
        "duplicate_of"
    );
    assert_eq!(
        invalid_field(&refuse(&r, &dispatcher(), dup(Some(Original { state: CaseState::Rejected, ..orig.clone() })))),
        "duplicate_of"
    );
    let not_dup = Command::Reject { reason: Rejection::OutsideArea, original: Some(orig), note: None };
    assert_eq!(invalid_field(&refuse(&r, &dispatcher(), not_dup)), "duplicate_of");
    let no_note = Command::Reject { reason: Rejection::Invalid, original: None, note: None };
    assert_eq!(invalid_field(&refuse(&r, &dispatcher(), no_note)), "note");
}

/// A grid member of the case's grid sees it but may not reject it.
fn staff_seeing(_: &Case) -> Actor {
    member()
}

#[test]
fn dispatch_to_lead_and_co_departments_with_deadline() {
    let c = dispatched();
    assert_eq!(c.state, CaseState::Dispatched);
    assert_eq!(c.lead_department, Some(10));
    assert_eq!(c.co_departments, vec![11]);
    assert_eq!(c.handle_by, Some(T0 + 20 * MIN + 24 * HOUR));
    assert_eq!(c.due_at, c.handle_by);
    let explicit = Command::Dispatch { lead: dept(10), co: vec![], deadline: Some(T0 + 48 * HOUR), note: None };
    assert_eq!(step(&accepted(), &dispatcher(), explicit, T0 + HOUR).handle_by, Some(T0 + 48 * HOUR));
}

#[test]
fn dispatch_refusals() {
    let a = accepted();
    assert!(is_not_allowed(&refuse(&a, &member(), dispatch())));
    assert!(is_wrong_state(&refuse(&reported(), &dispatcher(), dispatch())));
    assert!(is_wrong_state(&refuse(&dispatched(), &dispatcher(), dispatch())));
    let twice = Command::Dispatch { lead: dept(10), co: vec![dept(11), dept(11)], deadline: None, note: None };
    assert_eq!(invalid_field(&refuse(&a, &dispatcher(), twice)), "co_departments");
    let lead_as_co = Command::Dispatch { lead: dept(10), co: vec![dept(10)], deadline: None, note: None };
    assert_eq!(invalid_field(&refuse(&a, &dispatcher(), lead_as_co)), "co_departments");
    let past = Command::Dispatch { lead: dept(10), co: vec![], deadline: Some(T0), note: None };
    assert_eq!(invalid_field(&refuse(&a, &dispatcher(), past)), "deadline");
}

#[test]
fn sign_and_its_refusals() {
    let c = in_progress();
    assert_eq!((c.state, c.signed_at), (CaseState::InProgress, Some(T0 + 30 * MIN)));
    let d = dispatched();
    assert!(is_not_allowed(&refuse(&d, &co_staff(), Command::Sign)));
    assert!(is_not_allowed(&refuse(&d, &dispatcher(), Command::Sign)));
    assert!(is_wrong_state(&refuse(&c, &staff(), Command::Sign)));
    // A department that is not involved does not even see the case.
    let stranger = Actor::person(30, vec![grant(Role::DepartmentStaff, "department:99")]);
    assert_eq!(refuse(&d, &stranger, Command::Sign), Refusal::OutOfScope);
}

#[test]
fn return_goes_back_to_the_center_for_redispatch() {
    for start in [dispatched(), in_progress()] {
        let c = step(&start, &staff(), Command::Return { reason: "not our duty".into() }, T0 + HOUR);
        assert_eq!(c.state, CaseState::Accepted);
        assert_eq!((c.returns, c.lead_department, c.handle_by), (1, None, None));
        assert!(c.co_departments.is_empty());
        let again = step(
            &c,
            &dispatcher(),
            Command::Dispatch { lead: dept(11), co: vec![], deadline: None, note: None },
            T0 + 2 * HOUR,
        );
        assert_eq!((again.state, again.lead_department, again.returns), (CaseState::Dispatched, Some(11), 1));
    }
}

#[test]
fn return_refusals() {
    let d = dispatched();
    assert!(is_not_allowed(&refuse(&d, &co_staff(), Command::Return { reason: "x".into() })));
    assert_eq!(invalid_field(&refuse(&d, &staff(), Command::Return { reason: " ".into() })), "reason");
    assert!(is_wrong_state(&refuse(&resolved(), &staff(), Command::Return { reason: "x".into() })));
}

#[test]
fn extension_request_approve_and_deny() {
    let c = in_progress();
    let until = c.handle_by.unwrap() + 48 * HOUR;
    let req = step(&c, &staff(), Command::RequestExtension { until, reason: "parts on order".into() }, T0 + HOUR);
    assert_eq!(req.state, CaseState::InProgress);
    assert_eq!(req.extension_request.as_ref().unwrap().until, until);
    let ok = step(&req, &dispatcher(), Command::ApproveExtension { note: None }, T0 + 2 * HOUR);
    assert_eq!((ok.handle_by, ok.due_at, ok.extensions), (Some(until), Some(until), 1));
    assert!(ok.extension_request.is_none());
    let no = step(&req, &dispatcher(), Command::DenyExtension { reason: "do it now".into() }, T0 + 2 * HOUR);
    assert_eq!((no.handle_by, no.extensions), (c.handle_by, 0));
    assert!(no.extension_request.is_none());
}

#[test]
fn extension_refusals() {
    let c = in_progress();
    let until = c.handle_by.unwrap() + HOUR;
    let ask = |u| Command::RequestExtension { until: u, reason: "r".into() };
    assert!(is_not_allowed(&refuse(&c, &dispatcher(), ask(until))));
    assert_eq!(invalid_field(&refuse(&c, &staff(), ask(c.handle_by.unwrap()))), "until");
    assert_eq!(invalid_field(&refuse(&c, &staff(), Command::RequestExtension { until, reason: "".into() })), "reason");
    assert!(is_wrong_state(&refuse(&resolved(), &staff(), ask(until))));
    let pending = step(&c, &staff(), ask(until), T0 + HOUR);
    assert_eq!(invalid_field(&refuse(&pending, &staff(), ask(until + HOUR))), "until");
    assert!(is_not_allowed(&refuse(&pending, &staff(), Command::ApproveExtension { note: None })));
    assert_eq!(invalid_field(&refuse(&c, &dispatcher(), Command::ApproveExtension { note: None })), "extension");
    assert_eq!(invalid_field(&refuse(&c, &dispatcher(), Command::DenyExtension { reason: "x".into() })), "extension");
    assert_eq!(invalid_field(&refuse(&pending, &dispatcher(), Command::DenyExtension { reason: "".into() })), "reason");
    assert!(is_not_allowed(&refuse(&pending, &member(), Command::DenyExtension { reason: "x".into() })));
}

#[test]
fn co_department_reports_its_part() {
    let c = in_progress();
    let part = Command::ReportPart { note: "power cut off".into(), evidence: vec![] };
    let after = step(&c, &co_staff(), part.clone(), T0 + HOUR);
    assert_eq!(after.state, CaseState::InProgress);
    assert!(is_not_allowed(&refuse(&c, &staff(), part.clone())));
    assert!(is_wrong_state(&refuse(&resolved(), &co_staff(), part)));
    let blank = Command::ReportPart { note: "".into(), evidence: vec![] };
    assert_eq!(invalid_field(&refuse(&c, &co_staff(), blank)), "note");
}

#[test]
fn submit_result_needs_evidence() {
    let c = resolved();
    assert_eq!((c.state, c.resolved_at), (CaseState::Resolved, Some(T0 + 5 * HOUR)));
    let ip = in_progress();
    let no_evidence = Command::SubmitResult { note: "done".into(), evidence: vec![] };
    assert_eq!(invalid_field(&refuse(&ip, &staff(), no_evidence)), "evidence");
    let no_note = Command::SubmitResult { note: "".into(), evidence: vec!["e".into()] };
    assert_eq!(invalid_field(&refuse(&ip, &staff(), no_note)), "note");
    assert!(is_not_allowed(&refuse(&ip, &co_staff(), submit())));
    assert!(is_wrong_state(&refuse(&dispatched(), &staff(), submit())));
}

#[test]
fn verify_pass_and_fail() {
    let v = verified();
    assert_eq!((v.state, v.verified_at), (CaseState::Verified, Some(T0 + 6 * HOUR)));
    // The grid leader may verify too.
    assert_eq!(
        step(&resolved(), &leader(), Command::Verify { passed: true, note: None, evidence: vec![] }, T0 + 6 * HOUR)
            .state,
        CaseState::Verified
    );
    let fail = Command::Verify { passed: false, note: Some("still broken".into()), evidence: vec![] };
    let r = step(&resolved(), &member(), fail, T0 + 6 * HOUR);
    assert_eq!((r.state, r.reworks, r.resolved_at), (CaseState::InProgress, 1, None));
    assert_eq!(r.due_at, r.handle_by);
}

#[test]
fn verify_refusals() {
    let r = resolved();
    let pass = Command::Verify { passed: true, note: None, evidence: vec![] };
    assert!(is_not_allowed(&refuse(&r, &staff(), pass.clone())));
    assert!(is_not_allowed(&refuse(&r, &dispatcher(), pass.clone())));
    // A grid member of another grid does not see the case.
    assert_eq!(refuse(&r, &other_member(), pass.clone()), Refusal::OutOfScope);
    assert!(is_wrong_state(&refuse(&in_progress(), &member(), pass)));
    let fail = Command::Verify { passed: false, note: None, evidence: vec![] };
    assert_eq!(invalid_field(&refuse(&r, &member(), fail)), "note");
}

#[test]
fn close_and_rate() {
    let c = closed();
    assert_eq!((c.state, c.closed_at, c.due_at), (CaseState::Closed, Some(T0 + 7 * HOUR), None));
    let rated = step(&c, &resident(), Command::Rate { score: 5, comment: Some("fast".into()) }, T0 + 8 * HOUR);
    assert_eq!((rated.state, rated.rating), (CaseState::Rated, Some(5)));
    assert_eq!(rated.rating_comment.as_deref(), Some("fast"));
    // An anonymous reporter rates with the case's tracking code.
    let by_code = step(&c, &Actor::tracking(c.id), Command::Rate { score: 3, comment: None }, T0 + 8 * HOUR);
    assert_eq!(by_code.rating, Some(3));
    assert_eq!(refuse(&c, &Actor::tracking(c.id + 1), Command::Rate { score: 3, comment: None }), Refusal::OutOfScope);
}

#[test]
fn close_and_rate_refusals() {
    let v = verified();
    assert!(is_not_allowed(&refuse(&v, &member(), Command::Close { note: None })));
    assert!(is_wrong_state(&refuse(&resolved(), &dispatcher(), Command::Close { note: None })));
    let c = closed();
    assert!(is_not_allowed(&refuse(&c, &dispatcher(), Command::Rate { score: 4, comment: None })));
    assert_eq!(refuse(&c, &Actor::person(77, vec![]), Command::Rate { score: 4, comment: None }), Refusal::OutOfScope);
    for score in [0, 6] {
        assert_eq!(invalid_field(&refuse(&c, &resident(), Command::Rate { score, comment: None })), "score");
    }
    assert!(is_wrong_state(&refuse(&v, &resident(), Command::Rate { score: 4, comment: None })));
    let rated = step(&c, &resident(), Command::Rate { score: 2, comment: None }, T0 + 8 * HOUR);
    assert!(is_wrong_state(&refuse(&rated, &resident(), Command::Rate { score: 4, comment: None })));
}

#[test]
fn reopen_sends_a_closed_case_back_for_dispatch() {
    let rated = step(&closed(), &resident(), Command::Rate { score: 1, comment: None }, T0 + 8 * HOUR);
    for start in [closed(), rated] {
        let c = step(&start, &supervisor(), Command::Reopen { reason: "came back".into() }, T0 + 9 * HOUR);
        assert_eq!(
            (c.state, c.reopens, c.rating, c.closed_at, c.lead_department),
            (CaseState::Accepted, 1, None, None, None)
        );
    }
    assert!(is_not_allowed(&refuse(&closed(), &dispatcher(), Command::Reopen { reason: "x".into() })));
    assert!(is_wrong_state(&refuse(&resolved(), &supervisor(), Command::Reopen { reason: "x".into() })));
    assert_eq!(invalid_field(&refuse(&closed(), &supervisor(), Command::Reopen { reason: "".into() })), "reason");
}

#[test]
fn supervise_and_note_keep_the_state() {
    let ip = in_progress();
    let s = step(
        &ip,
        &supervisor(),
        Command::Supervise { note: "fix by Friday".into(), deadline: Some(T0 + 50 * HOUR) },
        T0 + HOUR,
    );
    assert_eq!((s.state, s.supervisions), (CaseState::InProgress, 1));
    assert!(is_not_allowed(&refuse(&ip, &dispatcher(), Command::Supervise { note: "x".into(), deadline: None })));
    assert!(is_wrong_state(&refuse(&closed(), &supervisor(), Command::Supervise { note: "x".into(), deadline: None })));
    assert_eq!(
        invalid_field(&refuse(&ip, &supervisor(), Command::Supervise { note: "x".into(), deadline: Some(T0) })),
        "deadline"
    );
    for (actor, state) in [(staff(), ip.state), (dispatcher(), CaseState::Reported), (member(), CaseState::Reported)] {
        let base = if state == CaseState::Reported { reported() } else { ip.clone() };
        let n = step(&base, &actor, Command::Note { text: "called the owner".into() }, T0 + HOUR);
        assert_eq!(n.state, state);
    }
    // The reporter sees the case but internal notes are for those who work on it; an auditor
    // reads, but does not write.
    assert!(is_not_allowed(&refuse(&ip, &resident(), Command::Note { text: "x".into() })));
    let auditor = Actor::person(31, vec![grant(Role::Auditor, "region:330483")]);
    assert!(is_not_allowed(&refuse(&ip, &auditor, Command::Note { text: "x".into() })));
    assert_eq!(invalid_field(&refuse(&ip, &staff(), Command::Note { text: " ".into() })), "text");
}

#[test]
fn the_linkage_center_attaches_a_hotline_caller_to_an_open_case() {
    let caller = Caller::new(" +86 139-1234-5678 ", Some(" 李阿姨 ")).unwrap();
    assert_eq!((caller.phone(), caller.name()), ("13912345678", Some("李阿姨")));
    assert_eq!(Caller::new("12ab", None).unwrap_err().field, "phone");
    assert_eq!(Caller::new("  ", None).unwrap_err().field, "phone");
    assert_eq!(Caller::new("13912345678", Some(&"名".repeat(51))).unwrap_err().field, "name");
    let add = |note: Option<&str>| Command::AddCaller { caller: caller.clone(), note: note.map(str::to_string) };
    let ip = in_progress();
    let d = decide(&ip, &dispatcher(), add(Some("楼下也听到了")), T0 + HOUR).unwrap();
    assert_eq!((d.case.state, d.case.version, d.event.action), (ip.state, ip.version + 1, Action::AddCaller));
    // The event carries no personal data: the store keeps the caller sealed beside it.
    assert_eq!(d.event.data, serde_json::json!({ "note": "楼下也听到了" }));
    assert!(d.event.action.is_internal());
    assert!(allows(&ip, &dispatcher(), Action::AddCaller));
    // Only the linkage center of the case's region; others are refused or do not see it.
    for actor in [staff(), member(), supervisor(), resident()] {
        assert!(is_not_allowed(&refuse(&ip, &actor, add(None))));
        assert!(!allows(&ip, &actor, Action::AddCaller));
    }
    assert_eq!(refuse(&ip, &other_dispatcher(), add(None)), Refusal::OutOfScope);
    // A finished case takes no more callers.
    let rejected = step(&reported(), &dispatcher(), valid_command(Action::Reject, &reported(), T0), T0 + MIN);
    assert!(matches!(refuse(&rejected, &dispatcher(), add(None)), Refusal::WrongState { .. }));
    assert!(!allows(&rejected, &dispatcher(), Action::AddCaller));
    // It is not one of the generic actions a case page offers.
    assert!(!allowed(&ip, &dispatcher()).contains(&Action::AddCaller));
}

fn spot() -> OnTheSpot {
    OnTheSpot {
        district: "330483".into(),
        grid: code(GRID),
        location: LatLon { lat: 30.74, lon: 120.49 },
        address: None,
        description: "rubbish on the path".into(),
        category: category(),
        photos: vec![],
        evidence: vec!["after".into()],
        note: "cleared it".into(),
    }
}

#[test]
fn on_the_spot_is_verified_by_the_grid_leader_and_closed() {
    let d = on_the_spot(&member(), spot(), T0).unwrap();
    assert_eq!(d.event.action, Action::OnTheSpot);
    let mut c = d.case;
    c.id = 50;
    assert_eq!((c.state, c.on_the_spot, c.category), (CaseState::Resolved, true, Some(101)));
    // The member who handled it cannot verify it; the leader can.
    assert!(is_not_allowed(&refuse(&c, &member(), Command::Verify { passed: true, note: None, evidence: vec![] })));
    let v = step(&c, &leader(), Command::Verify { passed: true, note: None, evidence: vec![] }, T0 + HOUR);
    let closed = step(&v, &leader(), Command::Close { note: None }, T0 + 2 * HOUR);
    assert_eq!(closed.state, CaseState::Closed);
    // Failed on-the-spot handling goes to the linkage center.
    let f = step(
        &c,
        &leader(),
        Command::Verify { passed: false, note: Some("still there".into()), evidence: vec![] },
        T0 + HOUR,
    );
    assert_eq!((f.state, f.on_the_spot, f.reworks), (CaseState::Accepted, false, 1));
}

#[test]
fn on_the_spot_refusals() {
    assert!(is_not_allowed(&on_the_spot(&resident(), spot(), T0).unwrap_err()));
    assert_eq!(invalid_field(&on_the_spot(&other_member(), spot(), T0).unwrap_err()), "location");
    assert_eq!(
        invalid_field(&on_the_spot(&member(), OnTheSpot { evidence: vec![], ..spot() }, T0).unwrap_err()),
        "evidence"
    );
    assert_eq!(
        invalid_field(&on_the_spot(&member(), OnTheSpot { category: class(), ..spot() }, T0).unwrap_err()),
        "category"
    );
    assert_eq!(
        invalid_field(&on_the_spot(&member(), OnTheSpot { note: "".into(), ..spot() }, T0).unwrap_err()),
        "note"
    );
}

#[test]
fn clocks_follow_the_stage_and_mark_overdue() {
    let r = reported();
    assert!(!r.is_overdue(T0 + Urgency::Urgent.accept_within()));
    assert!(r.is_overdue(T0 + Urgency::Urgent.accept_within() + 1));
    let ip = in_progress();
    assert!(ip.is_overdue(ip.handle_by.unwrap() + 1));
    assert!(!closed().is_overdue(T0 + 1000 * HOUR));
}

#[test]
fn cases_outside_every_grid_belong_to_the_district() {
    let mut c = report(&resident(), NewReport { grid: None, ..new_report() }, T0).unwrap().case;
    c.id = 60;
    assert_eq!(c.scope_region().as_str(), "330483");
    assert!(can_see(&dispatcher(), &c));
    assert!(!can_see(&member(), &c));
    assert!(!can_see(&other_dispatcher(), &c));
}

#[test]
fn anonymise_clears_personal_data_of_finished_cases_only() {
    let c = closed();
    assert!(c.contact.is_some() && c.reporter.is_some());
    let d = anonymise(&c, T0 + 1000 * HOUR).unwrap();
    assert_eq!((d.case.contact.clone(), d.case.reporter, d.case.state), (None, None, CaseState::Closed));
    assert_eq!((d.event.action, d.event.actor, d.case.version), (Action::Anonymise, None, c.version + 1));
    assert!(is_wrong_state(&anonymise(&in_progress(), T0).unwrap_err()));
}

#[test]
fn clocks_run_on_the_working_calendar_except_for_emergencies() {
    use chrono::TimeZone;
    let cal = Calendar::office_hours();
    let local = |d: u32, h: u32, m: u32| {
        chrono::FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, 9, d, h, m, 0)
            .unwrap()
            .timestamp_millis()
    };
    // Friday 25 September 2026, 16:00: an urgent case (24 working hours to handle).
    let friday = local(25, 16, 0);
    let mut r = report_on(&resident(), new_report(), friday, &cal).unwrap().case;
    r.id = 42;
    // Accept-by: 30 working minutes later, still on Friday.
    assert_eq!(r.due_at, Some(local(25, 16, 30)));
    let a = decide_on(&r, &dispatcher(), accept(), friday, &cal).unwrap().case;
    let d = decide_on(&a, &dispatcher(), dispatch(), friday, &cal).unwrap().case;
    // 24 working hours = 1.5 h on Friday + 7.5 h on each of Monday, Tuesday and Wednesday.
    assert_eq!(d.handle_by, Some(local(30, 17, 30)));
    // The same case as an emergency at 02:00 on Saturday runs on the wall clock.
    let night = local(26, 2, 0);
    let e =
        report_on(&resident(), NewReport { urgency: Urgency::Emergency, ..new_report() }, night, &cal).unwrap().case;
    assert_eq!(e.due_at, Some(night + Urgency::Emergency.accept_within()));
}

#[test]
fn warn_then_mark_overdue_then_escalate_until_answered() {
    let cal = Calendar::wall_clock();
    let ip = in_progress();
    let due = ip.due_at.unwrap();
    let limit = ip.handle_within.unwrap();
    // Too early to warn; then warned once at three quarters of the limit.
    assert!(is_wrong_state(&warn(&ip, due - limit / 2).unwrap_err()));
    let w = warn(&ip, due - limit / 5).unwrap();
    assert_eq!((w.event.action, w.event.actor, w.case.warned_due), (Action::Warn, None, Some(due)));
    assert!(is_wrong_state(&warn(&w.case, due - limit / 10).unwrap_err()), "once per clock");
    // Not overdue before the clock passes; then marked once, under supervision at the community.
    assert!(is_wrong_state(&mark_overdue(&w.case, due, &cal).unwrap_err()));
    let o = mark_overdue(&w.case, due + 1, &cal).unwrap().case;
    let order = o.supervision.clone().unwrap();
    assert_eq!((order.level.as_str(), order.by, o.supervisions, o.overdue_due), ("330483101001", None, 1, Some(due)));
    assert!(is_wrong_state(&mark_overdue(&o, due + 2, &cal).unwrap_err()), "once per clock");
    // Unanswered: up to the street, then the district, then no further.
    assert!(is_wrong_state(&escalate(&o, order.respond_by, &cal).unwrap_err()));
    let e1 = escalate(&o, order.respond_by + 1, &cal).unwrap().case;
    assert_eq!(e1.supervision.as_ref().unwrap().level.as_str(), "330483101");
    let e2 = escalate(&e1, e1.supervision.as_ref().unwrap().respond_by + 1, &cal).unwrap().case;
    assert_eq!(e2.supervision.as_ref().unwrap().level.as_str(), "330483");
    assert!(is_wrong_state(&escalate(&e2, e2.supervision.as_ref().unwrap().respond_by + 1, &cal).unwrap_err()));
    // The department answers; the order is gone.
    let r = step(&e2, &staff(), Command::Respond { note: "crew sent".into() }, due + 10 * HOUR);
    assert!(r.supervision.is_none());
    assert_eq!(invalid_field(&refuse(&r, &staff(), Command::Respond { note: "again".into() })), "supervision");
    assert!(is_not_allowed(&refuse(&e2, &member(), Command::Respond { note: "x".into() })));
}

#[test]
fn a_supervisor_order_is_followed_at_the_supervisor_level() {
    let ip = in_progress();
    let s = step(&ip, &supervisor(), Command::Supervise { note: "fix it".into(), deadline: None }, T0 + HOUR);
    let order = s.supervision.unwrap();
    assert_eq!(
        (order.level.as_str(), order.by, order.respond_by),
        ("330483", Some(7), T0 + HOUR + SUPERVISION_RESPONSE)
    );
}

/// The command of `action` with data `decide` accepts, so that only who, the case's state and
/// what the case is waiting for can refuse it.
fn valid_command(action: Action, case: &Case, now: Millis) -> Command {
    let text = || "done as asked".to_string();
    match action {
        Action::Accept => Command::Accept { category: category(), urgency: Urgency::Routine, note: None },
        Action::Reject => Command::Reject { reason: Rejection::Invalid, original: None, note: Some(text()) },
        Action::Dispatch => Command::Dispatch { lead: dept(10), co: vec![], deadline: None, note: None },
        Action::Sign => Command::Sign,
        Action::Return => Command::Return { reason: text() },
        Action::RequestExtension => {
            Command::RequestExtension { until: case.handle_by.unwrap_or(now).max(now) + 24 * HOUR, reason: text() }
        }
        Action::ApproveExtension => Command::ApproveExtension { note: None },
        Action::DenyExtension => Command::DenyExtension { reason: text() },
        Action::ReportPart => Command::ReportPart { note: text(), evidence: vec![] },
        Action::SubmitResult => Command::SubmitResult { note: text(), evidence: vec!["e9".into()] },
        Action::Verify => Command::Verify { passed: true, note: None, evidence: vec![] },
        Action::Close => Command::Close { note: None },
        Action::Rate => Command::Rate { score: 5, comment: None },
        Action::Reopen => Command::Reopen { reason: text() },
        Action::Supervise => Command::Supervise { note: text(), deadline: None },
        Action::Respond => Command::Respond { note: text() },
        Action::Note => Command::Note { text: text() },
        other => panic!("{other:?} is not a command"),
    }
}

/// A case in every state and in the situations that change who may do what.
fn cases_in_every_situation() -> Vec<(&'static str, Case)> {
    let ip = in_progress();
    let extension = Command::RequestExtension { until: T0 + 200 * HOUR, reason: "parts".into() };
    let waiting = step(&ip, &staff(), extension, T0 + HOUR);
    let supervised = step(&ip, &supervisor(), Command::Supervise { note: "hurry".into(), deadline: None }, T0 + HOUR);
    let rejected = step(&reported(), &dispatcher(), valid_command(Action::Reject, &reported(), T0), T0 + MIN);
    let rated = step(&closed(), &resident(), Command::Rate { score: 4, comment: None }, T0 + 8 * HOUR);
    let mut spot_case = on_the_spot(&member(), spot(), T0).unwrap().case;
    spot_case.id = 50;
    let spot_verified = step(&spot_case, &leader(), Command::Verify { passed: true, note: None, evidence: vec![] }, T0);
    let outside = |mut c: Case| {
        c.grid = None;
        c
    };
    let mut anonymous = in_progress();
    anonymous.anonymous = true;
    anonymous.reporter = None;
    vec![
        ("reported", reported()),
        ("accepted", accepted()),
        ("dispatched", dispatched()),
        ("in progress", ip),
        ("extension requested", waiting),
        ("supervised", supervised),
        ("resolved", resolved()),
        ("verified", verified()),
        ("closed", closed()),
        ("rated", rated),
        ("rejected", rejected),
        ("on the spot", spot_case),
        ("on the spot, verified", spot_verified),
        ("outside every grid, resolved", outside(resolved())),
        ("outside every grid, reported", outside(reported())),
        ("anonymous, in progress", anonymous),
    ]
}

fn everyone() -> Vec<(&'static str, Actor)> {
    vec![
        ("anonymous", Actor::anonymous()),
        ("reporter", resident()),
        ("other resident", Actor::person(20, vec![grant(Role::Resident, "region:330483")])),
        ("tracking code", Actor::tracking(42)),
        ("dispatcher", dispatcher()),
        ("other dispatcher", other_dispatcher()),
        ("lead department", staff()),
        ("co-department", co_staff()),
        ("department head", Actor::person(21, vec![grant(Role::DepartmentHead, "department:10")])),
        ("uninvolved department", Actor::person(22, vec![grant(Role::DepartmentStaff, "department:12")])),
        ("grid member", member()),
        ("other grid member", other_member()),
        ("grid leader", leader()),
        ("supervisor", supervisor()),
        ("street supervisor", Actor::person(23, vec![grant(Role::Supervisor, "region:330483101")])),
        ("auditor", Actor::person(24, vec![grant(Role::Auditor, "region:330483")])),
        ("analyst", Actor::person(25, vec![grant(Role::Analyst, "region:330483")])),
        ("admin", Actor::person(26, vec![grant(Role::Admin, "region:330483")])),
        (
            "dispatcher and lead department",
            Actor::person(
                27,
                vec![grant(Role::Dispatcher, "region:330483"), grant(Role::DepartmentStaff, "department:10")],
            ),
        ),
    ]
}

#[test]
fn allowed_agrees_with_decide() {
    let now = T0 + 10 * HOUR;
    let mut offered = 0;
    for (situation, case) in cases_in_every_situation() {
        for (who, actor) in everyone() {
            let allowed = allowed(&case, &actor);
            for action in COMMANDS {
                let decided = decide(&case, &actor, valid_command(action, &case, now), now);
                assert_eq!(
                    allowed.contains(&action),
                    decided.is_ok(),
                    "{who} on a case {situation}: {action:?} allowed = {}, decide said {decided:?}",
                    allowed.contains(&action)
                );
                // What is not offered is refused for who, the state, or what the case waits for,
                // never for the command's own data.
                if let Err(r) = decided {
                    let waiting = matches!(&r, Refusal::Invalid(e) if ["until", "extension", "supervision"].contains(&e.field.as_str()));
                    assert!(
                        matches!(r, Refusal::OutOfScope | Refusal::NotAllowed { .. } | Refusal::WrongState { .. })
                            || waiting,
                        "{who} on a case {situation}: {action:?} refused for its data: {r:?}"
                    );
                }
            }
            offered += allowed.len();
        }
    }
    assert!(offered > 50, "the situations offer hardly any action: {offered}");
}

#[test]
fn allowed_offers_each_role_its_steps() {
    let names = |c: &Case, a: &Actor| allowed(c, a).into_iter().map(Action::as_str).collect::<Vec<_>>();
    assert_eq!(names(&reported(), &dispatcher()), ["accept", "reject", "note"]);
    assert_eq!(names(&reported(), &resident()), Vec::<&str>::new());
    assert_eq!(names(&reported(), &other_dispatcher()), Vec::<&str>::new());
    assert_eq!(names(&dispatched(), &staff()), ["sign", "request_extension", "return", "note"]);
    assert_eq!(names(&in_progress(), &co_staff()), ["report_part", "note"]);
    assert_eq!(names(&in_progress(), &supervisor()), ["supervise", "note"]);
    assert_eq!(names(&resolved(), &member()), ["verify", "note"]);
    assert_eq!(names(&verified(), &dispatcher()), ["close", "note"]);
    assert_eq!(names(&closed(), &resident()), ["rate"]);
    assert_eq!(names(&closed(), &Actor::tracking(42)), ["rate"]);
    assert_eq!(names(&closed(), &supervisor()), ["reopen", "note"]);
    let waiting = step(
        &in_progress(),
        &staff(),
        Command::RequestExtension { until: T0 + 200 * HOUR, reason: "parts".into() },
        T0 + HOUR,
    );
    assert_eq!(names(&waiting, &staff()), ["submit_result", "return", "note"]);
    assert_eq!(names(&waiting, &dispatcher()), ["approve_extension", "deny_extension", "note"]);
}

#[test]
fn visibility_is_what_lists_show_of_what_one_sees() {
    // Derived from the grants: staff roles' regions, departments, one's own reports.
    let mixed = Actor::person(
        40,
        vec![
            grant(Role::Dispatcher, "region:330483"),
            grant(Role::Resident, "region:330482"),
            grant(Role::DepartmentHead, "department:10"),
            grant(Role::SocialUnit, "place:3"),
        ],
    );
    let v = Visibility::of(&mixed);
    assert_eq!(v, Visibility { all: false, regions: vec![code("330483")], departments: vec![10], reporter: Some(40) });
    assert_eq!(Visibility::of(&Actor::anonymous()), Visibility::default());
    assert_eq!(Visibility::of(&Actor::tracking(42)), Visibility::default());
    // A list shows exactly the cases one may see, except the one a tracking code opens.
    for (situation, case) in cases_in_every_situation() {
        for (who, actor) in everyone() {
            let listed = Visibility::of(&actor).covers(&case.sight());
            let tracked = actor.tracking_case == Some(case.id);
            assert_eq!(listed || tracked, can_see(&actor, &case), "{who} on a case {situation}");
        }
    }
    assert!(Visibility { all: true, ..Default::default() }.covers(&reported().sight()));
    assert!(!Visibility::of(&resident()).covers(&crate::CaseSight { reporter: None, ..reported().sight() }));
}

#[test]
fn text_keeps_line_breaks_but_not_control_characters() {
    assert_eq!(required_text("description", " 路灯\n不亮\t了 ", 50).unwrap(), "路灯\n不亮\t了");
    for bad in ["路灯\0不亮", "bell\u{7}", "esc\u{1b}[31m", "c1\u{85}x"] {
        assert_eq!(required_text("description", bad, 50).unwrap_err().field, "description", "{bad:?}");
    }
}

/// Who is told about each step of the loop (crate::notices::audiences).
#[test]
fn each_step_of_the_loop_tells_the_people_it_concerns() {
    use crate::notices::{audiences, Audience as A, NoticeKind as K};
    use crate::CaseEvent;
    let told = |before: &Case, actor: &Actor, cmd: Command| {
        let d = decide(before, actor, cmd, T0 + 8 * HOUR).unwrap();
        audiences(&d.case, &CaseEvent { case_id: d.case.id, seq: d.case.version, event: d.event })
    };
    let grid = reported().grid.unwrap();
    let accepted_to = told(&reported(), &dispatcher(), accept());
    assert!(accepted_to.contains(&(A::Reporter, K::Accepted)) && accepted_to.contains(&(A::Followers, K::Accepted)));
    assert_eq!(accepted_to.iter().any(|(a, _)| *a == A::AreaFollowers), category().public);
    let to = told(&accepted(), &dispatcher(), dispatch());
    assert!(to.contains(&(A::Departments(vec![10, 11]), K::NewDispatch)), "{to:?}");
    assert!(to.contains(&(A::Reporter, K::Dispatched)));
    assert_eq!(told(&in_progress(), &staff(), submit()), vec![(A::GridMembers(grid.clone()), K::VerificationNeeded)]);
    let solved = told(&resolved(), &member(), Command::Verify { passed: true, note: None, evidence: vec![] });
    assert_eq!(solved, vec![(A::Reporter, K::Solved), (A::Followers, K::Solved)]);
    let rework = told(
        &resolved(),
        &member(),
        Command::Verify { passed: false, note: Some("still broken".into()), evidence: vec![] },
    );
    assert_eq!(rework, vec![(A::Handler(10), K::Rework)]);
    let rejected = told(
        &reported(),
        &dispatcher(),
        Command::Reject { reason: Rejection::Invalid, original: None, note: Some("no such place".into()) },
    );
    assert_eq!(rejected, vec![(A::Reporter, K::Rejected)]);
    assert_eq!(
        told(&in_progress(), &staff(), Command::Return { reason: "not ours".into() }),
        vec![(A::Dispatchers(grid.clone()), K::Returned)]
    );
    // The clock's holder is warned: the handling department, then the grid member verifying.
    let warned = |c: &Case| {
        let d = warn(c, c.due_at.unwrap() - 1).unwrap();
        audiences(&d.case, &CaseEvent { case_id: d.case.id, seq: d.case.version, event: d.event })
    };
    assert_eq!(warned(&in_progress()), vec![(A::Handler(10), K::DeadlineWarning)]);
    assert_eq!(warned(&resolved()), vec![(A::GridMembers(grid), K::DeadlineWarning)]);
    // Internal steps tell nobody.
    assert!(told(&in_progress(), &member(), Command::Note { text: "called the shop".into() }).is_empty());
}

fn hazard_category() -> Category {
    Category {
        id: 301,
        code: "H0101".into(),
        kind: CategoryKind::Hazard,
        public: false,
        parent_id: Some(300),
        ..category()
    }
}

fn found_hazard() -> FoundHazard {
    FoundHazard {
        district: "330483".into(),
        grid: code(GRID),
        location: LatLon { lat: 30.74, lon: 120.49 },
        address: Some("南栅老街 12 号".into()),
        description: "F01 安全出口堵塞: 杂物堆放".into(),
        category: hazard_category(),
        department: dept(10),
        deadline: T0 + 5 * 24 * HOUR,
        photos: vec!["p1".into()],
        item: "F01".into(),
        subject: serde_json::json!({ "place": 7 }),
        source: Source::GridMember,
    }
}

fn hazard() -> Case {
    let mut c = find_hazard(&member(), found_hazard(), T0).unwrap().case;
    c.id = 43;
    c
}

fn reinspect(passed: bool, note: Option<&str>) -> Command {
    Command::Reinspect { passed, note: note.map(str::to_string), evidence: vec![] }
}

#[test]
fn a_hazard_starts_with_the_department_and_closes_at_a_passed_reinspection() {
    let d = find_hazard(&member(), found_hazard(), T0).unwrap();
    let h = &d.case;
    assert_eq!(
        (h.state, h.lead_department, h.handle_by, h.due_at),
        (CaseState::Dispatched, Some(10), Some(T0 + 120 * HOUR), Some(T0 + 120 * HOUR))
    );
    assert_eq!(
        (h.accepted_at, h.dispatched_at, h.category_kind, h.public),
        (None, Some(T0), Some(CategoryKind::Hazard), false)
    );
    assert_eq!(
        (d.event.action, d.event.to, d.event.data["item"].as_str()),
        (Action::FindHazard, CaseState::Dispatched, Some("F01"))
    );
    // Only what a re-inspection judges is offered by it; the case page offers the department's steps.
    assert!(!allowed(h, &member()).contains(&Action::Reinspect));
    assert!(allows(h, &member(), Action::Reinspect) && allows(h, &leader(), Action::Reinspect));
    assert!(!allows(h, &other_member(), Action::Reinspect));
    // Still wrong before the department acted: nothing changes but the record.
    let still = step(&hazard(), &member(), reinspect(false, Some("杂物仍在")), T0 + HOUR);
    assert_eq!((still.state, still.reworks), (CaseState::Dispatched, 0));
    assert_eq!(invalid_field(&refuse(&hazard(), &member(), reinspect(false, None))), "note");
    // Submitted but not right: back to the department.
    let signed = step(&hazard(), &staff(), Command::Sign, T0 + 2 * HOUR);
    let resolved = step(&signed, &staff(), submit(), T0 + 3 * HOUR);
    let rework = step(&resolved, &member(), reinspect(false, Some("仍有杂物")), T0 + 4 * HOUR);
    assert_eq!(
        (rework.state, rework.reworks, rework.resolved_at, rework.due_at),
        (CaseState::InProgress, 1, None, rework.handle_by)
    );
    // Seen put right: closed, the rectification counted done at the re-inspection.
    let closed = step(&rework, &leader(), reinspect(true, None), T0 + 5 * HOUR);
    assert_eq!(closed.state, CaseState::Closed);
    assert_eq!(
        (closed.resolved_at, closed.verified_at, closed.closed_at, closed.due_at),
        (Some(T0 + 5 * HOUR), Some(T0 + 5 * HOUR), Some(T0 + 5 * HOUR), None)
    );
    assert!(is_wrong_state(&refuse(&closed, &member(), reinspect(true, None))));
    // Only hazards are re-inspected, and only by who inspects there.
    assert!(is_not_allowed(&refuse(&dispatched(), &member(), reinspect(true, None))));
    assert!(is_not_allowed(&refuse(&hazard(), &staff(), reinspect(true, None))));
}

#[test]
fn a_hazard_names_a_hazard_subclass_and_a_future_deadline() {
    let refused = |h: FoundHazard| match find_hazard(&member(), h, T0) {
        Err(Refusal::Invalid(e)) => e.field,
        other => panic!("{other:?}"),
    };
    assert_eq!(refused(FoundHazard { category: category(), ..found_hazard() }), "category");
    assert_eq!(
        refused(FoundHazard { category: Category { parent_id: None, ..hazard_category() }, ..found_hazard() }),
        "category"
    );
    assert_eq!(refused(FoundHazard { deadline: T0, ..found_hazard() }), "deadline");
    assert_eq!(refused(FoundHazard { description: " ".into(), ..found_hazard() }), "description");
}
