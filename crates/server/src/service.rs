//! What the handlers ask of the application: find, report, act, list. No HTTP here beyond
//! returning [`ApiError`]s; no SQL (that is the store's).

use chrono::Datelike;
use gridkeeper_domain::{
    can_see, decide_on, may, on_the_spot_on, report_on, Actor, Case, CaseId, Category, CategoryId, Command, Department,
    DepartmentId, FieldError, LatLon, MediaId, NewReport, OnTheSpot, Original, Permission, RegionCode, Urgency,
};
use gridkeeper_store::{Intake, Visibility};

use crate::auth::{new_token, token_hash};
use crate::error::{ApiError, ApiResult};
use crate::App;

/// A report as the API receives it (JSON or multipart), before it is placed in a grid.
#[derive(Debug, Clone, Default)]
pub struct ReportInput {
    pub location: Option<LatLon>,
    pub address: Option<String>,
    pub description: String,
    pub urgency: Option<Urgency>,
    pub category: Option<CategoryId>,
    pub photos: Vec<MediaId>,
    pub anonymous: bool,
    pub contact: Option<gridkeeper_domain::Contact>,
    /// Set by the hotline (`hotline`); otherwise derived from the reporter's roles.
    pub source: Option<gridkeeper_domain::Source>,
}

/// A stored report and what its reporter needs to follow it.
pub struct Reported {
    pub case: Case,
    /// Shown once: lets the reporter (also an anonymous one) follow the case.
    pub tracking_code: String,
    pub possible_duplicates: Vec<(Case, f64)>,
}

/// An on-the-spot handling as the API receives it.
#[derive(Debug, Clone)]
pub struct OnTheSpotInput {
    pub location: LatLon,
    pub address: Option<String>,
    pub description: String,
    pub category: CategoryId,
    pub photos: Vec<MediaId>,
    pub evidence: Vec<MediaId>,
    pub note: String,
}

impl App {
    /// The working calendar of a district (the wall clock when none is set).
    pub fn calendar(&self, district: &str) -> gridkeeper_domain::Calendar {
        self.reference().calendars.get(district).cloned().unwrap_or_default()
    }

    /// The grid containing a point.
    pub fn locate(&self, p: LatLon) -> Option<RegionCode> {
        self.reference().grids.locate(p)
    }

    pub fn category(&self, field: &str, id: CategoryId) -> ApiResult<Category> {
        self.reference()
            .categories
            .get(&id)
            .cloned()
            .ok_or_else(|| ApiError::unknown(field, format!("no category with id {id}")))
    }

