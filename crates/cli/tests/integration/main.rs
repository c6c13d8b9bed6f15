//! The one integration-test binary: the real server over HTTP on a fresh database per test
//! (SQLite, or PostgreSQL with `GRIDKEEPER_TEST_DATABASE=postgres`; see `common.rs`).

mod accounts;
mod admin;
mod authz;
mod backup;
mod calendars;
mod campaigns;
mod common;
mod crash;
mod exchange;
mod fieldwork;
mod geo;
mod grid_card;
mod hardening;
mod hotline;
mod init;
mod inspections;
mod lists;
mod live;
mod measures;
mod media;
mod notices;
mod open311;
mod openapi;
mod participation;
mod patrols;
mod points;
mod portal;
mod postgres;
mod public_map;
mod refusals;
mod schemas;
mod teams;
mod triage;
mod workflow;
