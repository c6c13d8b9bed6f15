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
