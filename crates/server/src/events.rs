//! `GET /api/v1/events`: the live feed of case changes as Server-Sent Events, for the linkage
//! center's queue. Every notice of the app's [`gridkeeper_store::LiveFeed`] is filtered by the
//! listener's scope with the same rule as reading a case ([`gridkeeper_domain::sees`]), and sent
//! small: id, reference, action, new state, region, time. Clients refetch their lists when they
//! (re)connect and when told `resync` (they fell behind).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use axum::Router;
use futures::{Stream, StreamExt};
use gridkeeper_domain::time::to_rfc3339;
use gridkeeper_domain::{sees, Actor, Permission};
use gridkeeper_store::CaseNotice;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// How often an idle stream sends a comment so proxies keep it open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// A stream ends after this long; the browser reconnects at once and is signed in again, so a
/// signed-out or disabled account stops receiving within this time.
const MAX_STREAM: Duration = Duration::from_secs(600);

pub fn router() -> Router<AppState> {
    Router::new().route("/events", get(events))
}

/// What a client is sent for a notice: nothing about the reporter or the departments.
fn notice_event(n: &CaseNotice) -> Event {
    let data = json!({
        "id": n.case, "reference": n.reference, "version": n.version, "action": n.action,
        "state": n.state, "region": n.region, "at": to_rfc3339(n.at),
    });
    Event::default().event("case").id(format!("{}.{}", n.case, n.version)).data(data.to_string())
}

#[utoipa::path(get, path = "/events", tag = "cases", summary = "Live case changes in one's scope (Server-Sent Events)", description = "Staff only. First a `ready` event, then one `case` event per change of a case the listener may see: `{id, reference, version, action, state, region, at}`. A `resync` event means notices were missed: refetch. Comments keep the stream alive; it ends after ten minutes and the browser reconnects (refetch then too).", responses((status = 200, description = "An event stream", content_type = "text/event-stream", body = String), (status = 401, description = "Not signed in"), (status = 403, description = "Not allowed (role, scope or CSRF token)")))]
async fn events(
    State(app): State<AppState>,
    auth: Auth,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    gridkeeper_domain::may(&auth.actor, Permission::WatchLive).map_err(|r| ApiError::refusal(r, None))?;
    tracing::debug!(person = auth.person.id, "live feed opened");
    let stream = live_stream(&app, auth.actor);
    let ready =
        futures::stream::once(async { Ok(Event::default().event("ready").retry(Duration::from_secs(3)).data("{}")) });
    Ok(Sse::new(ready.chain(stream)).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

struct Listener {
    rx: tokio::sync::broadcast::Receiver<CaseNotice>,
    closing: tokio::sync::watch::Receiver<bool>,
    until: tokio::time::Instant,
    actor: Actor,
}

/// The notices `actor` may see, until the server shuts down or the stream's time is up.
fn live_stream(app: &AppState, actor: Actor) -> impl Stream<Item = Result<Event, Infallible>> {
    let listener = Listener {
        rx: app.live.subscribe(),
        closing: app.closing.subscribe(),
        until: tokio::time::Instant::now() + MAX_STREAM,
        actor,
    };
    futures::stream::unfold(listener, |mut l| async move {
        loop {
            let got = tokio::select! {
                r = l.rx.recv() => r,
                _ = l.closing.wait_for(|c| *c) => return None,
                _ = tokio::time::sleep_until(l.until) => return None,
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
