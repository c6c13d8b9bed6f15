//! Measures of field work (基层巡检) for a region and period, per grid, community, team or person
//! (docs/MEASURES.md, "Field work"): `GET /field-work/measures`. The store reads the facts, the
//! domain counts them (`fieldwork::tally`); the patrol quota met comes from the patrols' monthly
//! figures (`patrols::month_report`). Also what the grid members' assessment takes from them.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::State;
use axum::Json;
use chrono::NaiveDate;
use gridkeeper_domain::fieldwork::{tally, FieldCounts, FieldMeasures};
use gridkeeper_domain::patrols::Month;
use gridkeeper_domain::{Calendar, Millis, Permission, PersonId, RegionCode, RegionLevel};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::http::administer;
use crate::participation::region_name;
use crate::{App, AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(measures))
}

/// The longest period asked at once.
const MAX_DAYS: i64 = 400;
const DAY: Millis = 86_400_000;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct FieldWorkQuery {
    /// The region (a district, street, community or grid)
    #[param(required = true)]
    region: Option<String>,
    /// RFC 3339
    #[param(required = true)]
    from: Option<String>,
    /// RFC 3339, after `from`, at most 400 days later
    #[param(required = true)]
    to: Option<String>,
    /// Rows per grid (default), community, team or person (the inspector)
    #[param(pattern = "^(grid|community|team|person)$")]
    by: Option<String>,
}

/// One grid, community, team or person, or the whole region.
#[derive(Serialize, ToSchema)]
pub struct FieldWorkRow {
    /// Grid or community code, team id or person id; the region's code for the whole.
    pub key: String,
    pub name: String,
    pub counts: FieldCounts,
    pub measures: FieldMeasures,
}

#[derive(Serialize, ToSchema)]
pub struct FieldWorkAnswer {
    pub region: String,
    pub name: String,
    /// grid, community, team or person
    pub by: String,
    /// The whole region.
    pub total: FieldWorkRow,
    /// Rows with anything to count, by key (grids and communities by code, teams by id, people by name).
    pub items: Vec<FieldWorkRow>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum By {
    Grid,
    Community,
    Team,
    Person,
}

/// What a team is to the grouping: its id, name and its members' spans (local dates).
struct TeamSpans {
    id: i64,
    name: String,
    spans: Vec<(PersonId, NaiveDate, Option<NaiveDate>)>,
}

impl TeamSpans {
    fn holds(&self, person: PersonId, first: NaiveDate, last: NaiveDate) -> bool {
        self.spans.iter().any(|(p, joined, left)| *p == person && *joined <= last && left.is_none_or(|l| l >= first))
    }
}

/// The keys a fact counts under, from its grid, person and the first and last instant it
/// stands for.
type KeyOf<'a> = dyn Fn(&RegionCode, Option<PersonId>, Millis, Millis) -> Vec<String> + Sync + 'a;

/// The local date of an instant.
fn local_date(at: Millis, offset_hours: i32) -> NaiveDate {
    let at = at + i64::from(offset_hours) * 3_600_000;
    chrono::DateTime::from_timestamp_millis(at).map(|d| d.date_naive()).unwrap_or_default()
}

/// The counts of `region` in `[from, to)`, keyed by `key` from a fact's grid, person and the
/// first and last instant it stands for (one instant, or a month of patrols).
pub(crate) async fn counts(
    app: &App,
    region: &RegionCode,
    from: Millis,
    to: Millis,
    key: &KeyOf<'_>,
) -> ApiResult<BTreeMap<String, FieldCounts>> {
    let now = app.now();
    let facts = app.store.field_work_facts(region, from, to).await?;
    let reference = app.reference();
    let wall = Calendar::wall_clock();
    let calendar = |g: &RegionCode| reference.calendars.get(g.district()).unwrap_or(&wall);
    let mut out =
        tally(&facts, app.settings.inspections.self_every_days, calendar, from, to, now, |g, p, at| key(g, p, at, at));
    // The patrol quota: each local month of the period that has begun, its grid members.
    let offset = app.settings.utc_offset_hours;
    let mut month = Month::of(from, offset);
    for _ in 0..15 {
        let (start, end) = month.bounds(offset);
        if start >= to || start > now {
            break;
        }
        for (view, met) in crate::patrols::month_report(app, region, month).await? {
            let mut keys = BTreeSet::new();
            for g in view.grids.iter().filter_map(|g| RegionCode::parse(g).ok()) {
                keys.extend(key(&g, Some(view.person), start, end - 1));
            }
            for k in keys {
                let c = out.entry(k).or_default();
                c.patrol_months += 1;
                c.patrol_months_met += u64::from(met.met());
            }
        }
        month = Month::of(end, offset);
    }
    Ok(out)
}

/// Each person's counts in `region` over `[from, to)` (none for periods longer than 400 days):
/// what the grid members' assessment takes.
pub(crate) async fn person_counts(
    app: &App,
    region: &RegionCode,
    from: Millis,
    to: Millis,
) -> ApiResult<BTreeMap<String, FieldCounts>> {
    if to - from > MAX_DAYS * DAY {
        return Ok(BTreeMap::new());
    }
    let key =
        |_: &RegionCode, p: Option<PersonId>, _: Millis, _: Millis| p.map(|p| p.to_string()).into_iter().collect();
    counts(app, region, from, to, &key).await
}

fn row(key: String, name: String, counts: FieldCounts) -> FieldWorkRow {
    FieldWorkRow { key, name, measures: FieldMeasures::from_counts(&counts), counts }
}

#[utoipa::path(get, path = "/field-work/measures", tag = "measures",
    summary = "Measures of field work for a region and period: inspection coverage on time, hazards found and rectified on time, re-inspection pass rate, self-inspection compliance, spot checks contradicting, patrol quota met (docs/MEASURES.md)",
    params(FieldWorkQuery),
    responses((status = 200, description = "The region's total and a row per grid, community, team or person", body = FieldWorkAnswer), (status = 403, description = "Not one who sees this region's measures"), (status = 404, description = "No such region"), (status = 422, description = "A field is missing or wrong; the problem names it")))]
