//! The hotline entry of the linkage center: the call-taker looks the caller up by phone (the
//! person registered with it and the earlier cases reported from it, masked unless revealed and
//! audited), then reports the problem on the caller's behalf as the source `hotline`, or attaches
//! the call to an existing case as another reporter. Either way the caller gets a tracking code
//! by SMS.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use gridkeeper_domain::time::to_rfc3339;
use gridkeeper_domain::{
    allows, decide_on, may, parse_phone, Action, Actor, Caller, Case, Command, Permission, PersonId, RegionCode,
    Source, Urgency,
};
use gridkeeper_store::vault::{mask_name, mask_phone};
use gridkeeper_store::{NewAudit, PhoneCase, MAX_CALLER_CASES};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::ContactView;
use crate::auth::{new_token, token_hash, Auth};
use crate::cases::{CaseView, PossibleDuplicate};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Query};
use crate::service::{parse_location, visibility, ReportInput};
use crate::{App, AppState};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(look_up)).routes(routes!(take_call)).routes(routes!(add_caller))
}

/// Earlier cases shown for a phone unless `limit` says otherwise.
const DEFAULT_CASES: u32 = 20;

/// The language of the SMS sent to a caller.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Chinese (the default).
    #[default]
    Zh,
    En,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct CallerQuery {
    /// The caller's phone number as typed (`139 1234 5678`, `+86-139…`)
    #[param(required = true)]
    phone: Option<String>,
    /// Names and phones in clear where one may reveal them (each case revealed is audited)
    reveal: Option<bool>,
    /// At most this many earlier cases (default 20, at most 100)
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
}

/// The person registered with the phone.
#[derive(Serialize, ToSchema)]
pub struct CallerPerson {
    pub id: i64,
    /// Masked (`李*`) unless revealed.
    pub name: String,
    /// The name is in clear: revealed through a case they reported that one may reveal.
    pub revealed: bool,
}

/// How the phone is tied to an earlier case.
#[derive(Serialize, ToSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CallerMatch {
    /// The contact phone left with the case.
    Contact,
    /// The case was reported by the person registered with the phone.
    Reporter,
    /// The phone called about the case and was attached to it.
    Caller,
}

/// An earlier case reported from the phone.
#[derive(Serialize, ToSchema)]
pub struct CallerCase {
    /// The case as the call-taker may see it; its `contact` in clear when `revealed`.
    pub case: CaseView,
    /// How the phone is tied to it.
    pub matched: Vec<CallerMatch>,
    /// The contact is shown in clear (audited as a reveal of the case).
    pub revealed: bool,
    /// The call may be attached to this case now: `POST /cases/{key}/callers`.
    pub may_add_caller: bool,
}

/// What the platform knows of a phone.
#[derive(Serialize, ToSchema)]
pub struct CallerLookup {
    /// The phone as the platform keeps it (digits only).
    pub phone: String,
    pub person: Option<CallerPerson>,
    /// Earlier cases reported from the phone that one sees, newest first.
    pub cases: Vec<CallerCase>,
    /// More cases than `limit` were found.
    pub more: bool,
}

#[utoipa::path(get, path = "/hotline/callers", tag = "hotline", summary = "Look a caller up by phone: the person registered with it and the earlier cases reported from it",
    params(CallerQuery),
    responses((status = 200, description = "The person (if any) and the earlier cases one sees, newest first; masked unless `reveal` and allowed (audited)", body = CallerLookup), (status = 403, description = "Not allowed (role, scope or CSRF token)")))]
#[tracing::instrument(skip_all, fields(person = auth.person.id))]
async fn look_up(
    State(app): State<AppState>,
    auth: Auth,
    Query(q): Query<CallerQuery>,
) -> ApiResult<Json<CallerLookup>> {
    may(&auth.actor, Permission::LookUpCallers).map_err(|r| ApiError::refusal(r, None))?;
    let typed = q.phone.ok_or_else(|| ApiError::field("phone", "is required"))?;
    let phone = parse_phone(&typed)?;
    let limit = q.limit.unwrap_or(DEFAULT_CASES);
    if !(1..=MAX_CALLER_CASES).contains(&limit) {
        return Err(ApiError::field("limit", format!("must lie between 1 and {MAX_CALLER_CASES}")));
    }
    let reveal = q.reveal.unwrap_or(false);
    let person = app.store.person_by_phone(&phone).await?;
    let mut found =
        app.store.cases_from_phone(&phone, person.as_ref().map(|p| p.id), &visibility(&auth.actor), limit + 1).await?;
    let more = found.len() > limit as usize;
    found.truncate(limit as usize);
    let mut cases = Vec::with_capacity(found.len());
    let mut person_revealed = false;
    for f in &found {
        let revealed = reveal && may(&auth.actor, Permission::RevealPersonalData { case: &f.case }).is_ok();
        if revealed {
            app.audit_reveal(&auth, &f.case).await?;
            person_revealed |= f.as_reporter;
        }
        cases.push(caller_case(&app, f, &auth.actor, revealed));
    }
    let person = person.map(|p| CallerPerson {
        id: p.id,
        name: if person_revealed { p.name.clone() } else { mask_name(&p.name) },
        revealed: person_revealed,
    });
    Ok(Json(CallerLookup { phone, person, cases, more }))
}

