//! `GET /api/v1/events`: the live feed of case changes as Server-Sent Events, for the linkage
//! center's queue. Every notice of the app's [`gridkeeper_store::LiveFeed`] is filtered by the
//! listener's scope with the same rule as reading a case ([`gridkeeper_domain::sees`]), and sent
//! small: id, reference, action, new state, region, time. Clients refetch their lists when they
//! (re)connect and when told `resync` (they fell behind).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use gridkeeper_domain::time::to_rfc3339;
use gridkeeper_domain::{sees, Action, Actor, CaseState, Permission};
use gridkeeper_store::CaseNotice;
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// How often an idle stream sends a comment so proxies keep it open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// A stream ends after this long; the browser reconnects at once (and refetches).
const MAX_STREAM: Duration = Duration::from_secs(600);
/// How often a stream checks that its session still holds and its person's roles are those it
/// was opened with: after a sign-out, a disabled account or a changed role it ends within this
/// time.
const RECHECK: Duration = Duration::from_secs(5);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events))
}

/// A `case` event of `GET /events`: one change of a case in the listener's scope.
#[derive(Serialize, ToSchema)]
pub struct LiveNotice {
    /// The case's id.
    pub id: i64,
    pub reference: String,
    /// The case's version after the change.
    pub version: i64,
    /// What happened.
    pub action: Action,
    /// The state after the change.
    pub state: CaseState,
    /// The grid, or the district when the case lies outside every grid.
    pub region: String,
    #[schema(format = DateTime)]
    pub at: String,
}

/// What a client is sent for a notice: nothing about the reporter or the departments.
fn notice_event(n: &CaseNotice) -> Event {
    let data = LiveNotice {
        id: n.case,
        reference: n.reference.clone(),
        version: n.version,
        action: n.action,
        state: n.state,
        region: n.region.to_string(),
        at: to_rfc3339(n.at),
    };
    let data = serde_json::to_string(&data).unwrap_or_default();
    Event::default().event("case").id(format!("{}.{}", n.case, n.version)).data(data)
}

#[utoipa::path(get, path = "/events", tag = "cases", summary = "Live case changes in one's scope (Server-Sent Events)", description = "Staff only. First a `ready` event, then one `case` event per change of a case the listener may see: `{id, reference, version, action, state, region, at}`. A `resync` event means notices were missed: refetch. Comments keep the stream alive; it ends after ten minutes, and within five seconds of a sign-out, a disabled account or a change of roles; the browser reconnects (refetch then too).",
    responses((status = 200, description = "An event stream", content_type = "text/event-stream", body = String), (status = 403, description = "Not allowed (role, scope or CSRF token)")))]
async fn events(
    State(app): State<AppState>,
    auth: Auth,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    gridkeeper_domain::may(&auth.actor, Permission::WatchLive).map_err(|r| ApiError::refusal(r, None))?;
    tracing::debug!(person = auth.person.id, "live feed opened");
    let stream = live_stream(&app, auth.actor, auth.session);
    let ready =
        futures::stream::once(async { Ok(Event::default().event("ready").retry(Duration::from_secs(3)).data("{}")) });
    Ok(Sse::new(ready.chain(stream)).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

struct Listener {
    rx: tokio::sync::broadcast::Receiver<CaseNotice>,
    closing: tokio::sync::watch::Receiver<bool>,
    until: tokio::time::Instant,
    recheck: tokio::time::Interval,
    app: AppState,
    session: String,
    actor: Actor,
}

impl Listener {
    /// The session is still open, and its person neither disabled nor given other roles. A
    /// database that does not answer ends the stream too: the browser reconnects and is asked again.
    async fn still_signed_in(&self) -> bool {
        let Ok(Some(id)) = self.app.store.session_person(&self.session, self.app.now()).await else { return false };
        let Ok(Some(person)) = self.app.store.person(id).await else { return false };
        Some(id) == self.actor.person && !person.disabled && person.grants == self.actor.grants
    }
}

/// The notices `actor` may see, until the session ends, the server shuts down or the stream's
/// time is up.
fn live_stream(app: &AppState, actor: Actor, session: String) -> impl Stream<Item = Result<Event, Infallible>> {
    let start = tokio::time::Instant::now();
    let mut recheck = tokio::time::interval_at(start + RECHECK, RECHECK);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let listener = Listener {
        rx: app.live.subscribe(),
        closing: app.closing.subscribe(),
        until: start + MAX_STREAM,
        recheck,
        app: app.clone(),
        session,
        actor,
    };
    futures::stream::unfold(listener, |mut l| async move {
        loop {
            let got = tokio::select! {
                r = l.rx.recv() => Some(r),
                _ = l.closing.wait_for(|c| *c) => return None,
                _ = tokio::time::sleep_until(l.until) => return None,
                _ = l.recheck.tick() => None,
            };
            let Some(got) = got else {
                if l.still_signed_in().await {
                    continue;
                }
                tracing::debug!(person = l.actor.person, "live feed closed: the session ended");
                return None;
            };
            match got {
                Ok(n) if sees(&l.actor, &n.sight()) => return Some((Ok(notice_event(&n)), l)),
                Ok(_) => continue,
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "live listener fell behind");
                    return Some((Ok(Event::default().event("resync").data("{}")), l));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    })
}