    /// The subclasses named by `category` parameters: a class stands for all its subclasses.
    pub fn category_filter(&self, values: &[&str]) -> ApiResult<Vec<CategoryId>> {
        let mut ids = vec![];
        for c in values {
            let id: i64 = c.parse().map_err(|_| ApiError::field("category", format!("`{c}` is not a category id")))?;
            if self.category("category", id)?.is_class() {
                ids.extend(self.reference().categories.values().filter(|s| s.parent_id == Some(id)).map(|s| s.id));
            } else {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    pub fn department(&self, field: &str, id: DepartmentId) -> ApiResult<Department> {
        self.reference()
            .departments
            .get(&id)
            .cloned()
            .ok_or_else(|| ApiError::unknown(field, format!("no department with id {id}")))
    }

    /// The case with this id or reference, if the actor may see it. Otherwise "not found", so
    /// that a case outside one's scope does not reveal that it exists.
    pub async fn find_case(&self, actor: &Actor, key: &str) -> ApiResult<Case> {
        self.find_case_if(key, |c| can_see(actor, c)).await
    }

    /// The case with this id or reference if `shown` holds for it, else "not found".
    pub async fn find_case_if(&self, key: &str, shown: impl Fn(&Case) -> bool) -> ApiResult<Case> {
        let key = key.trim();
        let case = if key.contains('-') {
            self.store.case_by_reference(key).await?
        } else {
            match key.parse::<CaseId>() {
                Ok(id) => self.store.case(id).await?,
                Err(_) => None,
            }
        };
        case.filter(|c| shown(c)).ok_or_else(|| ApiError::not_found("case"))
    }

    /// The case behind a tracking code.
    pub async fn tracked_case(&self, code: &str) -> ApiResult<Case> {
        self.store.case_by_tracking(&token_hash(code.trim())).await?.ok_or_else(|| ApiError::not_found("tracking code"))
    }

    pub(crate) fn year_of(&self, at: gridkeeper_domain::Millis) -> i32 {
        let offset = chrono::FixedOffset::east_opt(self.settings.utc_offset_hours * 3600)
            .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).expect("zero offset"));
        chrono::DateTime::from_timestamp_millis(at).map(|t| t.with_timezone(&offset).year()).unwrap_or(1970)
    }

    /// The grid of a location and the district it belongs to; outside every grid, the district
    /// that takes such reports (`None` as grid: "outside the jurisdiction").
    pub(crate) fn place(&self, location: Option<LatLon>) -> ApiResult<(Option<RegionCode>, String)> {
        let reference = self.reference();
        let grid = location.and_then(|p| reference.grids.locate(p));
        let district = match (&grid, &reference.district) {
            (Some(g), _) => g.district().to_string(),
            (None, Some(d)) => d.clone(),
            (None, None) => {
                return Err(ApiError::field(
                    "location",
                    "lies outside every grid, and no district takes such reports (set server.district)",
                ))
            }
        };
        Ok((grid, district))
    }

    /// Places a report in its grid (or flags it outside the jurisdiction) and stores it.
    pub async fn report(&self, actor: &Actor, input: ReportInput) -> ApiResult<Reported> {
        let now = self.now();
        let (grid, district) = self.place(input.location)?;
        let suggested = input.category.map(|id| self.category("category", id)).transpose()?;
        let new = NewReport {
            district,
            grid,
            location: input.location,
            address: input.address,
            description: input.description,
            urgency: input.urgency.unwrap_or(Urgency::Routine),
            suggested_category: suggested.clone(),
            photos: input.photos.clone(),
            anonymous: input.anonymous,
            contact: input.contact,
            source: input.source,
        };
        let calendar = self.calendar(&new.district);
        let decision = report_on(actor, new, now, &calendar).map_err(|r| ApiError::refusal(r, None))?;
        let tracking_code = new_token(12);
        let hash = token_hash(&tracking_code);
        let case = self
            .intake
            .insert(Intake {
                decision: &decision,
                year: self.year_of(now),
                tracking_hash: Some(&hash),
                media: &input.photos,
            })
            .await?;
        self.announce(&case, &decision.event).await;
        let possible_duplicates = match (&suggested, case.location) {
            (Some(c), Some(at)) => self.possible_duplicates(actor, c, at, case.id).await?,
            _ => vec![],
        };
        Ok(Reported { case, tracking_code, possible_duplicates })
    }

    /// A grid member's on-the-spot handling.
    pub async fn on_the_spot(&self, actor: &Actor, input: OnTheSpotInput) -> ApiResult<Case> {
        let now = self.now();
        // Outside every grid is outside one's own: not allowed, as for another member's grid.
        let grid = self.locate(input.location).ok_or_else(|| {
            let reason = "lies outside every grid; on-the-spot handling is for your own grid";
            let mut e = ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "forbidden",
                "Not allowed",
                format!("location: {reason}"),
            );
            e.set_field("location", reason);
            e
        })?;
        let category = self.category("category", input.category)?;
        let spot = OnTheSpot {
            district: grid.district().to_string(),
            grid,
            location: input.location,
            address: input.address,
            description: input.description,
            category,
            photos: input.photos.clone(),
            evidence: input.evidence.clone(),
            note: input.note,
        };
        let calendar = self.calendar(&spot.district);
        let decision = on_the_spot_on(actor, spot, now, &calendar).map_err(|r| ApiError::refusal(r, None))?;
        let media: Vec<MediaId> = input.photos.into_iter().chain(input.evidence).collect();
        let case = self
            .intake
            .insert(Intake { decision: &decision, year: self.year_of(now), tracking_hash: None, media: &media })
            .await?;
        self.announce(&case, &decision.event).await;
        Ok(case)
    }

    /// Resolves a case that a reject names as the original of a duplicate.
    pub async fn original(&self, actor: &Actor, key: &str) -> ApiResult<Original> {
        let c = self
            .find_case(actor, key)
            .await
            .map_err(|_| ApiError::field("duplicate_of", format!("no case `{key}`")))?;
        Ok(Original { id: c.id, district: c.district, state: c.state, duplicate_of: c.duplicate_of })
    }

    /// Runs one workflow action: the state machine decides, the store writes the projection and
    /// its one event in one transaction. `version`, when given, must be the case's current one.
    /// `case` is what [`App::find_case`] returned for the actor.
    pub async fn act(&self, actor: &Actor, case: Case, version: Option<i64>, cmd: Command) -> ApiResult<Case> {
        if version.is_some_and(|v| v != case.version) {
            return Err(gridkeeper_store::StoreError::Conflict(Box::new(case)).into());
        }
        let media: Vec<MediaId> = match &cmd {
            Command::SubmitResult { evidence, .. }
            | Command::ReportPart { evidence, .. }
            | Command::Verify { evidence, .. } => evidence.clone(),
            _ => vec![],
        };
        let calendar = self.calendar(&case.district);
        let decision =
            decide_on(&case, actor, cmd, self.now(), &calendar).map_err(|r| ApiError::refusal(r, Some(&case)))?;
        let case = self.store.apply(&decision, &media).await?;
        self.announce(&case, &decision.event).await;
        Ok(case)
    }

    /// Tells live listeners (`GET /api/v1/events`) about a case just written with `event`.
    pub(crate) async fn announce(&self, case: &Case, event: &gridkeeper_domain::NewEvent) {
        self.live.publish(gridkeeper_store::CaseNotice::of(case, event.action, event.at)).await;
    }