fn caller_case(app: &App, f: &PhoneCase, actor: &Actor, revealed: bool) -> CallerCase {
    let mut view = CaseView::of(app, &f.case, actor);
    if revealed {
        let contact = f.case.contact.clone().unwrap_or_default();
        view.contact = Some(ContactView { name: contact.name, phone: contact.phone });
    }
    let matched = [
        (f.as_contact, CallerMatch::Contact),
        (f.as_reporter, CallerMatch::Reporter),
        (f.as_caller, CallerMatch::Caller),
    ]
    .into_iter()
    .filter_map(|(yes, m)| yes.then_some(m))
    .collect();
    CallerCase { case: view, matched, revealed, may_add_caller: allows(&f.case, actor, Action::AddCaller) }
}

/// A hotline call reported on the caller's behalf.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CallBody {
    /// The caller's phone: the case's contact, and where the tracking code is sent.
    phone: String,
    /// The name the caller gave.
    #[schema(max_length = 50)]
    name: Option<String>,
    /// The problem, as the caller told it.
    #[schema(max_length = 4000)]
    description: String,
    /// A subclass, if the call-taker chose one.
    category: Option<i64>,
    urgency: Option<Urgency>,
    lat: Option<f64>,
    lon: Option<f64>,
    /// The coordinate system of `lat`/`lon`: `wgs84` (the default), `gcj02` or `bd09`.
    crs: Option<String>,
    /// The address the caller gave (with or without a point).
    #[schema(max_length = 300)]
    address: Option<String>,
    /// The caller asked not to be named to departments.
    #[serde(default)]
    anonymous: bool,
    /// The language of the SMS to the caller (default `zh`).
    language: Option<Language>,
}

/// The case reported for a caller.
#[derive(Serialize, ToSchema)]
pub struct CallTaken {
    pub case: CaseView,
    /// The caller follows the case with it (`GET /track/{code}`); sent to them by SMS, shown once.
    pub tracking_code: String,
    pub outside_jurisdiction: bool,
    /// The SMS with the tracking code was handed to the gateway.
    pub sms_sent: bool,
    pub possible_duplicates: Vec<PossibleDuplicate>,
}

#[utoipa::path(post, path = "/hotline/calls", tag = "hotline", summary = "Report a hotline call on the caller's behalf (source `hotline`); the caller gets the tracking code by SMS",
    request_body = CallBody,
    responses((status = 201, description = "The case, its tracking code (also sent to the caller) and possible duplicates", body = CallTaken), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "`category` names no category")))]
#[tracing::instrument(skip_all, fields(person = auth.person.id))]
async fn take_call(
    State(app): State<AppState>,
    auth: Auth,
    ApiJson(b): ApiJson<CallBody>,
) -> ApiResult<(StatusCode, Json<CallTaken>)> {
    let caller = Caller::new(&b.phone, b.name.as_deref())?;
    let location = crate::regions::stored_location(parse_location(b.lat, b.lon)?, b.crs.as_deref())?;
    // The place decides whose call it is: the linkage center of its grid, or of the district
    // that takes reports outside every grid.
    let (grid, district) = app.place(location)?;
    let region = match grid {
        Some(g) => g,
        None => RegionCode::parse(&district)?,
    };
    may(&auth.actor, Permission::TakeCall { region: &region }).map_err(|r| ApiError::refusal(r, None))?;
    let input = ReportInput {
        location,
        address: b.address,
        description: b.description,
        urgency: b.urgency,
        category: b.category,
        photos: vec![],
        anonymous: b.anonymous,
        contact: Some(caller.contact()),
        source: Some(Source::Hotline),
    };
    let r = app.report(&auth.actor, input).await?;
    let text = match b.language.unwrap_or_default() {
        Language::Zh => format!(
            "【网格管家】您反映的问题已登记，编号 {}，查询码 {}。办理进度：{}",
            r.case.reference,
            r.tracking_code,
            app.track_url(&r.tracking_code)
        ),
        Language::En => format!(
            "[gridkeeper] Your report is registered as {}, tracking code {}. Follow it: {}",
            r.case.reference,
            r.tracking_code,
            app.track_url(&r.tracking_code)
        ),
    };
    let sms_sent = app.text_caller(caller.phone(), &text, &r.case);
    let possible_duplicates =
        r.possible_duplicates.iter().map(|(c, d)| PossibleDuplicate::of(&auth.actor, c, *d)).collect();
    Ok((
        StatusCode::CREATED,
        Json(CallTaken {
            outside_jurisdiction: r.case.grid.is_none(),
            case: CaseView::of(&app, &r.case, &auth.actor),
            tracking_code: r.tracking_code,
            sms_sent,
            possible_duplicates,
        }),
    ))
}

