//! The one policy module: may this actor do this to this object? Workflow transitions are checked
//! by [`crate::decide`]; everything else asks [`may`]. An object outside the actor's scope is
//! refused as [`Refusal::OutOfScope`] so that its existence does not leak.

use crate::{can_see, Actor, Case, Refusal, Role, Scope};

/// Things people do besides moving a case through the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read a case and its timeline.
    ViewCase,
    /// See the reporter's name and phone in clear (audited).
    RevealPersonalData,
    /// See the reporter masked (138****1234) rather than not at all.
    SeeMaskedReporter,
    /// Search the audit log.
    SearchAudit,
    /// Change a region's settings (its working calendar).
    AdministerRegion,
    /// See the measures of performance of a region.
    ViewMeasures,
    /// Follow the live feed of case changes (each change still filtered by [`crate::sees`]).
    WatchLive,
    /// Create staff accounts, give and take roles, disable accounts (see [`may_manage`]).
    ManagePeople,
    /// Create and change departments and categories: reference data shared by the whole
    /// jurisdiction, so only admins of a district (or above) may.
    ManageReference,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ViewCase => "view case",
            Permission::RevealPersonalData => "reveal personal data",
            Permission::SeeMaskedReporter => "see the reporter masked",
            Permission::SearchAudit => "search the audit log",
            Permission::AdministerRegion => "administer this region",
            Permission::ViewMeasures => "see the measures of this region",
            Permission::WatchLive => "follow the live feed of cases",
            Permission::ManagePeople => "manage people and roles",
            Permission::ManageReference => "change departments and categories",
        }
    }
}

fn region_role(actor: &Actor, roles: &[Role], case: &Case) -> bool {
    let region = case.scope_region();
    roles.iter().any(|r| actor.holds_for_region(*r, &region))
}

/// Answers whether `actor` may do `p` to a region (and everything in it).
pub fn may_in_region(actor: &Actor, p: Permission, region: &crate::RegionCode) -> Result<(), Refusal> {
    match p {
        Permission::AdministerRegion if actor.holds_for_region(Role::Admin, region) => Ok(()),
        Permission::ViewMeasures
            if [Role::Supervisor, Role::Analyst, Role::Admin, Role::Dispatcher, Role::GridLeader]
                .iter()
                .any(|r| actor.holds_for_region(*r, region)) =>
        {
            Ok(())
        }
        Permission::ViewMeasures => Err(Refusal::NotAllowed {
            action: p.as_str(),
            reason: "leaders, analysts, dispatchers and grid leaders of this region see its measures".into(),
        }),
        _ => Err(Refusal::NotAllowed { action: p.as_str(), reason: "only an admin of this region".into() }),
    }
}

/// Answers whether `actor` may do `p` to `case` (or, for case-less permissions, at all).
pub fn may(actor: &Actor, p: Permission, case: Option<&Case>) -> Result<(), Refusal> {
    let refuse = |reason: &str| Refusal::NotAllowed { action: p.as_str(), reason: reason.to_string() };
    match (p, case) {
        (Permission::SearchAudit, _) => {
            if actor.grants.iter().any(|g| g.role == Role::Auditor && matches!(g.scope, Scope::Region { .. })) {
                Ok(())
            } else {
                Err(refuse("only auditors search the audit log"))
            }
        }
        (Permission::WatchLive, _) => {
            if actor.is_staff() {
                Ok(())
            } else {
                Err(refuse("staff follow the live feed; residents follow their own cases"))
            }
        }
        (Permission::ManagePeople, _) => {
            if actor.has_role(Role::Admin) {
                Ok(())
            } else {
                Err(refuse("only admins manage people and roles"))
            }
        }
        (Permission::ManageReference, _) => {
            if district_admin(actor) {
                Ok(())
            } else {
                Err(refuse("only admins of a district (or above) change departments and categories"))
            }
        }
        (Permission::AdministerRegion | Permission::ViewMeasures, _) | (_, None) => Err(Refusal::OutOfScope),
        (_, Some(c)) if !can_see(actor, c) => Err(Refusal::OutOfScope),
        (Permission::ViewCase, Some(_)) => Ok(()),
        (Permission::RevealPersonalData, Some(c)) => {
            // The linkage center and leadership of the case's region may contact the reporter.
            if region_role(actor, &[Role::Dispatcher, Role::Supervisor], c) {
                Ok(())
            } else {
                Err(refuse("only the linkage center and supervisors of this region may see the reporter's details"))
            }
        }
        (Permission::SeeMaskedReporter, Some(c)) => {
            let region_staff = region_role(
                actor,
                &[Role::Dispatcher, Role::Supervisor, Role::GridMember, Role::GridLeader, Role::Analyst, Role::Admin],
                c,
            );
            let department = c.lead_department.is_some_and(|d| actor.works_for(d)) && !c.anonymous;
            if region_staff || department || c.is_reporter(actor) {
                Ok(())
            } else {
                Err(refuse("the reporter asked not to be named to departments"))
            }
        }
    }
}

