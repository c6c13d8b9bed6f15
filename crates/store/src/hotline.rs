//! The hotline entry: a caller's earlier cases found by their phone's blind index (as the contact
//! left with a case, as the reporter registered with that phone, as a caller attached to a case),
//! and the other callers attached to a case, each written with its `add_caller` event.

use async_trait::async_trait;
use gridkeeper_domain::{Action, Caller, Case, CaseId, Decision, FieldError, Millis, PersonId};
use serde::Serialize;
use sqlx::Row;

use crate::cases::CASE_COLUMNS;
use crate::dialect::generic;
use crate::registry::PHONE;
use crate::sql::Sql;
use crate::{corrupt, Result, StoreError, Visibility};

/// The sealed columns of `case_callers` (the column name is the sealing's associated data).
const CALLER_PHONE: &str = "case_callers.phone";
const CALLER_NAME: &str = "case_callers.name";

/// At most this many earlier cases of one phone at once.
pub const MAX_CALLER_CASES: u32 = 100;

/// Cases whose contact phone is still to be indexed, per transaction at start.
const INDEX_BATCH: i64 = 1000;

/// Another caller about an existing case (not the one who reported it), in clear.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseCaller {
    pub case_id: CaseId,
    /// The seq of the `add_caller` event that attached the call.
    pub seq: i64,
    /// `None` once the case was anonymised.
    pub phone: Option<String>,
    pub name: Option<String>,
    pub at: Millis,
    /// The call-taker.
    pub taken_by: Option<PersonId>,
}

/// A case reported from a phone, and how: several may hold at once.
#[derive(Debug, Clone, PartialEq)]
pub struct PhoneCase {
    pub case: Case,
    /// The phone is the contact left with the case.
    pub as_contact: bool,
    /// The case was reported by the person registered with the phone.
    pub as_reporter: bool,
    /// The phone called about the case and was attached to it.
    pub as_caller: bool,
}

#[async_trait]
pub trait HotlineStore: Send + Sync {
    /// The cases reported from `phone` (digits only) that `visibility` covers, newest first, at
    /// most `limit` (up to [`MAX_CALLER_CASES`]): those it is the contact phone of, those
    /// reported by `person` (the person registered with it), those it called about. Found by
    /// the phone's blind index, without decrypting anything but the cases found.
    async fn cases_from_phone(
        &self,
        phone: &str,
        person: Option<PersonId>,
        visibility: &Visibility,
        limit: u32,
    ) -> Result<Vec<PhoneCase>>;
    /// Writes an `add_caller` decision as [`crate::CaseStore::apply`] would (the case if it is
    /// still at the version before, its event, its rollup facts) and, in the same transaction,
    /// the caller's row: sealed phone and name, the phone's blind index, the hash of the tracking
    /// code sent to the caller (`None`: none was sent). [`StoreError::Conflict`] with the case as
    /// it is when it is stale.
    async fn add_caller(&self, decision: &Decision, caller: &Caller, tracking_hash: Option<&str>) -> Result<Case>;
    /// The callers attached to a case, in the order they called.
    async fn callers(&self, case: CaseId) -> Result<Vec<CaseCaller>>;
}

