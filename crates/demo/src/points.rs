//! The demo town's points and rewards (积分): the rules, the year's earnings of its residents
//! (replayed from their verified reports by the store, as live verifications would have earned
//! them), volunteering and consultations, a catalogue of rewards at each community's service
//! station, redemptions — most handed over, the newest waiting —, and the grid leaders'
//! commendations of their members.

use gridkeeper_domain::points::{Award, PointRule, PointRules, RedemptionState, RewardData};
use gridkeeper_domain::{Millis, PersonId, RegionCode, RegionLevel, Role, Scope, Urgency, HOUR};
use gridkeeper_store::{NewAudit, RedemptionQuery, Store};

use crate::{DemoTown, LoadError};

const DAY: Millis = 24 * HOUR;

/// The catalogue of each community: name, English name, cost, stock.
const CATALOGUE: [(&str, &str, i64, i64); 4] = [
    ("环保购物袋", "Tote bag", 30, 40),
    ("洗衣液一瓶", "Laundry liquid", 60, 20),
    ("理发券", "Haircut voucher", 80, 15),
    ("乌镇景区门票", "Wuzhen scenic area ticket", 150, 5),
];

fn audit(action: &str, at: Millis, actor: Option<PersonId>) -> NewAudit {
    NewAudit { at, actor, action: action.into(), object: None, detail: serde_json::json!({ "demo": true }) }
}

/// The people holding `role` with a region scope, with that region.
fn holders(town: &DemoTown, role: Role) -> Vec<(PersonId, RegionCode)> {
    town.people
        .iter()
        .enumerate()
        .flat_map(|(i, p)| {
            p.person.grants.iter().filter(move |g| g.role == role).filter_map(move |g| match &g.scope {
                Scope::Region { code } => Some((i as PersonId + 1, code.clone())),
                _ => None,
            })
        })
        .collect()
}

/// Loads the points of the demo town (after its cases and people).
pub async fn load_points(store: &dyn Store, town: &DemoTown, now: Millis) -> Result<(), LoadError> {
    let admin = holders(town, Role::Admin).first().map(|(p, _)| *p);
    let class_rule = town.reference.categories.iter().find(|c| c.parent_id.is_none()).map(|c| PointRule {
        category: Some(c.id),
        urgency: Some(Urgency::Emergency),
        points: 25,
    });
    let rules = PointRules {
        report_verified: 10,
        rules: [
            Some(PointRule { category: None, urgency: Some(Urgency::Urgent), points: 15 }),
            Some(PointRule { category: None, urgency: Some(Urgency::Emergency), points: 20 }),
            class_rule,
        ]
        .into_iter()
        .flatten()
        .collect(),
        daily_cap: 40,
        volunteer_hour: 5,
        consultation: 8,
    };
    store.set_point_rules(&rules, &audit("point_rules", now - 366 * DAY, admin)).await?;
    store.replay_points().await?;

    let members = holders(town, Role::GridMember);
    let leaders = holders(town, Role::GridLeader);
    let communities: Vec<RegionCode> = town
        .reference
        .regions
        .iter()
        .filter(|r| r.code.level() == RegionLevel::Community)
        .map(|r| r.code.clone())
        .collect();
    // The catalogue: every community's service station.
    let mut rewards: Vec<(RegionCode, i64, i64)> = vec![];
    for c in &communities {
        for (name, en, cost, stock) in CATALOGUE {
            let data = RewardData {
                name: name.into(),
                name_en: Some(en.into()),
                description: Some("凭兑换号到社区服务站领取".into()),
                cost,
                stock,
                active: true,
            };
            let r = store
                .insert_reward(c.as_str(), &data, now - 200 * DAY, &audit("reward", now - 200 * DAY, admin))
                .await?;
            rewards.push((c.clone(), r.id, cost));
        }
    }
    // Volunteering and consultations: each grid member records some for the residents who
    // report in their grid, once a month or so.
    let residents: Vec<PersonId> = holders(town, Role::Resident).into_iter().map(|(p, _)| p).collect();
    for (k, resident) in residents.iter().enumerate() {
        let Some((member, grid)) = members.get(k * 7 % members.len().max(1)) else { break };
        for month in 0..(k % 4) {
            let at = now - (300 - month as i64 * 60) * DAY + 10 * HOUR;
            let award = if month % 2 == 0 {
                Award::VolunteerHours { hours: 2 + (k % 3) as u32, note: Some("垃圾分类宣传志愿服务".into()) }
            } else {
                Award::Consultation { note: Some("参加小区议事会".into()) }
            };
            store
                .award_points(*resident, grid.as_str(), &award, at, *member, &audit("points", at, Some(*member)))
                .await?;
        }
    }
    // Redemptions: residents spend some of their points at the community they earn in; the older
    // ones were handed over by a grid member there, the newest wait.
    for (k, resident) in residents.iter().enumerate() {
        let ledger = store.ledger(*resident, None, 1).await?;
        let Some(region) = ledger.first().and_then(|e| e.region.clone()) else { continue };
        let Ok(code) = RegionCode::parse(&region) else { continue };
        let Some(community) = code.at_level(RegionLevel::Community) else { continue };
        let mut balance = store.point_account(*resident).await?.balance;
        for (n, (_, id, cost)) in rewards.iter().filter(|(c, _, _)| *c == community).enumerate() {
            if n > k % 3 || balance < *cost {
                continue;
            }
            let at = now - (k as i64 % 5 + 1) * 9 * DAY + n as i64 * HOUR;
            let r = match store.redeem(*resident, *id, at, &audit("points", at, Some(*resident))).await {
                Ok(r) => r,
                Err(gridkeeper_store::StoreError::Conflicts(_)) => continue,
                Err(e) => return Err(e.into()),
            };
            balance -= cost;
            // The newest few of each resident wait at the desk.
            if (k + n) % 3 != 0 {
                let by = members
                    .iter()
                    .find(|(_, g)| g.as_str().starts_with(community.as_str()))
                    .map(|(p, _)| *p)
                    .unwrap_or(*resident);
                let done = at + 2 * DAY;
                store
                    .finish_redemption(
                        r.id,
                        RedemptionState::HandedOver,
                        done,
                        by,
                        Some("已领取"),
                        &audit("reward_handed_over", done, Some(by)),
                    )
                    .await?;
            }
        }
    }
    let pending = RedemptionQuery { state: Some(RedemptionState::Pending), limit: 1, ..Default::default() };
    if store.redemptions(&pending).await?.is_empty() {
        return Err(LoadError::Refused("no redemption of the demo waits to be handed over".into()));
    }
    // Commendations: each grid leader commends a member of the community.
    for (i, (leader, community)) in leaders.iter().enumerate() {
        let Some((member, grid)) = members.iter().find(|(_, g)| g.as_str().starts_with(community.as_str())) else {
            continue;
        };
        let at = now - (30 + i as i64 * 11) * DAY;
        let text = if i % 2 == 0 {
            "汛期连续巡查排险，认真负责"
        } else {
            "耐心化解邻里纠纷，群众满意"
        };
        store.commend(*member, grid.as_str(), text, at, *leader, &audit("commend", at, Some(*leader))).await?;
    }
    Ok(())
}
