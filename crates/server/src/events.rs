//! `GET /api/v1/events`: the live feed of case changes as Server-Sent Events, for the linkage
//! center's queue. Every notice of the app's [`gridkeeper_store::LiveFeed`] is filtered by the
//! listener's scope with the same rule as reading a case ([`gridkeeper_domain::sees`]), and sent
//! small: id, reference, action, new state, region, time. A browser that reconnects within a
//! few minutes sends the id of the last event it had (`Last-Event-ID`) and is sent what it
//! missed from [`Recent`]; otherwise, and when told `resync`, clients refetch their lists.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use gridkeeper_domain::time::to_rfc3339;
use gridkeeper_domain::{sees, Action, Actor, CaseState, Millis, Permission, MINUTE};
use gridkeeper_store::CaseNotice;
use serde::Serialize;
use tokio::sync::broadcast::{self, error::RecvError};
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

/// How many of the latest notices, and for how long, are kept for reconnecting browsers.
const KEEP: usize = 4096;
const KEEP_FOR: Millis = 5 * MINUTE;

/// A notice numbered in the order this server received it.
type Numbered = Arc<(u64, CaseNotice)>;

/// The notices of the last few minutes, numbered, so that a browser reconnecting with
/// `Last-Event-ID` is sent what it missed. Event ids are `EPOCH-NUMBER`; `EPOCH` is new at every
/// start of the server, so an id from another instance or an earlier start asks for a `resync`.
pub struct Recent {
    epoch: String,
    kept: Mutex<Kept>,
    tx: broadcast::Sender<Numbered>,
}

#[derive(Default)]
struct Kept {
    next: u64,
    notices: VecDeque<Numbered>,
}

/// What a listener is sent before the live notices.
enum Replay {
    Nothing,
    /// What it missed, oldest first.
    Missed(Vec<Numbered>),
    /// Its last event is too old, or from elsewhere: it must refetch.
    Resync,
}

impl Default for Recent {
    fn default() -> Self {
        Self { epoch: crate::auth::new_token(6), kept: Mutex::default(), tx: broadcast::channel(1024).0 }
    }
}

impl Recent {
    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Numbers a notice, keeps it and passes it on to the listeners.
    fn record(&self, notice: CaseNotice) {
        let mut kept = self.kept();
        let numbered = Arc::new((kept.next, notice));
        kept.next += 1;
        let oldest = numbered.1.at - KEEP_FOR;
        while kept.notices.front().is_some_and(|n| kept.notices.len() >= KEEP || n.1.at < oldest) {
            kept.notices.pop_front();
        }
        kept.notices.push_back(numbered.clone());
        // Sent under the lock, so a listener joining sees each notice once: kept or sent.
        let _ = self.tx.send(numbered);
    }

    /// Notices were lost on the way here: nobody can resume from before now.
    fn forget(&self, missed: u64) {
        let mut kept = self.kept();
        kept.notices.clear();
        kept.next += missed;
    }

    /// A receiver of the notices from now on, and what to send first to a listener whose last
    /// event had the id `last`.
    fn follow(&self, last: Option<&str>) -> (Replay, broadcast::Receiver<Numbered>) {
        let kept = self.kept();
        let rx = self.tx.subscribe();
        let Some(last) = last else { return (Replay::Nothing, rx) };
        let seen =
            last.rsplit_once('-').filter(|(epoch, _)| *epoch == self.epoch).and_then(|(_, n)| n.parse::<u64>().ok());
        let first_kept = kept.notices.front().map_or(kept.next, |n| n.0);
        let replay = match seen {
            Some(n) if n < kept.next && n + 1 >= first_kept => {
                Replay::Missed(kept.notices.iter().filter(|k| k.0 > n).cloned().collect())
            }
            _ => Replay::Resync,
        };
        (replay, rx)
    }
}