generic! {
    impl SqlStore {
        /// Fills the blind index of the contact phone of cases stored before it existed, a batch
        /// per transaction, in id order. Once done, the partial index
        /// `cases_contact_phone_unindexed` is empty and this costs one index probe per start.
        pub(crate) async fn index_contact_phones(&self) -> Result<()> {
            let mut after = 0i64;
            loop {
                let rows = sqlx::query(
                    "SELECT id, contact_phone FROM cases WHERE contact_phone IS NOT NULL AND contact_phone_index IS NULL \
                     AND id > $1 ORDER BY id LIMIT $2",
                )
                .bind(after)
                .bind(INDEX_BATCH)
                .fetch_all(&self.pool)
                .await?;
                let Some(last) = rows.last() else { return Ok(()) };
                after = last.try_get("id")?;
                let mut tx = self.begin_write().await?;
                for r in &rows {
                    let (id, sealed): (i64, String) = (r.try_get("id")?, r.try_get("contact_phone")?);
                    let phone = self.vault.open("cases.contact_phone", &sealed).map_err(corrupt)?;
                    // Unchanged meanwhile: a case written since carries its own index.
                    sqlx::query(
                        "UPDATE cases SET contact_phone_index = $1 WHERE id = $2 AND contact_phone = $3 \
                         AND contact_phone_index IS NULL",
                    )
                    .bind(self.vault.blind_index(PHONE, &phone))
                    .bind(id)
                    .bind(&sealed)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                tracing::info!(up_to = after, "contact phones of earlier cases indexed");
            }
        }

        /// Removes the personal data of a case's callers (with the case's `anonymise` event).
        pub(crate) async fn anonymise_callers(conn: &mut D::Connection, case: CaseId) -> Result<()> {
            sqlx::query("UPDATE case_callers SET phone = NULL, phone_index = NULL, name = NULL WHERE case_id = $1")
                .bind(case)
                .execute(&mut *conn)
                .await?;
            Ok(())
        }
    }
}

generic! {
    #[async_trait]
    impl HotlineStore for SqlStore {
        async fn cases_from_phone(
            &self,
            phone: &str,
            person: Option<PersonId>,
            visibility: &Visibility,
            limit: u32,
        ) -> Result<Vec<PhoneCase>> {
            let index = self.vault.blind_index(PHONE, phone);
            let mut b = Sql::new(format!(
                "SELECT {CASE_COLUMNS}, EXISTS (SELECT 1 FROM case_callers k WHERE k.case_id = cases.id AND k.phone_index = "
            ));
            b.push_bind(index.clone()).push(") AS as_caller FROM cases WHERE (contact_phone_index = ").push_bind(index.clone());
            if let Some(p) = person {
                b.push(" OR reporter = ").push_bind(p);
            }
            b.push(" OR id IN (SELECT case_id FROM case_callers WHERE phone_index = ").push_bind(index).push("))");
            Self::push_visibility(&mut b, visibility);
            b.push(" ORDER BY reported_at DESC, id DESC LIMIT ").push_bind(i64::from(limit.clamp(1, MAX_CALLER_CASES)));
            Self::query_of(&b)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| {
                    let case = self.case_row(r)?;
                    Ok(PhoneCase {
                        as_contact: case.contact.as_ref().and_then(|c| c.phone.as_deref()) == Some(phone),
                        as_reporter: person.is_some() && case.reporter == person,
                        as_caller: r.try_get("as_caller")?,
                        case,
                    })
                })
                .collect()
        }

        async fn add_caller(&self, decision: &Decision, caller: &Caller, tracking_hash: Option<&str>) -> Result<Case> {
            if decision.event.action != Action::AddCaller {
                return Err(StoreError::Invalid(FieldError::new("action", "only an `add_caller` decision attaches a caller")));
            }
            let case = &decision.case;
            let mut tx = self.begin_write().await?;
            if !self.apply_in(&mut tx, decision, &[]).await? {
                drop(tx);
                let current = crate::CaseStore::case(self, case.id).await?.ok_or_else(|| corrupt(format!("case {} vanished", case.id)))?;
                return Err(StoreError::Conflict(Box::new(current)));
            }
            sqlx::query(
                "INSERT INTO case_callers (case_id, seq, phone, phone_index, name, at, taken_by, tracking_hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(case.id)
            .bind(case.version)
            .bind(self.vault.seal(CALLER_PHONE, caller.phone()))
            .bind(self.vault.blind_index(PHONE, caller.phone()))
            .bind(self.vault.seal_opt(CALLER_NAME, caller.name()))
            .bind(decision.event.at)
            .bind(decision.event.actor)
            .bind(tracking_hash)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            tracing::info!(case = case.id, seq = case.version, "caller attached");
            Ok(case.clone())
        }

        async fn callers(&self, case: CaseId) -> Result<Vec<CaseCaller>> {
            sqlx::query("SELECT case_id, seq, phone, name, at, taken_by FROM case_callers WHERE case_id = $1 ORDER BY seq")
                .bind(case)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| {
                    let phone: Option<String> = r.try_get("phone")?;
                    let name: Option<String> = r.try_get("name")?;
                    Ok(CaseCaller {
                        case_id: r.try_get("case_id")?,
                        seq: r.try_get("seq")?,
                        phone: self.vault.open_opt(CALLER_PHONE, phone.as_deref()).map_err(corrupt)?,
                        name: self.vault.open_opt(CALLER_NAME, name.as_deref()).map_err(corrupt)?,
                        at: r.try_get("at")?,
                        taken_by: r.try_get("taken_by")?,
                    })
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use gridkeeper_domain::{
        decide, report, Actor, Command, Contact, Grant, LatLon, NewReport, RegionCode, Role, Scope,
    };

    use super::*;
    use crate::testing::on_both;
    use crate::{AccountStore, CaseStore, Intake, NewPerson, PeopleStore};

    const PHONE_A: &str = "13912340001";

    fn dispatcher(id: PersonId) -> Actor {
        Actor::person(id, vec![Grant::new(Role::Dispatcher, Scope::parse("region:330483").unwrap()).unwrap()])
    }

    async fn person(s: &(impl PeopleStore + ?Sized), login: &str, phone: Option<&str>) -> PersonId {
        let p = NewPerson {
            login: login.into(),
            name: format!("{login} 姓名"),
            phone: phone.map(str::to_string),
            id_number: None,
            password_hash: None,
            grants: vec![],
        };
        s.create_person(&p, 0).await.unwrap()
    }

    /// A case reported at `at` by `by`, leaving `phone` as its contact.
    async fn case(s: &(impl CaseStore + ?Sized), at: Millis, by: Option<PersonId>, phone: Option<&str>) -> Case {
        let mut r = NewReport::new("330483", Some(LatLon { lat: 30.0, lon: 120.0 }), "路灯不亮");
        r.contact = phone.map(|p| Contact { name: Some("李阿姨".into()), phone: Some(p.into()) });
        let actor = match by {
            Some(id) => Actor::person(id, vec![]),
            None => Actor::anonymous(),
        };
        let d = report(&actor, r, at).unwrap();
        s.insert_case(Intake { decision: &d, year: 2026, tracking_hash: None, media: &[] }).await.unwrap()
    }

    fn everything() -> Visibility {
        Visibility { all: true, ..Default::default() }
    }

    on_both! {
        async fn a_phone_finds_its_cases_as_contact_reporter_and_caller_newest_first(s) {
            let taker = person(&s, "taker", None).await;
            let resident = person(&s, "resident", Some(PHONE_A)).await;
            let as_contact = case(&s, 1, None, Some(PHONE_A)).await;
            let as_reporter = case(&s, 2, Some(resident), None).await;
            let someone_else = case(&s, 3, None, Some("13912340002")).await;
            let _nobody = case(&s, 4, None, None).await;
            // A call from the same phone about someone else's case.
            let caller = Caller::new(PHONE_A, Some("李阿姨")).unwrap();
            let d = decide(&someone_else, &dispatcher(taker), Command::AddCaller { caller: caller.clone(), note: None }, 5)
                .unwrap();
            let stored = s.add_caller(&d, &caller, Some("caller-code-hash")).await.unwrap();
            assert_eq!(stored.version, 2);
            assert_eq!(s.events(someone_else.id).await.unwrap()[1].event.action, Action::AddCaller);
            let callers = s.callers(someone_else.id).await.unwrap();
            assert_eq!(callers, [CaseCaller {
                case_id: someone_else.id,
                seq: 2,
                phone: Some(PHONE_A.into()),
                name: Some("李阿姨".into()),
                at: 5,
                taken_by: Some(taker),
            }]);
            // The caller's tracking code opens the case, as the reporter's does.
            assert_eq!(s.case_by_tracking("caller-code-hash").await.unwrap().map(|c| c.id), Some(someone_else.id));

            let found = s.cases_from_phone(PHONE_A, Some(resident), &everything(), 20).await.unwrap();
            let ids: Vec<(CaseId, bool, bool, bool)> =
                found.iter().map(|f| (f.case.id, f.as_contact, f.as_reporter, f.as_caller)).collect();
            assert_eq!(ids, [
                (someone_else.id, false, false, true),
                (as_reporter.id, false, true, false),
                (as_contact.id, true, false, false),
            ]);
            // Without the person, the reporter's case is not found by phone; the limit holds.
            let found = s.cases_from_phone(PHONE_A, None, &everything(), 1).await.unwrap();
            assert_eq!(found.iter().map(|f| f.case.id).collect::<Vec<_>>(), [someone_else.id]);
            // Visibility applies inside the query.
            let elsewhere = Visibility { regions: vec![RegionCode::parse("330482").unwrap()], ..Default::default() };
            assert!(s.cases_from_phone(PHONE_A, Some(resident), &elsewhere, 20).await.unwrap().is_empty());
            // Nothing in clear in the stored rows.
            let raw: Vec<String> = sqlx::query_scalar("SELECT phone FROM case_callers").fetch_all(&s.pool).await.unwrap();
            assert!(raw.iter().all(|p| p.starts_with("enc:") && !p.contains(PHONE_A)));
        }

        async fn a_stale_call_is_a_conflict_and_writes_no_caller(s) {
            let taker = person(&s, "taker", None).await;
            let c = case(&s, 1, None, None).await;
            let caller = Caller::new(PHONE_A, None).unwrap();
            let add = || decide(&c, &dispatcher(taker), Command::AddCaller { caller: caller.clone(), note: None }, 2).unwrap();
            let (first, second) = (add(), add());
            s.add_caller(&first, &caller, Some("h1")).await.unwrap();
            assert!(matches!(s.add_caller(&second, &caller, None).await, Err(StoreError::Conflict(now)) if now.version == 2));
            assert_eq!(s.callers(c.id).await.unwrap().len(), 1);
            assert_eq!(s.events(c.id).await.unwrap().len(), 2);
            // Another decision is not a caller.
            let note = decide(&s.case(c.id).await.unwrap().unwrap(), &dispatcher(taker), Command::Note { text: "x".into() }, 3).unwrap();
            assert!(matches!(s.add_caller(&note, &caller, None).await, Err(StoreError::Invalid(_))));
        }

        async fn anonymising_a_case_removes_its_callers_details(s) {
            let taker = person(&s, "taker", None).await;
            let c = case(&s, 1, None, Some(PHONE_A)).await;
            let caller = Caller::new("13912340009", Some("王")).unwrap();
            let d = decide(&c, &dispatcher(taker), Command::AddCaller { caller: caller.clone(), note: None }, 2).unwrap();
            let c = s.add_caller(&d, &caller, None).await.unwrap();
            let rejected = decide(
                &c,
                &dispatcher(taker),
                Command::Reject { reason: gridkeeper_domain::Rejection::Invalid, original: None, note: Some("不是问题".into()) },
                3,
            )
            .unwrap();
            let c = s.apply(&rejected, &[]).await.unwrap();
            c.closed_at.expect("a rejected case is finished");
            assert_eq!(s.cases_to_anonymise(i64::MAX, 10).await.unwrap().len(), 1);
            let gone = gridkeeper_domain::anonymise(&c, 4).unwrap();
            s.apply(&gone, &[]).await.unwrap();
            let callers = s.callers(c.id).await.unwrap();
            assert_eq!((callers[0].phone.as_deref(), callers[0].name.as_deref()), (None, None));
            assert!(s.cases_from_phone("13912340009", None, &everything(), 20).await.unwrap().is_empty());
            assert!(s.cases_from_phone(PHONE_A, None, &everything(), 20).await.unwrap().is_empty());
            assert!(s.cases_to_anonymise(i64::MAX, 10).await.unwrap().is_empty());
        }

        async fn contact_phones_stored_before_the_index_are_indexed_at_start(s) {
            let a = case(&s, 1, None, Some(PHONE_A)).await;
            let b = case(&s, 2, None, Some(PHONE_A)).await;
            case(&s, 3, None, None).await;
            sqlx::query("UPDATE cases SET contact_phone_index = NULL").execute(&s.pool).await.unwrap();
            assert!(s.cases_from_phone(PHONE_A, None, &everything(), 20).await.unwrap().is_empty());
            s.index_contact_phones().await.unwrap();
            let found = s.cases_from_phone(PHONE_A, None, &everything(), 20).await.unwrap();
            assert_eq!(found.iter().map(|f| f.case.id).collect::<Vec<_>>(), [b.id, a.id]);
            let left: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM cases WHERE contact_phone IS NOT NULL AND contact_phone_index IS NULL",
            )
            .fetch_one(&s.pool)
            .await
            .unwrap();
            assert_eq!(left, 0);
        }
    }

    /// Once every contact phone is indexed, the start-up pass reads one entry of an empty index.
    #[tokio::test]
    async fn the_start_up_pass_reads_the_partial_index() {
        let s = crate::testing::sqlite().await;
        let plan: Vec<String> = sqlx::query(
            "EXPLAIN QUERY PLAN SELECT id, contact_phone FROM cases WHERE contact_phone IS NOT NULL \
             AND contact_phone_index IS NULL AND id > 0 ORDER BY id LIMIT 1000",
        )
        .fetch_all(&s.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>("detail"))
        .collect();
        assert!(plan.join("; ").contains("cases_contact_phone_unindexed"), "{plan:?}");
    }
}
