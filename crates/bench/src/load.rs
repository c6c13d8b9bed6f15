//! The load generator: N connections on loopback, each sending its next request when its last
//! one is answered (closed loop), either as fast as the server answers (saturation) or at a
//! fixed offered rate: request k is due at `start + k / rate`, and its latency counts from when
//! it was due, so a server that falls behind is charged for the queue it builds (no coordinated
//! omission).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::Latency;

/// One request of the mix: method, path, JSON body (for POST), the status that means success.
#[derive(Debug, Clone)]
pub struct Request {
    pub post: bool,
    pub path: String,
    pub body: Option<String>,
    pub expect: u16,
}

/// What one run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Offered requests per second (`None`: saturation).
    pub offered: Option<f64>,
    pub connections: usize,
    pub seconds: f64,
    pub ok: u64,
    pub errors: u64,
    pub per_second: f64,
    pub latency: Latency,
}

/// Runs `requests` (cycled) against `base` for `duration` with `connections` concurrent
/// connections, at `rate` requests per second or as fast as possible.
pub async fn run(
    base: &str,
    token: Option<&str>,
    requests: Arc<Vec<Request>>,
    connections: usize,
    rate: Option<f64>,
    duration: Duration,
) -> anyhow::Result<Outcome> {
    Ok(run_inner(base, token, requests, connections, rate, duration, false).await?.0)
}

/// A request that was answered with its expected status, and the `case.reference` of the answer.
#[derive(Debug, Clone)]
pub struct Acknowledged {
    /// Index of the request in the cycled list.
    pub request: usize,
    pub reference: String,
}

/// [`run`] at saturation that keeps every acknowledgement (the answers' `case.reference`), for
/// a run during which the server is killed: a connection that fails (the server is gone) ends
/// its worker, and an answer whose body did not arrive whole is not an acknowledgement.
pub async fn run_acknowledged(
    base: String,
    requests: Arc<Vec<Request>>,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<(Outcome, Vec<Acknowledged>)> {
    run_inner(&base, None, requests, connections, None, duration, true).await
}

async fn run_inner(
    base: &str,
    token: Option<&str>,
    requests: Arc<Vec<Request>>,
    connections: usize,
    rate: Option<f64>,
    duration: Duration,
    keep: bool,
) -> anyhow::Result<(Outcome, Vec<Acknowledged>)> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()?;
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + duration;
    let mut workers = vec![];
    for _ in 0..connections {
        let (client, requests, next) = (client.clone(), requests.clone(), next.clone());
        let (base, token) = (base.to_string(), token.map(str::to_string));
        workers.push(tokio::spawn(async move {
            let (mut ok, mut errors, mut ms, mut acks) = (0u64, 0u64, Vec::new(), Vec::new());
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let due = match rate {
                    Some(r) => start + Duration::from_secs_f64(k as f64 / r),
                    None => Instant::now(),
                };
                if due >= end {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
                let r = &requests[k as usize % requests.len()];
                let url = format!("{base}{}", r.path);
                let mut req = if r.post { client.post(url) } else { client.get(url) };
                if let Some(t) = &token {
                    req = req.bearer_auth(t);
                }
                if let Some(b) = &r.body {
                    req = req.header("content-type", "application/json").body(b.clone());
                }
                let answered = match req.send().await {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        // Read the whole body: the answer is part of the work.
                        match resp.bytes().await {
                            Ok(body) if status == r.expect && keep => {
                                let reference = serde_json::from_slice::<serde_json::Value>(&body)
                                    .ok()
                                    .and_then(|v| v["case"]["reference"].as_str().map(str::to_string));
                                let request = k as usize % requests.len();
                                reference.map(|reference| acks.push(Acknowledged { request, reference })).is_some()
                            }
                            Ok(_) if status == r.expect => true,
                            Ok(_) => false,
                            Err(_) if keep => {
                                errors += 1;
                                break;
                            }
                            Err(_) => false,
                        }
                    }
                    Err(_) if keep => {
                        errors += 1;
                        break;
                    }
                    Err(_) => false,
                };
                if answered {
                    ok += 1;
                    ms.push(due.elapsed().as_secs_f64() * 1000.0);
                } else {
                    errors += 1;
                }
            }
            (ok, errors, ms, acks)
        }));
    }
    let (mut ok, mut errors, mut ms, mut acks) = (0, 0, vec![], vec![]);
    for w in workers {
        let (o, e, m, a) = w.await?;
        ok += o;
        errors += e;
        ms.extend(m);
        acks.extend(a);
    }
    let seconds = start.elapsed().as_secs_f64();
    let outcome = Outcome {
        offered: rate,
        connections,
        seconds,
        ok,
        errors,
        per_second: ok as f64 / seconds,
        latency: Latency::of(ms),
    };
    Ok((outcome, acks))
}

/// Waits until `base/readyz` answers 200.
pub async fn wait_ready(base: &str, child: &mut tokio::process::Child) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    for _ in 0..1200 {
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("the server exited with {status}");
        }
        if client.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("the server at {base} did not become ready")
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Peak and current resident memory of a process, in MB (VmHWM and VmRSS).
pub fn memory_mb(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<f64> {
        let kib: f64 = status.lines().find(|l| l.starts_with(name))?.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

#[cfg(test)]
mod tests {
    use axum::routing::post;

    use super::*;

    /// The load generator against a tiny server: paced runs hold their rate, saturation counts
    /// every answer, a wrong status is an error.
    #[tokio::test]
    async fn measures_a_tiny_server() {
        let app = axum::Router::new()
            .route("/ok", post(|| async { (axum::http::StatusCode::CREATED, "{}") }))
            .route("/ref", post(|| async { (axum::http::StatusCode::CREATED, r#"{"case":{"reference":"R-1"}}"#) }))
            .route("/bad", post(|| async { axum::http::StatusCode::INTERNAL_SERVER_ERROR }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let req = |path: &str| Request { post: true, path: path.into(), body: Some("{}".into()), expect: 201 };
        let ok = Arc::new(vec![req("/ok")]);
        let ok_ref = Arc::new(vec![req("/ref")]);
        let paced = run(&base, None, ok.clone(), 4, Some(200.0), Duration::from_millis(500)).await.unwrap();
        assert_eq!(paced.errors, 0);
        assert!((90..=101).contains(&paced.ok), "about 100 requests in half a second at 200/s: {}", paced.ok);
        assert!(paced.latency.p50_ms > 0.0 && paced.latency.p50_ms <= paced.latency.p99_ms);
        let saturated = run(&base, None, ok, 4, None, Duration::from_millis(300)).await.unwrap();
        assert!(saturated.ok > paced.ok, "{} > {}", saturated.ok, paced.ok);
        // Keeping the acknowledgements: one per answer, with the answer's reference.
        let (kept, acks) = run_acknowledged(base.clone(), ok_ref.clone(), 4, Duration::from_millis(200)).await.unwrap();
        assert_eq!(acks.len() as u64, kept.ok);
        assert!(kept.ok > 0 && acks.iter().all(|a| a.request == 0 && a.reference == "R-1"));
        let bad =
            run(&base, None, Arc::new(vec![req("/bad")]), 2, Some(100.0), Duration::from_millis(200)).await.unwrap();
        assert_eq!(bad.ok, 0);
        assert!(bad.errors > 0);
    }
}
