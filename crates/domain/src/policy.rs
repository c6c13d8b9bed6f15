//! The one policy module: may this actor do this to this object? Workflow transitions are checked
//! by [`crate::decide`]; everything else asks [`may`]. An object outside the actor's scope is
//! refused as [`Refusal::OutOfScope`] so that its existence does not leak.

use crate::registry::PlaceId;
use crate::{can_see, Actor, Case, DepartmentId, Grant, PersonId, Refusal, RegionCode, Role, Scope};

/// Things people do besides moving a case through the workflow, each with the object or scope it
/// is asked of. Named by what the person does; decided by [`may`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Permission<'a> {
    /// Read a case and its timeline.
    ViewCase { case: &'a Case },
    /// See the reporter's name and phone in clear (audited).
    RevealPersonalData { case: &'a Case },
    /// See the reporter masked (138****1234) rather than not at all.
    SeeMaskedReporter { case: &'a Case },
    /// See the internal events (notes, clocks, supervision) on the timeline of a case one sees.
    ReadInternalEvents,
    /// Review the possible duplicates of a report in full (ids, descriptions, cases of categories
    /// that are not public); others learn only that a similar public case exists.
    ReviewDuplicates,
    /// Report on behalf of another system (the source `exchange`), as the Open311 key of the
    /// linkage center or an admin does.
    ReportForAnotherSystem,
    /// Follow the live feed of case changes (each change still filtered by [`crate::sees`]).
    WatchLive,
    /// Search the audit log.
    SearchAudit,
    /// Create staff accounts, give and take roles, disable accounts (see [`may_manage`]).
    ManagePeople,
    /// Create and change departments and categories: reference data shared by the whole
    /// jurisdiction, so only admins of a district (or above) may.
    ManageReference,
    /// Define the Open311 attributes (the questions asked with a report) of a category.
    DefineAttributes,
    /// Subscribe other systems to case events, and look after the deliveries (any admin; each
    /// subscription as [`Permission::ManageWebhook`]).
    ManageWebhooks,
    /// Look after one webhook subscription, by the region its filter names (`None`: the whole
    /// jurisdiction): its admins only; others are told it does not exist.
    ManageWebhook { region: Option<&'a RegionCode> },
    /// Replace the working calendar of a district.
    EditCalendar { district: &'a RegionCode },
    /// Import regions under a region (or replace it).
    ImportRegions { under: &'a RegionCode },
    /// Validate the stored region tree under a region.
    ValidateRegions { under: &'a RegionCode },
    /// List the past imports of regions, with their reports.
    SeeRegionImports,
    /// Assign grid members and leaders to a region for a period, and end the assignments.
    ManageAssignments { region: &'a RegionCode },
    /// List the assignments of grid members and leaders.
    SeeAssignments,
    /// See which grids and communities under a region have nobody responsible.
    SeeResponsibilityGaps { under: &'a RegionCode },
    /// See the names of the people responsible for a place in clear (others see them masked).
    SeeResponsibleNames,
    /// See the live figures of each grid on the exported region map.
    SeeGridFigures,
    /// See the measures of performance (and the assessment, the analysis report) of a region.
    ReadMeasures { region: &'a RegionCode },
    /// See the measures of a department wherever its cases lie.
    ReadDepartmentMeasures { department: DepartmentId },
    /// See the registry entries of a region (buildings, houses, places, people in care, with the
    /// people in them masked) and their history.
    ReadRegistry { region: &'a RegionCode },
    /// Add and change the registry entries of a region, mark places visited, record care visits.
    KeepRegistry { region: &'a RegionCode },
    /// See the names, phones and ID numbers of a registry entry of a region in clear (audited).
    RevealRegistryPerson { region: &'a RegionCode },
    /// Read the tenancy registrations of a region with the tenants in clear (audited): the
    /// police's reading, and that of who keeps the registry there.
    ReadTenancies { region: &'a RegionCode },
    /// Register and end the tenancies of a house of a region whose landlord account is `landlord`.
    ManageTenancies { region: &'a RegionCode, landlord: Option<PersonId> },
    /// Keep the entry of a place of a region current: its own social unit accounts, or who keeps
    /// the registry there (who sees every change in its history).
    KeepPlace { region: &'a RegionCode, place: PlaceId },
    /// Define the kinds of places and their fields: shared by the whole jurisdiction.
    DefinePlaceKinds,
    /// Import registry entries (places, houses, tenancies) under a region.
    ImportRegistry { under: &'a RegionCode },
    /// See the categories and departments suggested for a report, and the groups of reports of
    /// one problem (each case still as [`Permission::ViewCase`] decides).
    SeeSuggestions,
    /// Retrain the category suggestions on the platform's history now.
    RetrainSuggestions,
    /// Edit the texts of notices, see the notices that could not be delivered and send them again.
    ManageNotices,
    /// Look a hotline caller up by phone: the person registered with it and the earlier cases
    /// reported from it (each still as [`Permission::ViewCase`] decides, masked unless
    /// [`Permission::RevealPersonalData`]).
    LookUpCallers,
    /// Take a hotline call: report a problem in `region` (the grid of the place, or the district
    /// outside every grid) on the caller's behalf, as the source `hotline`.
    TakeCall { region: &'a RegionCode },
    /// Change one's own "your grid member" card (photo, office hours, whether the work phone is
    /// shown): grid members and grid leaders, whose cards the public sees. Admins change others'
    /// cards as they manage those people ([`may_manage`]).
    EditOwnCard { person: PersonId },
    /// Publish articles to a region (and everything under it), open consultations there,
    /// moderate their comments and answer them, and answer the proposals of its communities.
    ManageParticipation { region: &'a RegionCode },
    /// Take part as a resident: vote and comment on consultations, propose, support proposals.
    Participate,
    /// Withdraw a proposal made by `proposer` before it is answered: its proposer alone.
    WithdrawProposal { proposer: PersonId },
    /// Set the rules of points (per category and urgency, the daily cap): shared by the whole
    /// jurisdiction.
    ManagePointRules,
    /// Add and change the rewards handed over in a region.
    ManageRewards { region: &'a RegionCode },
    /// See the redemptions of rewards handed over in a region, hand them over, cancel them.
    HandOverRewards { region: &'a RegionCode },
    /// Record volunteer hours and consultations of people of a grid (points by the rules).
    AwardPoints { region: &'a RegionCode },
    /// Correct a person's points by hand, with a reason, in a region.
    AdjustPoints { region: &'a RegionCode },
    /// Commend a grid member or volunteer for work in a region.
    Commend { region: &'a RegionCode },
    /// Write and import the check lists and the inspection plans (how often each kind of place
    /// is inspected at each risk level): shared by the whole jurisdiction.
    ManageChecklists,
    /// Read the check lists and the plan: staff, and social units (who inspect their own place).
    ReadChecklists,
    /// Inspect one's own place with its check list (a self-inspection): its social unit accounts.
    SelfInspect { place: PlaceId },
    /// Read the safety file of a place or house of a region (its inspections and hazards): who
    /// reads the registry there, and the social unit of that place.
    ReadSafetyFile { region: &'a RegionCode, place: Option<PlaceId> },
    // ---- teams (五支队伍, crate::teams)
    /// See the teams of a grid or community, with their members and duties.
    SeeTeams { region: &'a RegionCode },
    /// Create the teams of a grid or community, add and remove members, set their duties.
    KeepTeams { region: &'a RegionCode },
    /// Log one's own service hours for team `team`: its current members.
    LogServiceHours { team: i64 },
    /// Confirm or refuse the hours `volunteer` logged for team `team` of `region`.
    ConfirmServiceHours { region: &'a RegionCode, team: i64, volunteer: PersonId },
    /// Start a patrol in a grid (and send its positions, end it): the grid's members, the grid
    /// leaders of its community, and team members with the patrol duty there. Staff of other
    /// grids are told the grid is not theirs.
    Patrol { grid: &'a RegionCode },
    /// See a patrol of `patroller` in `grid` with its track (personal data): the patroller and the
    /// grid leaders of the grid's community; for anyone else it does not exist.
    SeePatrol { patroller: PersonId, grid: &'a RegionCode },
    /// Set the monthly patrol quota of the grid members of a region: its grid leaders and admins.
    SetPatrolQuota { region: &'a RegionCode },
    /// Inspect the places and houses of a region with their check lists, and re-inspect the
    /// hazards found there: its grid members and leaders, and team members with the inspect duty
    /// there.
    InspectPlaces { region: &'a RegionCode },
    // ---- campaigns (专项整治, crate::campaigns)
    /// Start a special rectification campaign over a region, and close it early: the linkage
    /// center and admins of that region.
    RunCampaigns { region: &'a RegionCode },
    /// See the campaigns over a region and their boards: who runs them there, supervisors and
    /// analysts of the region, and its grid leaders (a community's). Of a campaign over a larger
    /// region, one sees the part inside the regions one reads ([`campaign_reach`]).
    ReadCampaigns { region: &'a RegionCode },
}

impl Permission<'_> {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ViewCase { .. } => "view case",
            Permission::RevealPersonalData { .. } => "reveal personal data",
            Permission::SeeMaskedReporter { .. } => "see the reporter masked",
            Permission::ReadInternalEvents => "read the internal events of a case",
            Permission::ReviewDuplicates => "review possible duplicates",
            Permission::ReportForAnotherSystem => "report for another system",
            Permission::WatchLive => "follow the live feed of cases",
            Permission::SearchAudit => "search the audit log",
            Permission::ManagePeople => "manage people and roles",
            Permission::ManageReference => "change departments and categories",
            Permission::DefineAttributes => "define the attributes of a category",
            Permission::ManageWebhooks | Permission::ManageWebhook { .. } => "manage webhooks",
            Permission::EditCalendar { .. } => "edit the working calendar",
            Permission::ImportRegions { .. } => "import regions",
            Permission::ValidateRegions { .. } => "validate regions",
            Permission::SeeRegionImports => "see region imports",
            Permission::ManageAssignments { .. } => "manage assignments",
            Permission::SeeAssignments => "see assignments",
            Permission::SeeResponsibilityGaps { .. } => "see responsibility gaps",
            Permission::SeeResponsibleNames => "see the names of the responsible",
            Permission::SeeGridFigures => "see the figures of each grid",
            Permission::ReadMeasures { .. } => "see the measures of this region",
            Permission::ReadDepartmentMeasures { .. } => "see the measures of this department",
            Permission::ReadRegistry { .. } => "see the registry",
            Permission::KeepRegistry { .. } => "keep the registry",
            Permission::RevealRegistryPerson { .. } => "see the people of the registry in clear",
            Permission::ReadTenancies { .. } => "read tenancy registrations",
            Permission::ManageTenancies { .. } => "register and end tenancies",
            Permission::KeepPlace { .. } => "keep a place's entry current",
            Permission::DefinePlaceKinds => "define the kinds of places",
            Permission::ImportRegistry { .. } => "import registry entries",
            Permission::ManageChecklists => "write check lists and inspection plans",
            Permission::ReadChecklists => "read the check lists",
            Permission::SelfInspect { .. } => "inspect one's own place",
            Permission::ReadSafetyFile { .. } => "read the safety file of a place",
            Permission::SeeSuggestions => "see suggested categories and groups of reports",
            Permission::RetrainSuggestions => "retrain the category suggestions",
            Permission::ManageNotices => "manage the texts and deliveries of notices",
            Permission::LookUpCallers => "look hotline callers up",
            Permission::TakeCall { .. } => "take a hotline call",
            Permission::EditOwnCard { .. } => "change one's contact card",
            Permission::ManageParticipation { .. } => "publish articles, run consultations and answer proposals",
            Permission::Participate => "vote, comment, propose and support proposals",
            Permission::WithdrawProposal { .. } => "withdraw a proposal",
            Permission::ManagePointRules => "set the rules of points",
            Permission::ManageRewards { .. } => "manage the rewards of this region",
            Permission::HandOverRewards { .. } => "hand rewards over in this region",
            Permission::AwardPoints { .. } => "record volunteer hours and consultations",
            Permission::AdjustPoints { .. } => "correct points by hand",
            Permission::Commend { .. } => "commend grid members and volunteers",
            Permission::SeeTeams { .. } => "see the teams",
            Permission::KeepTeams { .. } => "keep the teams and their members",
            Permission::LogServiceHours { .. } => "log service hours",
            Permission::ConfirmServiceHours { .. } => "confirm service hours",
            Permission::Patrol { .. } => "patrol a grid",
            Permission::SeePatrol { .. } => "see a patrol and its track",
            Permission::SetPatrolQuota { .. } => "set the patrol quota",
            Permission::InspectPlaces { .. } => "inspect places",
            Permission::RunCampaigns { .. } => "run special rectification campaigns",
            Permission::ReadCampaigns { .. } => "see special rectification campaigns",
        }
    }
}

fn region_role(actor: &Actor, roles: &[Role], case: &Case) -> bool {
    let region = case.scope_region();
    roles.iter().any(|r| actor.holds_for_region(*r, &region))
}

/// Answers whether `actor` may do `p`. A case outside the actor's sight, or a webhook outside
/// the admin's regions, is refused as [`Refusal::OutOfScope`]; everything else that is refused is
/// [`Refusal::NotAllowed`].
pub fn may(actor: &Actor, p: Permission<'_>) -> Result<(), Refusal> {
    let allow = |ok: bool, reason: &str| {
        if ok {
            Ok(())
        } else {
            Err(Refusal::NotAllowed { action: p.as_str(), reason: reason.to_string() })
        }
    };
    let admin_of =
        |region: &RegionCode| allow(actor.holds_for_region(Role::Admin, region), "only an admin of this region");
    let sight = |case: &Case| if can_see(actor, case) { Ok(()) } else { Err(Refusal::OutOfScope) };
    match p {
        Permission::ViewCase { case } => sight(case),
        Permission::RevealPersonalData { case } => {
            sight(case)?;
            // The linkage center and leadership of the case's region may contact the reporter.
            allow(
                region_role(actor, &[Role::Dispatcher, Role::Supervisor], case),
                "only the linkage center and supervisors of this region may see the reporter's details",
            )
        }
        Permission::SeeMaskedReporter { case } => {
            sight(case)?;
            let region_staff = region_role(
                actor,
                &[Role::Dispatcher, Role::Supervisor, Role::GridMember, Role::GridLeader, Role::Analyst, Role::Admin],
                case,
            );
            let department = case.lead_department.is_some_and(|d| actor.works_for(d)) && !case.anonymous;
            allow(
                region_staff || department || case.is_reporter(actor),
                "the reporter asked not to be named to departments",
            )
        }
        Permission::ReadInternalEvents => allow(actor.is_staff(), "internal events are for staff"),
        Permission::ReviewDuplicates => {
            allow(actor.is_staff(), "staff review possible duplicates; others learn of similar public cases")
        }
        Permission::ReportForAnotherSystem => allow(
            actor.has_role(Role::Dispatcher) || actor.has_role(Role::Admin),
            "only the linkage center and admins report for another system",
        ),
        Permission::WatchLive => {
            allow(actor.is_staff(), "staff follow the live feed; residents follow their own cases")
        }
        Permission::SearchAudit => allow(
            actor.grants.iter().any(|g| g.role == Role::Auditor && matches!(g.scope, Scope::Region { .. })),
            "only auditors search the audit log",
        ),
        Permission::ManagePeople => allow(actor.has_role(Role::Admin), "only admins manage people and roles"),
        Permission::ManageReference => {
            allow(district_admin(actor), "only admins of a district (or above) change departments and categories")
        }
        Permission::DefineAttributes => allow(actor.has_role(Role::Admin), "only an admin defines attributes"),
        Permission::ManageWebhooks => allow(actor.has_role(Role::Admin), "only an admin manages webhooks"),
        Permission::ManageWebhook { region } => {
            may(actor, Permission::ManageWebhooks)?;
            if region.is_some_and(|r| actor.holds_for_region(Role::Admin, r)) {
                Ok(())
            } else {
                Err(Refusal::OutOfScope)
            }
        }
        Permission::EditCalendar { district: region }
        | Permission::ImportRegions { under: region }
        | Permission::ValidateRegions { under: region }
        | Permission::ManageAssignments { region }
        | Permission::SeeResponsibilityGaps { under: region } => admin_of(region),
        Permission::SeeRegionImports => allow(actor.has_role(Role::Admin), "only an admin sees region imports"),
        Permission::SeeAssignments => allow(actor.is_staff(), "only staff see assignments"),
        Permission::SeeResponsibleNames => allow(actor.is_staff(), "the public sees the names masked"),
        Permission::SeeGridFigures => allow(actor.is_staff(), "the figures of each grid are for staff"),
        Permission::ReadMeasures { region } => allow(
            [Role::Supervisor, Role::Analyst, Role::Admin, Role::Dispatcher, Role::GridLeader]
                .iter()
                .any(|r| actor.holds_for_region(*r, region)),
            "leaders, analysts, dispatchers and grid leaders of this region see its measures",
        ),
        Permission::ReadRegistry { region } => {
            if any_of(actor, &REGISTRY_READERS, region) {
                Ok(())
            } else {
                Err(Refusal::OutOfScope)
            }
        }
        Permission::KeepRegistry { region } => {
            may(actor, Permission::ReadRegistry { region })?;
            allow(any_of(actor, &REGISTRY_KEEPERS, region), "grid members, grid leaders and admins keep the registry")
        }
        Permission::RevealRegistryPerson { region } => {
            may(actor, Permission::ReadRegistry { region })?;
            allow(
                any_of(actor, &[Role::GridMember, Role::GridLeader, Role::Dispatcher], region),
                "only the grid's members and leader, and the linkage center, see the people of the registry in clear",
            )
        }
        Permission::ReadTenancies { region } => {
            if actor.holds_for_region(Role::Police, region) || any_of(actor, &REGISTRY_KEEPERS, region) {
                Ok(())
            } else {
                Err(Refusal::OutOfScope)
            }
        }
        Permission::ManageTenancies { region, landlord } => {
            let own = landlord.is_some() && landlord == actor.person;
            if own || any_of(actor, &REGISTRY_KEEPERS, region) {
                Ok(())
            } else {
                Err(Refusal::OutOfScope)
            }
        }
        Permission::KeepPlace { region, place } => {
            let own =
                actor.grants.iter().any(|g| g.role == Role::SocialUnit && g.scope == Scope::Place { id: place.0 });
            if own || any_of(actor, &REGISTRY_KEEPERS, region) {
                Ok(())
            } else {
                Err(Refusal::OutOfScope)
            }
        }
        Permission::DefinePlaceKinds => {
            allow(district_admin(actor), "only admins of a district (or above) define the kinds of places")
        }
        Permission::ManageChecklists => {
            allow(district_admin(actor), "only admins of a district (or above) write check lists and plans")
        }
        Permission::ReadChecklists => {
            allow(actor.is_staff() || actor.has_role(Role::SocialUnit), "check lists are for staff and social units")
        }
        Permission::SelfInspect { place } => {
            allow(own_places(actor).contains(&place), "a place's own social unit accounts inspect it themselves")
        }
        Permission::ReadSafetyFile { region, place } => {
            let own = place.is_some_and(|p| {
                actor.grants.iter().any(|g| g.role == Role::SocialUnit && g.scope == Scope::Place { id: p.0 })
            });
            let inspects = may(actor, Permission::InspectPlaces { region }).is_ok();
            if own || inspects || any_of(actor, &REGISTRY_READERS, region) {
                Ok(())
            } else {
                Err(Refusal::OutOfScope)
            }
        }
        Permission::ImportRegistry { under } => allow(
            any_of(actor, &[Role::GridLeader, Role::Admin], under),
            "grid leaders and admins of this region import registry entries",
        ),
        Permission::SeeSuggestions => allow(actor.is_staff(), "suggestions and groups of reports are for staff"),
        Permission::RetrainSuggestions => allow(
            actor.has_role(Role::Admin) || actor.has_role(Role::Dispatcher),
            "only admins and the linkage center retrain the suggestions",
        ),
        Permission::ManageNotices => allow(
            district_admin(actor),
            "only admins of a district (or above) manage the texts and deliveries of notices",
        ),
        Permission::LookUpCallers => allow(
            actor.has_role(Role::Dispatcher) || actor.has_role(Role::Supervisor),
            "only the linkage center and supervisors look callers up",
        ),
        Permission::TakeCall { region } => allow(
            actor.holds_for_region(Role::Dispatcher, region),
            "only the linkage center of this region takes its hotline calls",
        ),
        Permission::EditOwnCard { person } => allow(
            actor.person == Some(person) && (actor.has_role(Role::GridMember) || actor.has_role(Role::GridLeader)),
            "only grid members and grid leaders have a contact card, and each changes only their own",
        ),
        Permission::ManageParticipation { region } => allow(
            any_of(actor, &[Role::GridLeader, Role::Dispatcher, Role::Admin], region),
            "the community's grid leaders, the linkage center and admins of this region publish and answer there",
        ),
        Permission::Participate => allow(
            actor.has_role(Role::Resident),
            "residents signed in with their phone vote, comment, propose and support proposals",
        ),
        Permission::WithdrawProposal { proposer } => {
            allow(actor.person == Some(proposer), "only its proposer withdraws a proposal")
        }
        Permission::ManagePointRules => {
            allow(district_admin(actor), "only admins of a district (or above) set the rules of points")
        }
        Permission::ManageRewards { region } | Permission::AdjustPoints { region } => {
            scoped(actor, &[Role::Admin], region, "only an admin of this region")
        }
        Permission::HandOverRewards { region } => {
            if hands_over_in(actor).iter().any(|r| r == region) {
                return Ok(());
            }
            scoped(
                actor,
                &REWARD_KEEPERS,
                region,
                "grid members, grid leaders and admins of this region hand rewards over",
            )
        }
        Permission::AwardPoints { region } => scoped(
            actor,
            &[Role::GridMember, Role::GridLeader],
            region,
            "only the grid's members and leader record volunteer hours and consultations",
        ),
        Permission::Commend { region } => scoped(
            actor,
            &[Role::GridLeader, Role::Supervisor],
            region,
            "only the grid leader and supervisors of this region commend",
        ),
        Permission::SeeTeams { region } => {
            if any_of(actor, &REGISTRY_READERS, region) || actor.teams.iter().any(|t| t.region.contains(region)) {
                Ok(())
            } else {
                Err(Refusal::OutOfScope)
            }
        }
        Permission::KeepTeams { region } => {
            if any_of(actor, &TEAM_KEEPERS, region) {
                Ok(())
            } else if any_of(actor, &REGISTRY_READERS, region) {
                allow(false, "the community's grid leaders and admins keep its teams")
            } else {
                Err(Refusal::OutOfScope)
            }
        }
        Permission::LogServiceHours { team } => {
            allow(actor.teams.iter().any(|t| t.team == team), "only the team's members log hours for it")
        }
        Permission::ConfirmServiceHours { region, team, volunteer } => {
            if actor.person == Some(volunteer) {
                return allow(false, "nobody confirms their own hours");
            }
            let leads = actor.teams.iter().any(|t| t.team == team && t.leader);
            if leads || actor.holds_for_region(Role::GridLeader, region) {
                Ok(())
            } else if actor.has_role(Role::GridLeader) || actor.teams.iter().any(|t| t.leader) {
                Err(Refusal::OutOfScope)
            } else {
                allow(false, "the team's leader or a grid leader of its region confirms hours")
            }
        }
        Permission::Patrol { grid } if grid.level() != crate::RegionLevel::Grid => {
            if PATROLLERS.iter().any(|r| actor.has_role(*r)) {
                Err(Refusal::OutOfScope)
            } else {
                allow(false, "only grid members, grid leaders and team members with the patrol duty patrol")
            }
        }
        Permission::Patrol { grid } => field_work(
            actor,
            grid,
            crate::teams::Duty::Patrol,
            "grid members, grid leaders and team members with the patrol duty patrol there",
        ),
        Permission::SeePatrol { patroller, grid } => {
            if actor.person == Some(patroller) || actor.holds_for_region(Role::GridLeader, grid) {
                Ok(())
            } else {
                Err(Refusal::OutOfScope)
            }
        }
        Permission::SetPatrolQuota { region } => allow(
            any_of(actor, &[Role::GridLeader, Role::Admin], region),
            "only the grid leaders and admins of this region set its patrol quota",
        ),
        Permission::InspectPlaces { region } => field_work(
            actor,
            region,
            crate::teams::Duty::Inspect,
            "grid members, grid leaders and team members with the inspect duty inspect there",
        ),
        Permission::RunCampaigns { region } => {
            if any_of(actor, &CAMPAIGN_RUNNERS, region) {
                Ok(())
            } else if CAMPAIGN_RUNNERS.iter().any(|r| actor.has_role(*r)) {
                Err(Refusal::OutOfScope)
            } else {
                allow(false, "the linkage center and admins of this region run campaigns")
            }
        }
        Permission::ReadCampaigns { region } => {
            if any_of(actor, &CAMPAIGN_READERS, region) {
                Ok(())
            } else if CAMPAIGN_READERS.iter().any(|r| actor.has_role(*r)) {
                Err(Refusal::OutOfScope)
            } else {
                allow(false, "the linkage center, supervisors, analysts, admins and grid leaders of this region see its campaigns")
            }
        }
        Permission::ReadDepartmentMeasures { department } => allow(
            actor
                .grants
                .iter()
                .any(|g| g.role == Role::DepartmentHead && g.scope == Scope::Department { id: department }),
            "only the head of a department sees its measures wherever its cases lie",
        ),
    }
}

/// Who sees a region's registry, and who keeps it.
const REGISTRY_READERS: [Role; 6] =
    [Role::GridMember, Role::GridLeader, Role::Dispatcher, Role::Supervisor, Role::Analyst, Role::Admin];
const REGISTRY_KEEPERS: [Role; 3] = [Role::GridMember, Role::GridLeader, Role::Admin];

/// Who patrols a grid.
const PATROLLERS: [Role; 2] = [Role::GridMember, Role::GridLeader];

/// Who keeps the teams of a grid or community.
const TEAM_KEEPERS: [Role; 2] = [Role::GridLeader, Role::Admin];

/// Field work in `region` (patrols, inspections): its grid members and leaders, and members of a
/// team with `duty` there. Someone who does such work elsewhere is told it is not theirs.
fn field_work(actor: &Actor, region: &RegionCode, duty: crate::teams::Duty, reason: &str) -> Result<(), Refusal> {
    const STAFF: [Role; 2] = [Role::GridMember, Role::GridLeader];
    if any_of(actor, &STAFF, region) || actor.has_duty(duty, region) {
        Ok(())
    } else if STAFF.iter().any(|r| actor.has_role(*r)) || actor.teams.iter().any(|t| t.duties.contains(&duty)) {
        Err(Refusal::OutOfScope)
    } else {
        Err(Refusal::NotAllowed { action: duty.as_str(), reason: reason.to_string() })
    }
}

/// Who runs the campaigns of a region, and who sees them.
const CAMPAIGN_RUNNERS: [Role; 2] = [Role::Dispatcher, Role::Admin];
const CAMPAIGN_READERS: [Role; 5] = [Role::Dispatcher, Role::Supervisor, Role::Analyst, Role::Admin, Role::GridLeader];

/// Who hands rewards over in a region.
const REWARD_KEEPERS: [Role; 3] = [Role::GridMember, Role::GridLeader, Role::Admin];

/// The regions above their own where grid members and leaders also hand rewards over: up to
/// their community (a community's rewards wait at its service station, kept by its grids' staff).
pub fn hands_over_in(actor: &Actor) -> Vec<RegionCode> {
    let mut out: Vec<RegionCode> = actor
        .grants
        .iter()
        .filter(|g| matches!(g.role, Role::GridMember | Role::GridLeader))
        .filter_map(|g| match &g.scope {
            Scope::Region { code } => Some(code.and_ancestors()),
            _ => None,
        })
        .flatten()
        .filter(|c| c.level() >= crate::RegionLevel::Community)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Allowed to holders of `roles` covering `region`; someone holding one of them elsewhere is told
/// that what lies in `region` is not theirs ([`Refusal::OutOfScope`], "not found"); anyone else
/// that they may not do it at all.
fn scoped(actor: &Actor, roles: &[Role], region: &RegionCode, reason: &str) -> Result<(), Refusal> {
    if any_of(actor, roles, region) {
        Ok(())
    } else if roles.iter().any(|r| actor.has_role(*r)) {
        Err(Refusal::OutOfScope)
    } else {
        Err(Refusal::NotAllowed { action: "points and rewards", reason: reason.to_string() })
    }
}

/// Whether the actor holds one of `roles` in a region scope covering `region`.
fn any_of(actor: &Actor, roles: &[Role], region: &RegionCode) -> bool {
    roles.iter().any(|r| actor.holds_for_region(*r, region))
}

/// The places whose social unit the actor is (their self-inspections).
pub fn own_places(actor: &Actor) -> Vec<PlaceId> {
    actor
        .grants
        .iter()
        .filter(|g| g.role == Role::SocialUnit)
        .filter_map(|g| match g.scope {
            Scope::Place { id } => Some(PlaceId(id)),
            _ => None,
        })
        .collect()
}

/// The regions whose places the actor inspects ([`Permission::InspectPlaces`]): their task list.
pub fn inspected_regions(actor: &Actor) -> Vec<RegionCode> {
    let mut out: Vec<RegionCode> = actor
        .grants
        .iter()
        .filter(|g| matches!(g.role, Role::GridMember | Role::GridLeader))
        .filter_map(|g| match &g.scope {
            Scope::Region { code } => Some(code.clone()),
            _ => None,
        })
        .chain(actor.teams.iter().filter(|t| t.duties.contains(&crate::teams::Duty::Inspect)).map(|t| t.region.clone()))
        .filter(|r| may(actor, Permission::InspectPlaces { region: r }).is_ok())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// How much of a campaign over `region` the actor sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CampaignReach {
    /// All of it: they read campaigns over its whole region.
    Whole,
    /// Only the regions inside it where they read campaigns (a grid leader their community),
    /// sorted, none inside another.
    Parts(Vec<RegionCode>),
}

/// How much of a campaign over `region` the actor sees ([`Permission::ReadCampaigns`] over it,
/// or else over the regions of their grants inside it), or the policy's refusal for the whole.
pub fn campaign_reach(actor: &Actor, region: &RegionCode) -> Result<CampaignReach, Refusal> {
    let refusal = match may(actor, Permission::ReadCampaigns { region }) {
        Ok(()) => return Ok(CampaignReach::Whole),
        Err(r) => r,
    };
    let mut parts: Vec<RegionCode> = actor
        .grants
        .iter()
        .filter_map(|g| match &g.scope {
            Scope::Region { code } if region.contains(code) && code != region => Some(code.clone()),
            _ => None,
        })
        .filter(|r| may(actor, Permission::ReadCampaigns { region: r }).is_ok())
        .collect();
    parts.sort();
    parts.dedup();
    let outer: Vec<RegionCode> =
        parts.iter().filter(|r| !parts.iter().any(|o| o != *r && o.contains(r))).cloned().collect();
    if outer.is_empty() {
        Err(refusal)
    } else {
        Ok(CampaignReach::Parts(outer))
    }
}

/// The regions where the actor is an admin (where the webhooks they subscribe lie).
pub fn administered_regions(actor: &Actor) -> Vec<RegionCode> {
    actor
        .grants
        .iter()
        .filter(|g| g.role == Role::Admin)
        .filter_map(|g| match &g.scope {
            Scope::Region { code } => Some(code.clone()),
            _ => None,
        })
        .collect()
}

/// Whether someone holding these roles must sign in with a second factor (when the server
/// requires one): admins and dispatchers.
pub fn needs_second_factor(grants: &[Grant]) -> bool {
    grants.iter().any(|g| matches!(g.role, Role::Admin | Role::Dispatcher))
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
    may(actor, Permission::ManagePeople)?;
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
        assert!(matches!(may(&dispatcher, Permission::ManageReference), Err(Refusal::NotAllowed { .. })));
        assert!(may(&admin_of("330483"), Permission::ManageReference).is_ok());
        assert!(matches!(may(&admin_of("330483101"), Permission::ManageReference), Err(Refusal::NotAllowed { .. })));
    }

    fn person(id: i64, grants: &[(Role, &str)]) -> Actor {
        Actor::person(id, grants.iter().map(|(r, s)| Grant::new(*r, Scope::parse(s).unwrap()).unwrap()).collect())
    }

    /// The people of the authorization matrix (docs/AUTHZ.md), by name.
    fn people() -> Vec<(&'static str, Actor)> {
        vec![
            ("anonymous", Actor::anonymous()),
            ("resident", person(1, &[(Role::Resident, "region:330483")])),
            ("grid member", person(2, &[(Role::GridMember, "region:330483101001001")])),
            ("grid leader", person(3, &[(Role::GridLeader, "region:330483101001")])),
            ("dispatcher", person(4, &[(Role::Dispatcher, "region:330483")])),
            ("other dispatcher", person(5, &[(Role::Dispatcher, "region:330482")])),
            ("department", person(6, &[(Role::DepartmentStaff, "department:1")])),
            ("department head", person(7, &[(Role::DepartmentHead, "department:1")])),
            ("supervisor", person(8, &[(Role::Supervisor, "region:330483")])),
            ("analyst", person(9, &[(Role::Analyst, "region:330483")])),
            ("auditor", person(10, &[(Role::Auditor, "region:330483")])),
            ("admin", admin_of("330483")),
            ("street admin", admin_of("330483101")),
            ("social unit", person(11, &[(Role::SocialUnit, "place:1")])),
            ("police", person(12, &[(Role::Police, "region:330483101")])),
        ]
    }

    /// Who of [`people`] may do `p`.
    fn who(p: Permission<'_>) -> Vec<&'static str> {
        people().into_iter().filter(|(_, a)| may(a, p).is_ok()).map(|(n, _)| n).collect()
    }

    const STAFF: [&str; 11] = [
        "grid member",
        "grid leader",
        "dispatcher",
        "other dispatcher",
        "department",
        "department head",
        "supervisor",
        "analyst",
        "auditor",
        "admin",
        "street admin",
    ];

    #[test]
    fn staff_permissions() {
        for p in [
            Permission::ReadInternalEvents,
            Permission::ReviewDuplicates,
            Permission::WatchLive,
            Permission::SeeAssignments,
            Permission::SeeResponsibleNames,
            Permission::SeeGridFigures,
            Permission::SeeSuggestions,
        ] {
            assert_eq!(who(p), STAFF, "{}", p.as_str());
        }
    }

    #[test]
    fn leaders_the_center_and_admins_run_participation_residents_take_part() {
        let community = RegionCode::parse("330483101001").unwrap();
        assert_eq!(
            who(Permission::ManageParticipation { region: &community }),
            ["grid leader", "dispatcher", "admin", "street admin"]
        );
        let town = RegionCode::parse("330483101").unwrap();
        // A community's leader does not publish to the whole town.
        assert_eq!(who(Permission::ManageParticipation { region: &town }), ["dispatcher", "admin", "street admin"]);
        assert_eq!(who(Permission::Participate), ["resident"]);
    }

    #[test]
    fn points_and_rewards() {
        let (district, grid, other) = (code("330483"), code("330483101001001"), code("330482001001001"));
        assert_eq!(who(Permission::ManagePointRules), ["admin"]);
        assert_eq!(who(Permission::ManageRewards { region: &grid }), ["admin", "street admin"]);
        assert_eq!(who(Permission::ManageRewards { region: &district }), ["admin"]);
        assert_eq!(who(Permission::AdjustPoints { region: &grid }), ["admin", "street admin"]);
        assert_eq!(
            who(Permission::HandOverRewards { region: &grid }),
            ["grid member", "grid leader", "admin", "street admin"]
        );
        // The grid's member also hands over the rewards of its community, not of the street.
        let (community, street) = (code("330483101001"), code("330483101"));
        assert_eq!(
            who(Permission::HandOverRewards { region: &community }),
            ["grid member", "grid leader", "admin", "street admin"]
        );
        assert_eq!(who(Permission::HandOverRewards { region: &street }), ["admin", "street admin"]);
        assert_eq!(who(Permission::AwardPoints { region: &grid }), ["grid member", "grid leader"]);
        assert_eq!(who(Permission::Commend { region: &grid }), ["grid leader", "supervisor"]);
        // Staff of another region are told it is not theirs; residents that they may not.
        let member = &people()[2].1;
        assert_eq!(may(member, Permission::HandOverRewards { region: &other }), Err(Refusal::OutOfScope));
        let resident = &people()[1].1;
        assert!(matches!(
            may(resident, Permission::HandOverRewards { region: &grid }),
            Err(Refusal::NotAllowed { .. })
        ));
    }

    #[test]
    fn district_admins_manage_notices() {
        assert_eq!(who(Permission::ManageNotices), ["admin"]);
    }

    #[test]
    fn admins_and_the_linkage_center_retrain_suggestions() {
        assert_eq!(who(Permission::RetrainSuggestions), ["dispatcher", "other dispatcher", "admin", "street admin"]);
    }

    #[test]
    fn admin_permissions() {
        let admins = ["admin", "street admin"];
        for p in [
            Permission::ManagePeople,
            Permission::DefineAttributes,
            Permission::ManageWebhooks,
            Permission::SeeRegionImports,
        ] {
            assert_eq!(who(p), admins, "{}", p.as_str());
        }
        assert_eq!(who(Permission::ManageReference), ["admin"]);
        assert_eq!(who(Permission::SearchAudit), ["auditor"]);
        assert_eq!(
            who(Permission::ReportForAnotherSystem),
            ["dispatcher", "other dispatcher", "admin", "street admin"]
        );
        let (district, street, grid) = (code("330483"), code("330483101"), code("330483101001001"));
        for region in [&district, &street, &grid] {
            let expected: &[&str] = if region == &district { &["admin"] } else { &admins };
            assert_eq!(who(Permission::EditCalendar { district: region }), expected);
            assert_eq!(who(Permission::ImportRegions { under: region }), expected);
            assert_eq!(who(Permission::ValidateRegions { under: region }), expected);
            assert_eq!(who(Permission::ManageAssignments { region }), expected);
            assert_eq!(who(Permission::SeeResponsibilityGaps { under: region }), expected);
        }
        // Someone who is no admin is refused a region as "not allowed", not "not found".
        let dispatcher = &people()[4].1;
        assert!(matches!(
            may(dispatcher, Permission::ImportRegions { under: &district }),
            Err(Refusal::NotAllowed { .. })
        ));
    }

    #[test]
    fn webhooks_belong_to_the_admins_of_their_region() {
        let (district, street, other) = (code("330483"), code("330483101"), code("330482"));
        let hook = |region| Permission::ManageWebhook { region };
        assert_eq!(who(hook(Some(&street))), ["admin", "street admin"]);
        assert_eq!(who(hook(Some(&district))), ["admin"]);
        assert!(who(hook(Some(&other))).is_empty());
        assert!(who(hook(None)).is_empty());
        // Non-admins are refused outright; an admin is told another region's webhook is not there.
        let street_admin = admin_of("330483101");
        assert!(matches!(may(&people()[4].1, hook(Some(&street))), Err(Refusal::NotAllowed { .. })));
        assert_eq!(may(&street_admin, hook(Some(&district))), Err(Refusal::OutOfScope));
        assert_eq!(administered_regions(&street_admin), [street]);
        assert!(administered_regions(&people()[4].1).is_empty());
    }

    #[test]
    fn measures_by_region_and_by_department() {
        let (district, grid) = (code("330483"), code("330483101001001"));
        assert_eq!(
            who(Permission::ReadMeasures { region: &district }),
            ["dispatcher", "supervisor", "analyst", "admin"]
        );
        assert_eq!(
            who(Permission::ReadMeasures { region: &grid }),
            ["grid leader", "dispatcher", "supervisor", "analyst", "admin", "street admin"]
        );
        assert_eq!(who(Permission::ReadDepartmentMeasures { department: 1 }), ["department head"]);
        assert!(who(Permission::ReadDepartmentMeasures { department: 2 }).is_empty());
    }

    #[test]
    fn the_registry_is_read_in_scope_and_kept_by_the_grid() {
        let (grid, other_street) = (code("330483101001001"), code("330483102001001"));
        let readers = ["grid member", "grid leader", "dispatcher", "supervisor", "analyst", "admin", "street admin"];
        assert_eq!(who(Permission::ReadRegistry { region: &grid }), readers);
        assert_eq!(
            who(Permission::ReadRegistry { region: &other_street }),
            ["dispatcher", "supervisor", "analyst", "admin"]
        );
        let keepers = ["grid member", "grid leader", "admin", "street admin"];
        assert_eq!(who(Permission::KeepRegistry { region: &grid }), keepers);
        assert_eq!(
            who(Permission::RevealRegistryPerson { region: &grid }),
            ["grid member", "grid leader", "dispatcher"]
        );
        // The police read the tenancies of their street; nobody else outside the registry's keepers.
        let tenancies = ["grid member", "grid leader", "admin", "street admin", "police"];
        assert_eq!(who(Permission::ReadTenancies { region: &grid }), tenancies);
        assert_eq!(who(Permission::ReadTenancies { region: &other_street }), ["admin"]);
        // A landlord manages the tenancies of their own houses only; a social unit keeps its own place.
        assert_eq!(
            who(Permission::ManageTenancies { region: &grid, landlord: Some(1) }),
            ["resident", "grid member", "grid leader", "admin", "street admin"]
        );
        assert_eq!(who(Permission::ManageTenancies { region: &grid, landlord: Some(99) }), keepers);
        assert_eq!(who(Permission::ManageTenancies { region: &grid, landlord: None }), keepers);
        let place = |id| Permission::KeepPlace { region: &grid, place: PlaceId(id) };
        assert_eq!(who(place(1)), ["grid member", "grid leader", "admin", "street admin", "social unit"]);
        assert_eq!(who(place(2)), keepers);
        assert_eq!(who(Permission::DefinePlaceKinds), ["admin"]);
        assert_eq!(who(Permission::ImportRegistry { under: &grid }), ["grid leader", "admin", "street admin"]);
        assert_eq!(who(Permission::InspectPlaces { region: &other_street }), Vec::<&str>::new());
        assert_eq!(who(Permission::ManageChecklists), ["admin"]);
        let file = |id| Permission::ReadSafetyFile { region: &grid, place: Some(PlaceId(id)) };
        assert_eq!(
            who(file(1)),
            [
                "grid member",
                "grid leader",
                "dispatcher",
                "supervisor",
                "analyst",
                "admin",
                "street admin",
                "social unit"
            ]
        );
        assert_eq!(who(file(2)), readers);
        assert!(
            who(Permission::ReadChecklists).contains(&"social unit")
                && !who(Permission::ReadChecklists).contains(&"resident")
        );
        // Outside one's sight the registry does not exist; inside it, keeping is "not allowed".
        let resident = &people()[1].1;
        assert_eq!(may(resident, Permission::ReadRegistry { region: &grid }), Err(Refusal::OutOfScope));
        let dispatcher = &people()[4].1;
        assert!(matches!(may(dispatcher, Permission::KeepRegistry { region: &grid }), Err(Refusal::NotAllowed { .. })));
        // The police have no part in cases.
        let everyone = people();
        assert!(!everyone.last().unwrap().1.is_staff());
    }

    #[test]
    fn the_linkage_center_takes_hotline_calls_in_its_region() {
        assert_eq!(who(Permission::LookUpCallers), ["dispatcher", "other dispatcher", "supervisor"]);
        let (grid, other) = (code("330483101001001"), code("330482"));
        assert_eq!(who(Permission::TakeCall { region: &grid }), ["dispatcher"]);
        assert_eq!(who(Permission::TakeCall { region: &other }), ["other dispatcher"]);
    }

    #[test]
    fn grid_members_and_leaders_change_only_their_own_card() {
        assert_eq!(who(Permission::EditOwnCard { person: 2 }), ["grid member"]);
        assert_eq!(who(Permission::EditOwnCard { person: 3 }), ["grid leader"]);
        // A resident has no card, not even their own.
        assert!(who(Permission::EditOwnCard { person: 1 }).is_empty());
    }

    #[test]
    fn second_factor_for_admins_and_dispatchers() {
        let needs: Vec<_> =
            people().into_iter().filter(|(_, a)| needs_second_factor(&a.grants)).map(|(n, _)| n).collect();
        assert_eq!(needs, ["dispatcher", "other dispatcher", "admin", "street admin"]);
    }

    fn code(s: &str) -> RegionCode {
        RegionCode::parse(s).unwrap()
    }

    // ---- teams

    /// A volunteer (a resident) with a seat in team 7 of the community, with `duties`.
    fn volunteer(duties: &[crate::teams::Duty], leader: bool) -> Actor {
        person(20, &[(Role::Resident, "region:330483")]).with_teams(vec![crate::teams::TeamRole {
            team: 7,
            kind: crate::teams::TeamKind::Volunteers,
            region: code("330483101001"),
            duties: duties.to_vec(),
            leader,
        }])
    }

    #[test]
    fn grid_leaders_and_admins_keep_the_teams_of_their_community() {
        let (community, grid, other) = (code("330483101001"), code("330483101001001"), code("330483101002"));
        let readers = ["grid member", "grid leader", "dispatcher", "supervisor", "analyst", "admin", "street admin"];
        assert_eq!(who(Permission::SeeTeams { region: &grid }), readers);
        assert_eq!(who(Permission::KeepTeams { region: &community }), ["grid leader", "admin", "street admin"]);
        assert_eq!(who(Permission::KeepTeams { region: &grid }), ["grid leader", "admin", "street admin"]);
        assert_eq!(who(Permission::KeepTeams { region: &other }), ["admin", "street admin"]);
        // The leader of another community is told the team does not exist; a grid member that
        // they may not; a member of a team sees their teams.
        let leader = &people()[3].1;
        assert_eq!(may(leader, Permission::KeepTeams { region: &other }), Err(Refusal::OutOfScope));
        let member = &people()[2].1;
        assert!(matches!(may(member, Permission::KeepTeams { region: &grid }), Err(Refusal::NotAllowed { .. })));
        assert!(may(&volunteer(&[], false), Permission::SeeTeams { region: &grid }).is_ok());
        assert!(may(&volunteer(&[], false), Permission::KeepTeams { region: &grid }).is_err());
    }

    #[test]
    fn members_log_hours_leaders_confirm_others_hours() {
        use crate::teams::Duty;
        let community = code("330483101001");
        assert!(who(Permission::LogServiceHours { team: 7 }).is_empty());
        assert!(may(&volunteer(&[], false), Permission::LogServiceHours { team: 7 }).is_ok());
        assert!(may(&volunteer(&[], false), Permission::LogServiceHours { team: 8 }).is_err());
        let confirm = |team, volunteer| Permission::ConfirmServiceHours { region: &community, team, volunteer };
        assert_eq!(who(confirm(7, 99)), ["grid leader"]);
        // The team's leader confirms the others' hours, never their own nor another team's.
        let leader = volunteer(&[Duty::Report], true);
        assert!(may(&leader, confirm(7, 99)).is_ok());
        assert!(matches!(may(&leader, confirm(7, 20)), Err(Refusal::NotAllowed { .. })));
        assert_eq!(may(&leader, confirm(8, 99)), Err(Refusal::OutOfScope));
        assert!(matches!(may(&volunteer(&[], false), confirm(7, 99)), Err(Refusal::NotAllowed { .. })));
        // A grid leader of another community is told it is not theirs.
        let other = code("330483101002");
        let elsewhere = Permission::ConfirmServiceHours { region: &other, team: 9, volunteer: 99 };
        assert_eq!(may(&people()[3].1, elsewhere), Err(Refusal::OutOfScope));
    }

    #[test]
    fn duties_let_team_members_patrol_and_inspect_where_their_team_works() {
        use crate::teams::Duty;
        let (grid, other) = (code("330483101001001"), code("330483101002001"));
        assert_eq!(who(Permission::Patrol { grid: &grid }), ["grid member", "grid leader"]);
        assert_eq!(who(Permission::InspectPlaces { region: &grid }), ["grid member", "grid leader"]);
        assert!(who(Permission::Patrol { grid: &other }).is_empty());
        let patroller = volunteer(&[Duty::Patrol], false);
        assert!(may(&patroller, Permission::Patrol { grid: &grid }).is_ok());
        assert_eq!(may(&patroller, Permission::Patrol { grid: &other }), Err(Refusal::OutOfScope));
        assert!(matches!(
            may(&patroller, Permission::InspectPlaces { region: &grid }),
            Err(Refusal::NotAllowed { .. })
        ));
        let inspector = volunteer(&[Duty::Inspect, Duty::Report], false);
        assert!(may(&inspector, Permission::InspectPlaces { region: &grid }).is_ok());
        assert!(may(&inspector, Permission::Patrol { grid: &grid }).is_err());
        // Grid members elsewhere are told the grid is not theirs; a resident that they may not.
        assert_eq!(may(&people()[2].1, Permission::Patrol { grid: &other }), Err(Refusal::OutOfScope));
        assert!(matches!(may(&people()[1].1, Permission::Patrol { grid: &grid }), Err(Refusal::NotAllowed { .. })));
    }

    #[test]
    fn grid_members_and_leaders_patrol_their_grids_and_only_they_and_leaders_see_the_tracks() {
        let (grid, other, community) = (code("330483101001001"), code("330483102001001"), code("330483101001"));
        assert_eq!(who(Permission::Patrol { grid: &grid }), ["grid member", "grid leader"]);
        assert!(who(Permission::Patrol { grid: &other }).is_empty());
        // Not a grid: nobody patrols a community as such.
        assert!(who(Permission::Patrol { grid: &community }).is_empty());
        // A member of another grid is told it is not theirs; others that they may not.
        let member = &people()[2].1;
        assert_eq!(may(member, Permission::Patrol { grid: &other }), Err(Refusal::OutOfScope));
        assert!(matches!(may(&people()[4].1, Permission::Patrol { grid: &grid }), Err(Refusal::NotAllowed { .. })));
        // The member's own patrol: the member and the community's leader; nobody else, not even admins.
        assert_eq!(who(Permission::SeePatrol { patroller: 2, grid: &grid }), ["grid member", "grid leader"]);
        assert_eq!(who(Permission::SeePatrol { patroller: 99, grid: &grid }), ["grid leader"]);
        assert!(who(Permission::SeePatrol { patroller: 99, grid: &other }).is_empty());
        assert_eq!(may(&people()[11].1, Permission::SeePatrol { patroller: 2, grid: &grid }), Err(Refusal::OutOfScope));
        assert_eq!(who(Permission::SetPatrolQuota { region: &community }), ["grid leader", "admin", "street admin"]);
        assert_eq!(who(Permission::SetPatrolQuota { region: &code("330483101") }), ["admin", "street admin"]);
    }

    // ---- campaigns

    #[test]
    fn the_linkage_center_and_admins_run_campaigns_leaders_and_analysts_see_them() {
        let (district, town, community, other) =
            (code("330483"), code("330483101"), code("330483101001"), code("330482"));
        assert_eq!(who(Permission::RunCampaigns { region: &district }), ["dispatcher", "admin"]);
        assert_eq!(who(Permission::RunCampaigns { region: &town }), ["dispatcher", "admin", "street admin"]);
        assert_eq!(who(Permission::RunCampaigns { region: &community }), ["dispatcher", "admin", "street admin"]);
        assert_eq!(who(Permission::RunCampaigns { region: &other }), ["other dispatcher"]);
        assert_eq!(
            who(Permission::ReadCampaigns { region: &town }),
            ["dispatcher", "supervisor", "analyst", "admin", "street admin"]
        );
        assert_eq!(
            who(Permission::ReadCampaigns { region: &community }),
            ["grid leader", "dispatcher", "supervisor", "analyst", "admin", "street admin"]
        );
        // Of a campaign over the street, a grid leader sees their community's part; the street
        // admin the whole of it, but only the street's part of one over the district.
        let leader = &people()[3].1;
        assert_eq!(campaign_reach(leader, &town), Ok(CampaignReach::Parts(vec![community.clone()])));
        assert_eq!(campaign_reach(leader, &district), Ok(CampaignReach::Parts(vec![community.clone()])));
        assert_eq!(campaign_reach(leader, &community), Ok(CampaignReach::Whole));
        assert_eq!(campaign_reach(leader, &code("330483101002")), Err(Refusal::OutOfScope));
        assert_eq!(campaign_reach(&admin_of("330483101"), &town), Ok(CampaignReach::Whole));
        assert_eq!(campaign_reach(&admin_of("330483101"), &district), Ok(CampaignReach::Parts(vec![town.clone()])));
        assert!(matches!(campaign_reach(&people()[2].1, &town), Err(Refusal::NotAllowed { .. })));
        // A dispatcher or admin elsewhere is told the region is not theirs; a grid member or
        // leader that they may not.
        let street_admin = admin_of("330483101");
        assert_eq!(may(&street_admin, Permission::RunCampaigns { region: &district }), Err(Refusal::OutOfScope));
        assert_eq!(may(&people()[5].1, Permission::ReadCampaigns { region: &town }), Err(Refusal::OutOfScope));
        for p in [&people()[2].1, &people()[3].1, &people()[1].1] {
            assert!(matches!(may(p, Permission::RunCampaigns { region: &community }), Err(Refusal::NotAllowed { .. })));
        }
    }
}
