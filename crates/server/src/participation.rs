//! What the endpoints of residents' participation share (`articles.rs`, `consultations.rs`,
//! `proposals.rs`): the `[server.participation]` settings, the HTML sanitiser, and the checks of
//! the grid a resident names and the region staff publish to.

use gridkeeper_domain::{may, Actor, Permission, RegionCode, RegionLevel};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::{App, StartupError};

/// The `[server.participation]` section of the configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ParticipationSettings {
    /// Supporters a proposal needs to go on its community's agenda (kept with each proposal as
    /// it was when the proposal was made).
    pub proposal_threshold: i64,
    /// Days staff have to answer a proposal once it is on the agenda.
    pub proposal_answer_days: i64,
}

impl Default for ParticipationSettings {
    fn default() -> Self {
        Self { proposal_threshold: 20, proposal_answer_days: 15 }
    }
}

impl ParticipationSettings {
    pub fn validate(&self) -> Result<(), StartupError> {
        if !(1..=100_000).contains(&self.proposal_threshold) {
            return Err("server.participation.proposal_threshold: between 1 and 100000 supporters".to_string().into());
        }
        if !(1..=365).contains(&self.proposal_answer_days) {
            return Err("server.participation.proposal_answer_days: between 1 and 365 days".to_string().into());
        }
        Ok(())
    }
}

/// HTML as staff write it (pasted from a word processor, typed in the editor), reduced to an
/// allow-list: no script, style, event handler, `javascript:` URL or frame survives; links open
/// apart and carry `rel="noopener noreferrer nofollow"`.
pub fn sanitize_html(html: &str) -> String {
    ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto", "tel"].into())
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(html)
        .to_string()
}

/// A grid a resident names (their own, the feed they read): 422 when the code is not a grid's,
/// 404 when no such grid exists.
pub fn grid_named(app: &App, field: &str, code: &str) -> ApiResult<RegionCode> {
    let grid = RegionCode::parse(code).map_err(|e| ApiError::field(field, e.reason))?;
    if grid.level() != RegionLevel::Grid {
        return Err(ApiError::field(field, "must be the code of a grid (15 digits)"));
    }
    if !app.reference().regions.contains_key(&grid) {
        return Err(ApiError::unknown(field, format!("no grid {grid}")));
    }
    Ok(grid)
}

/// A region staff publish to or read the participation of: it exists (404) and they may run
/// participation there (403).
pub fn managed_region(app: &App, actor: &Actor, field: &str, code: &str) -> ApiResult<RegionCode> {
    let region = RegionCode::parse(code).map_err(|e| ApiError::field(field, e.reason))?;
    if !app.reference().regions.contains_key(&region) {
        return Err(ApiError::unknown(field, format!("no region {region}")));
    }
    may(actor, Permission::ManageParticipation { region: &region }).map_err(|r| ApiError::refusal(r, None))?;
    Ok(region)
}

/// Whether the actor runs participation in `region` (sees what is not public yet, moderates).
pub fn manages(actor: &Actor, region: &RegionCode) -> bool {
    may(actor, Permission::ManageParticipation { region }).is_ok()
}

/// A region's name in the language of the reference data (Chinese).
pub fn region_name(app: &App, code: &RegionCode) -> String {
    app.reference().regions.get(code).map(|r| r.name.clone()).unwrap_or_else(|| code.to_string())
}

/// `offset` and `limit` of a page: at most 100 items, at most 10,000 deep.
pub fn page(offset: Option<u32>, limit: Option<u32>) -> ApiResult<(u32, u32)> {
    let limit = limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::field("limit", "must lie between 1 and 100"));
    }
    let offset = offset.unwrap_or(0);
    if offset > 10_000 {
        return Err(ApiError::field("offset", "must be at most 10000"));
    }
    Ok((offset, limit))
}

/// Asks a page one longer than `limit` and says whether there was more.
pub fn more<T>(mut items: Vec<T>, limit: u32) -> (Vec<T>, bool) {
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    (items, more)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_handlers_and_javascript_urls_do_not_survive() {
        let dirty = r#"<p onclick="steal()">停水<script>alert(1)</script><a href="javascript:alert(2)">x</a>
            <img src="x" onerror="alert(3)"><iframe src="https://evil"></iframe><style>p{}</style>
            <a href="https://example.gov.cn/a">通知</a><b>8点</b></p>"#;
        let clean = sanitize_html(dirty);
        for bad in ["script", "onclick", "onerror", "javascript:", "iframe", "<style", "alert"] {
            assert!(!clean.contains(bad), "{bad} survived in {clean}");
        }
        assert!(clean.contains(r#"<a href="https://example.gov.cn/a" rel="noopener noreferrer nofollow">通知</a>"#));
        assert!(clean.contains("<b>8点</b>"));
    }
}