/// Numbers and keeps every notice of the live feed (runs while the server serves).
pub async fn keep_recent(app: AppState) {
    let mut rx = app.live.subscribe();
    loop {
        match rx.recv().await {
            Ok(n) => app.recent.record(n),
            Err(RecvError::Lagged(missed)) => app.recent.forget(missed),
            Err(RecvError::Closed) => return,
        }
    }
}

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
fn notice_event(epoch: &str, seq: u64, n: &CaseNotice) -> Event {
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
    Event::default().event("case").id(format!("{epoch}-{seq}")).data(data)
}

#[utoipa::path(get, path = "/events", tag = "cases", summary = "Live case changes in one's scope (Server-Sent Events)", description = "Staff only. First a `ready` event, then one `case` event per change of a case the listener may see: `{id, reference, version, action, state, region, at}`. A `resync` event means notices were missed: refetch. Reconnecting with the header `Last-Event-ID` (browsers send it) within five minutes, one is first sent the notices missed since that event, or `resync` when they can no longer be told. Comments keep the stream alive; it ends after ten minutes, and within five seconds of a sign-out, a disabled account or a change of roles; the browser reconnects (refetch then too).",
    responses((status = 200, description = "An event stream", content_type = "text/event-stream", body = String), (status = 403, description = "Not allowed (role, scope or CSRF token)")))]
async fn events(
    State(app): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    gridkeeper_domain::may(&auth.actor, Permission::WatchLive).map_err(|r| ApiError::refusal(r, None))?;
    tracing::debug!(person = auth.person.id, "live feed opened");
    let last = headers.get("last-event-id").and_then(|v| v.to_str().ok());
    let stream = live_stream(&app, auth.actor, auth.session, last);
    let ready =
        futures::stream::once(async { Ok(Event::default().event("ready").retry(Duration::from_secs(3)).data("{}")) });
    Ok(Sse::new(ready.chain(stream)).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

struct Listener {
    rx: broadcast::Receiver<Numbered>,
    closing: tokio::sync::watch::Receiver<bool>,
    until: tokio::time::Instant,
    recheck: tokio::time::Interval,
    app: AppState,
    epoch: String,
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
fn live_stream(
    app: &AppState,
    actor: Actor,
    session: String,
    last: Option<&str>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let (replay, rx) = app.recent.follow(last);
    let epoch = app.recent.epoch.clone();
    let first: Vec<Event> = match replay {
        Replay::Nothing => vec![],
        Replay::Resync => vec![Event::default().event("resync").data("{}")],
        Replay::Missed(missed) => {
            missed.iter().filter(|n| sees(&actor, &n.1.sight())).map(|n| notice_event(&epoch, n.0, &n.1)).collect()
        }
    };
    let start = tokio::time::Instant::now();
    let mut recheck = tokio::time::interval_at(start + RECHECK, RECHECK);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let listener = Listener {
        rx,
        closing: app.closing.subscribe(),
        until: start + MAX_STREAM,
        recheck,
        app: app.clone(),
        epoch,
        session,
        actor,
    };
    let live = futures::stream::unfold(listener, |mut l| async move {
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
                Ok(n) if sees(&l.actor, &n.1.sight()) => {
                    let event = notice_event(&l.epoch, n.0, &n.1);
                    return Some((Ok(event), l));
                }
                Ok(_) => continue,
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "live listener fell behind");
                    return Some((Ok(Event::default().event("resync").data("{}")), l));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    });
    futures::stream::iter(first.into_iter().map(Ok)).chain(live)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An epoch is URL-safe base64, which may hold a `-`: the number is what follows the last one.
    #[test]
    fn an_epoch_with_a_dash_still_resumes() {
        let recent = Recent { epoch: "a-b_c-dE".into(), ..Recent::default() };
        recent.kept().next = 6;
        assert!(matches!(recent.follow(Some("a-b_c-dE-5")).0, Replay::Missed(m) if m.is_empty()));
        assert!(matches!(recent.follow(Some("elsewhere-5")).0, Replay::Resync));
        assert!(matches!(recent.follow(Some("a-b_c-dE-9")).0, Replay::Resync), "a number not given yet");
    }
}