/// Whether the actor is an admin of a district or of a region above one.
fn district_admin(actor: &Actor) -> bool {
    actor.grants.iter().any(|g| {
        g.role == Role::Admin
            && matches!(&g.scope, Scope::Region { code } if code.level() <= crate::RegionLevel::District)
    })
}

/// Where something an admin manages lies: the region a role's scope or a person belongs to.
/// `None` stands for the whole jurisdiction (a department that serves every region, a place).
pub type Reach = Option<crate::RegionCode>;

/// Whether `actor` may manage what lies in all of `reaches`: give or take a role whose scope
/// lies there, or change the account of a person whose roles all lie there. An admin of a region
/// manages what lies inside it; what belongs to the whole jurisdiction needs an admin of a
/// district (or above). Someone who is no admin at all is refused ([`Refusal::NotAllowed`]);
/// an admin asking about something outside their regions is told it is not theirs
/// ([`Refusal::OutOfScope`], "not found" for a person).
pub fn may_manage(actor: &Actor, reaches: &[Reach]) -> Result<(), Refusal> {
    may(actor, Permission::ManagePeople, None)?;
    let within = |r: &Reach| match r {
        Some(code) => actor.holds_for_region(Role::Admin, code),
        None => district_admin(actor),
    };
    if reaches.iter().all(within) {
        Ok(())
    } else {
        Err(Refusal::OutOfScope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Grant, RegionCode};

    fn admin_of(code: &str) -> Actor {
        Actor::person(
            1,
            vec![Grant::new(Role::Admin, Scope::Region { code: RegionCode::parse(code).unwrap() }).unwrap()],
        )
    }
    fn at(code: &str) -> Reach {
        Some(RegionCode::parse(code).unwrap())
    }

    #[test]
    fn admins_manage_what_lies_in_their_regions() {
        let district = admin_of("330483");
        let street = admin_of("330483101");
        assert!(may_manage(&district, &[at("330483101001001"), None]).is_ok());
        assert!(may_manage(&street, &[at("330483101001")]).is_ok());
        // A street's admin does not manage the district's people or shared departments.
        assert_eq!(may_manage(&street, &[at("330483")]), Err(Refusal::OutOfScope));
        assert_eq!(may_manage(&street, &[None]), Err(Refusal::OutOfScope));
        assert_eq!(may_manage(&district, &[at("330482")]), Err(Refusal::OutOfScope));
        // A person with no role yet may be managed by any admin.
        assert!(may_manage(&street, &[]).is_ok());
    }

    #[test]
    fn others_may_not_manage_at_all() {
        let dispatcher = Actor::person(
            2,
            vec![Grant::new(Role::Dispatcher, Scope::Region { code: RegionCode::parse("330483").unwrap() }).unwrap()],
        );
        assert!(matches!(may_manage(&dispatcher, &[]), Err(Refusal::NotAllowed { .. })));
        assert!(matches!(may(&dispatcher, Permission::ManageReference, None), Err(Refusal::NotAllowed { .. })));
        assert!(may(&admin_of("330483"), Permission::ManageReference, None).is_ok());
        assert!(matches!(
            may(&admin_of("330483101"), Permission::ManageReference, None),
            Err(Refusal::NotAllowed { .. })
        ));
    }
}