/// Another caller about an existing case.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CallerBody {
    /// The caller's phone: kept sealed with the case, and where the tracking code is sent.
    phone: String,
    #[schema(max_length = 50)]
    name: Option<String>,
    /// What the caller added, for the case's timeline (staff only).
    #[schema(max_length = 2000)]
    note: Option<String>,
    /// The case's version as read; a stale one is answered 409 with the case as it is.
    version: Option<i64>,
    /// The language of the SMS to the caller (default `zh`).
    language: Option<Language>,
}

/// A caller attached to a case, as the call-taker sees them.
#[derive(Serialize, ToSchema)]
pub struct CallerView {
    /// The seq of the case's `add_caller` event.
    pub seq: i64,
    #[schema(format = DateTime)]
    pub at: String,
    /// Masked (`139****5678`).
    pub phone: String,
    /// Masked.
    pub name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CallerAdded {
    pub case: CaseView,
    pub caller: CallerView,
    /// The caller's own tracking code for the case, sent to them by SMS; shown once.
    pub tracking_code: String,
    /// The SMS with the tracking code was handed to the gateway.
    pub sms_sent: bool,
}

#[utoipa::path(post, path = "/cases/{key}/callers", tag = "hotline", summary = "Attach a hotline call to an existing case as another reporter; the caller gets a tracking code by SMS",
    params(("key" = String, Path, description = "Case id or reference")),
    request_body = CallerBody,
    responses((status = 201, description = "The case with its `add_caller` event written, and the caller", body = CallerAdded), (status = 403, description = "Not allowed (role, scope or CSRF token)"), (status = 404, description = "Not found, or outside one's scope"), (status = 409, description = "Wrong state (a finished case) or stale version; `current` holds the case as it is")))]
#[tracing::instrument(skip_all, fields(case = %key, person = auth.person.id))]
async fn add_caller(
    State(app): State<AppState>,
    auth: Auth,
    Path(key): Path<String>,
    ApiJson(b): ApiJson<CallerBody>,
) -> ApiResult<(StatusCode, Json<CallerAdded>)> {
    let case = app.find_case(&auth.actor, &key).await?;
    let caller = Caller::new(&b.phone, b.name.as_deref())?;
    if b.version.is_some_and(|v| v != case.version) {
        return Err(gridkeeper_store::StoreError::Conflict(Box::new(case)).into());
    }
    let now = app.now();
    let cmd = Command::AddCaller { caller: caller.clone(), note: b.note };
    let decision = decide_on(&case, &auth.actor, cmd, now, &app.calendar(&case.district))
        .map_err(|r| ApiError::refusal(r, Some(&case)))?;
    let tracking_code = new_token(12);
    let case = app.store.add_caller(&decision, &caller, Some(&token_hash(&tracking_code))).await?;
    app.announce(&case, &decision.event).await;
    let text = match b.language.unwrap_or_default() {
        Language::Zh => format!(
            "【网格管家】您反映的问题已记入案件 {}，查询码 {}。办理进度：{}",
            case.reference,
            tracking_code,
            app.track_url(&tracking_code)
        ),
        Language::En => format!(
            "[gridkeeper] Your call was added to case {}, tracking code {}. Follow it: {}",
            case.reference,
            tracking_code,
            app.track_url(&tracking_code)
        ),
    };
    let sms_sent = app.text_caller(caller.phone(), &text, &case);
    Ok((
        StatusCode::CREATED,
        Json(CallerAdded {
            caller: CallerView {
                seq: case.version,
                at: to_rfc3339(now),
                phone: mask_phone(caller.phone()),
                name: caller.name().map(mask_name),
            },
            case: CaseView::of(&app, &case, &auth.actor),
            tracking_code,
            sms_sent,
        }),
    ))
}

impl App {
    /// Where a tracking code is followed in the web app.
    fn track_url(&self, code: &str) -> String {
        let base = self.settings.public_url().unwrap_or_default();
        format!("{base}/track/{code}")
    }

    /// Texts a caller; a gateway that fails is logged and answered as not sent, never as a failed
    /// call (the case is stored already).
    fn text_caller(&self, phone: &str, text: &str, case: &Case) -> bool {
        match self.sms.send(phone, text) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(case = case.id, to = %mask_phone(phone), error = %e, "the caller's SMS was not sent");
                false
            }
        }
    }

    /// Writes to the audit log that `auth` saw the contact of `case` in clear, as
    /// `POST /cases/{key}/reveal` does.
    async fn audit_reveal(&self, auth: &Auth, case: &Case) -> ApiResult<()> {
        let by: PersonId = auth.person.id;
        self.store
            .audit(&NewAudit {
                at: self.now(),
                actor: Some(by),
                action: "reveal".into(),
                object: Some(format!("case:{}", case.id)),
                detail: json!({ "reference": case.reference, "fields": ["reporter.name", "contact"], "via": "hotline" }),
            })
            .await?;
        Ok(())
    }
}