async fn measures(
    State(app): State<AppState>,
    auth: Auth,
    Query(q): Query<FieldWorkQuery>,
) -> ApiResult<Json<FieldWorkAnswer>> {
    let code = q.region.as_deref().ok_or_else(|| ApiError::field("region", "is required"))?;
    let region = RegionCode::parse(code).map_err(|e| ApiError::field("region", e.reason))?;
    let by = match q.by.as_deref() {
        None | Some("grid") => By::Grid,
        Some("community") => By::Community,
        Some("team") => By::Team,
        Some("person") => By::Person,
        Some(_) => return Err(ApiError::field("by", "must be grid, community, team or person")),
    };
    let (from, to) = crate::measures::period(q.from.as_deref(), q.to.as_deref())?;
    if to - from > MAX_DAYS * DAY {
        return Err(ApiError::field("to", format!("a period is at most {MAX_DAYS} days")));
    }
    if !app.reference().regions.contains_key(&region) {
        return Err(ApiError::unknown("region", format!("no region {region}")));
    }
    administer(&auth.actor, Permission::ReadMeasures { region: &region })?;

    let offset = app.settings.utc_offset_hours;
    let local = |at: Millis| local_date(at, offset);
    let teams: Vec<TeamSpans> = if by == By::Team {
        app.store
            .teams(&region)
            .await?
            .into_iter()
            .map(|t| TeamSpans {
                id: t.id,
                name: t.name,
                spans: t.members.iter().map(|m| (m.person_id, m.joined, m.left)).collect(),
            })
            .collect()
    } else {
        Vec::new()
    };
    // Every fact also counts once for the whole region, under the key "".
    let key = |g: &RegionCode, p: Option<PersonId>, first: Millis, last: Millis| -> Vec<String> {
        let mut keys: Vec<String> = match by {
            By::Grid => vec![g.to_string()],
            By::Community => g.at_level(RegionLevel::Community).map(|c| c.to_string()).into_iter().collect(),
            By::Person => p.map(|p| p.to_string()).into_iter().collect(),
            By::Team => match p {
                Some(p) => {
                    teams.iter().filter(|t| t.holds(p, local(first), local(last))).map(|t| t.id.to_string()).collect()
                }
                None => vec![],
            },
        };
        keys.push(String::new());
        keys
    };
    let mut by_key = counts(&app, &region, from, to, &key).await?;
    let total = by_key.remove("").unwrap_or_default();

    let reference = app.reference();
    let mut items = Vec::with_capacity(by_key.len());
    for (k, c) in by_key {
        let name = match by {
            By::Grid | By::Community => match RegionCode::parse(&k) {
                Ok(code) => region_name(&app, &code),
                Err(_) => k.clone(),
            },
            By::Team => teams.iter().find(|t| t.id.to_string() == k).map(|t| t.name.clone()).unwrap_or_default(),
            By::Person => match k.parse::<PersonId>() {
                Ok(p) => app.store.person(p).await?.map(|p| p.name).unwrap_or_default(),
                Err(_) => String::new(),
            },
        };
        items.push(row(k, name, c));
    }
    if by == By::Person {
        items.sort_by(|a, b| (&a.name, &a.key).cmp(&(&b.name, &b.key)));
    } else if by == By::Team {
        items.sort_by_key(|r| r.key.parse::<i64>().unwrap_or_default());
    }
    let name = reference.regions.get(&region).map(|r| r.name.clone()).unwrap_or_default();
    Ok(Json(FieldWorkAnswer {
        region: region.to_string(),
        name: name.clone(),
        by: q.by.unwrap_or_else(|| "grid".into()),
        total: row(region.to_string(), name, total),
        items,
    }))
}
