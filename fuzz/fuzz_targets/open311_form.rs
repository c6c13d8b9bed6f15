//! The Open311 form parser: the bytes (after the first) as the body of a POST to the Open311
//! endpoint the first byte picks (`requests.json`, `requests.xml`, `servicerequestupdates.json`,
//! `servicerequestupdates`), sent as `multipart/form-data; boundary=gkfuzz` when the body starts
//! with `--gkfuzz`, else as `application/x-www-form-urlencoded`, through the real router
//! (`open311::form_params`, `Params`, the attribute answers, the report or the status update and
//! its write) over the fixture's SQLite database. The seeds carry the fixture's API key.
//! Property: never a server error (5xx), never a panic.
#![no_main]

use axum::body::Body;
use axum::http::Request;
use gridkeeper_fuzz::{check, fixture, send, BOUNDARY};
use libfuzzer_sys::fuzz_target;

const ENDPOINTS: [&str; 4] = ["requests.json", "requests.xml", "servicerequestupdates.json", "servicerequestupdates"];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let f = fixture();
    let path = format!("/open311/v2/{}", ENDPOINTS[usize::from(selector % 4)]);
    let content_type = if body.starts_with(format!("--{BOUNDARY}").as_bytes()) {
        format!("multipart/form-data; boundary={BOUNDARY}")
    } else {
        "application/x-www-form-urlencoded".to_string()
    };
    let req = Request::post(path.as_str())
        .header("content-type", content_type)
        .body(Body::from(body.to_vec()))
        .expect("a request");
    check(&format!("POST {path}"), f.rt.block_on(send(&f.router, req)));
});