    /// Anonymises every finished case closed longer ago than the retention period; returns how
    /// many. Each goes through the state machine and writes its `anonymise` event. Messages to
    /// grid members older than the period are deleted.
    pub async fn anonymise_expired(&self) -> ApiResult<usize> {
        let now = self.now();
        let before = now - i64::from(self.settings.retention_days) * 24 * gridkeeper_domain::HOUR;
        // Messages to grid members carry their senders' phones: kept no longer than the cases.
        self.store.forget_contact_messages(before).await?;
        let mut done = 0;
        loop {
            let batch = self.store.cases_to_anonymise(before, 500).await?;
            if batch.is_empty() {
                return Ok(done);
            }
            for case in batch {
                let d = gridkeeper_domain::anonymise(&case, now).map_err(|r| ApiError::refusal(r, Some(&case)))?;
                match self.store.apply(&d, &[]).await {
                    Ok(stored) => {
                        self.announce(&stored, &d.event).await;
                        done += 1
                    }
                    // Someone acted on it meanwhile; the next run picks it up again.
                    Err(gridkeeper_store::StoreError::Conflict(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }

    /// Runs the clocks at `now`: warns handlers whose time is running out, marks overdue cases
    /// and puts them under supervision, and escalates unanswered supervision orders. Each change
    /// goes through the state machine and writes its event. Returns (warned, marked, escalated).
    pub async fn check_deadlines(&self, now: gridkeeper_domain::Millis) -> ApiResult<(usize, usize, usize)> {
        // Marked overdue, escalated, warned.
        let mut counts = [0usize; 3];
        let mut after = 0;
        loop {
            let batch = self.store.open_cases_with_clocks(after, 500).await?;
            let Some(last) = batch.last() else { return Ok((counts[2], counts[0], counts[1])) };
            after = last.id;
            for mut case in batch {
                let cal = self.calendar(&case.district);
                // Overdue first (it may open a supervision order), then escalation, then warning.
                for (i, count) in counts.iter_mut().enumerate() {
                    let decided = match i {
                        0 => gridkeeper_domain::mark_overdue(&case, now, &cal),
                        1 => gridkeeper_domain::escalate(&case, now, &cal),
                        _ => gridkeeper_domain::warn(&case, now),
                    };
                    let Ok(d) = decided else { continue };
                    match self.store.apply(&d, &[]).await {
                        Ok(stored) => {
                            self.announce(&stored, &d.event).await;
                            *count += 1;
                            case = stored;
                        }
                        // Someone acted on the case meanwhile: the next run looks again.
                        Err(gridkeeper_store::StoreError::Conflict(_)) => break,
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
    }

    /// Runs the clocks of inspections at `now`: tells the grid members of each inspection past
    /// due (planned, or a campaign's task) and, overdue by more than
    /// `[server.inspections] escalate_after_days` working days, the grid leaders of its
    /// community — each once. Returns how many notices were written.
    pub async fn check_inspection_deadlines(&self, now: gridkeeper_domain::Millis) -> ApiResult<usize> {
        let base = self.settings.public_url().unwrap_or_default();
        let ctx =
            gridkeeper_store::NoticeContext { now, base_url: &base, utc_offset_hours: self.settings.utc_offset_hours };
        let days = self.settings.inspections.escalate_after_days;
        Ok(self.store.tell_overdue_inspections(&ctx, days, &self.reference().calendars).await?)
    }

    /// Open cases of the same category within the category's radius and time window, nearest first.
    pub async fn possible_duplicates(
        &self,
        actor: &Actor,
        category: &Category,
        at: LatLon,
        exclude: CaseId,
    ) -> ApiResult<Vec<(Case, f64)>> {
        let radius = f64::from(category.duplicate_radius_m.max(1));
        let dlat = radius / 111_320.0;
        let dlon = radius / (111_320.0 * at.lat.to_radians().cos().max(0.01));
        let since = self.now() - i64::from(category.duplicate_window_hours) * gridkeeper_domain::HOUR;
        let bbox = [at.lat - dlat, at.lon - dlon, at.lat + dlat, at.lon + dlon];
        let mut found: Vec<(Case, f64)> = self
            .store
            .cases_near(category.id, bbox, since, exclude)
            .await?
            .into_iter()
            .filter_map(|c| {
                let d = c.location?.distance_m(&at);
                (d <= radius).then_some((c, d))
            })
            .collect();
        found.sort_by(|a, b| a.1.total_cmp(&b.1));
        // Staff see the cases themselves; others learn only that a similar report exists.
        if may(actor, Permission::ReviewDuplicates).is_err() {
            found.retain(|(c, _)| c.public);
        }
        Ok(found)
    }
}

/// What the actor may see in lists, applied inside the query (the domain's rule beside `sees`).
pub fn visibility(actor: &Actor) -> Visibility {
    Visibility::of(actor)
}

pub fn parse_location(lat: Option<f64>, lon: Option<f64>) -> Result<Option<LatLon>, FieldError> {
    match (lat, lon) {
        (Some(lat), Some(lon)) => LatLon::new(lat, lon).map(Some),
        (None, None) => Ok(None),
        (Some(_), None) => Err(FieldError::new("lon", "is required with lat")),
        (None, Some(_)) => Err(FieldError::new("lat", "is required with lon")),
    }
}
