//! Multipart reports: the bytes as the body of `POST /api/v1/cases` sent as
//! `multipart/form-data; boundary=gkfuzz` by a signed-in resident, through the real router (the
//! middleware, `reporting::create_case`, `report_from_multipart`, the photos through
//! `App::store_photo` and the image pipeline, the report written by the case writer) over the
//! fixture's SQLite database. Property: never a server error (5xx), never a panic.
#![no_main]

use axum::body::Body;
use axum::http::Request;
use gridkeeper_fuzz::{check, fixture, send, BOUNDARY, RESIDENT_TOKEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let req = Request::post("/api/v1/cases")
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .header("authorization", format!("Bearer {RESIDENT_TOKEN}"))
        .body(Body::from(data.to_vec()))
        .expect("a request");
    check("POST /api/v1/cases (multipart)", f.rt.block_on(send(&f.router, req)));
});
