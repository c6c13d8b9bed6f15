//! The one integration-test binary: the real server over HTTP on a fresh SQLite database per test.

mod accounts;
mod admin;
mod authz;
mod calendars;
mod common;
mod crash;
mod exchange;
mod geo;
mod lists;
mod live;
mod measures;
mod media;
mod open311;
mod openapi;
mod public_map;
mod refusals;
mod workflow;
