//! The demo town's residents as participants: a year of notices and articles from the town and
//! its communities (a few pinned, one scheduled, one withdrawn), read in the residents' grids; two
//! consultations (one answered, one open); and proposals at every stage of their life.

use std::collections::BTreeMap;

use gridkeeper_domain::participation::{
    text_of, ArticleKind, Consent, ConsultationKind, LeadKind, LeadStatus, ProposalAnswer, Stance,
};
use gridkeeper_domain::{Millis, PersonId, RegionCode, HOUR};
use gridkeeper_store::{FollowTarget, NewArticle, NewConsultation, NewNative, NewProposal, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::load::LoadError;
use crate::people::Roster;
use crate::town::Town;

const DAY: Millis = 24 * HOUR;
/// The supporters a proposal needs, and the days to answer it: the server's defaults.
pub const THRESHOLD: i64 = 20;
pub const ANSWER_DAYS: i64 = 15;

/// What the town published and what its residents said, in time order.
#[derive(Debug, Clone, Default)]
pub struct DemoParticipation {
    pub articles: Vec<DemoArticle>,
    pub consultations: Vec<DemoConsultation>,
    pub proposals: Vec<DemoProposal>,
    pub natives: Vec<DemoNative>,
    /// Residents following their home grid (told of new problems and urgent notices there), since.
    pub follows: Vec<(PersonId, RegionCode, Millis)>,
}

#[derive(Debug, Clone)]
pub struct DemoNative {
    pub entry: NewNative,
    pub by: PersonId,
    pub at: Millis,
    pub leads: Vec<DemoLead>,
}

/// A lead's kind, title, body, and its follow-up steps (note, status, days later).
pub type DemoLead = (LeadKind, &'static str, &'static str, Vec<(&'static str, LeadStatus, i64)>);

#[derive(Debug, Clone)]
pub struct DemoArticle {
    pub article: NewArticle,
    pub by: PersonId,
    pub at: Millis,
    /// Readers: their grid and, when signed in, who.
    pub reads: Vec<(RegionCode, Option<PersonId>)>,
    pub withdrawn: Option<(&'static str, Millis)>,
}

#[derive(Debug, Clone)]
pub struct DemoConsultation {
    pub consultation: NewConsultation,
    pub by: PersonId,
    pub votes: Vec<(PersonId, Stance, RegionCode, Millis)>,
    pub comments: Vec<(PersonId, RegionCode, &'static str, Millis)>,
    /// The comment (by its text) hidden, and why.
    pub hidden: Option<(&'static str, &'static str)>,
    pub answer: Option<(&'static str, &'static str, Millis)>,
}

#[derive(Debug, Clone)]
pub struct DemoProposal {
    pub proposal: NewProposal,
    pub by: PersonId,
    pub at: Millis,
    pub supporters: Vec<(PersonId, Millis)>,
    pub answer: Option<(ProposalAnswer, PersonId, Millis)>,
    pub withdrawn: Option<Millis>,
}

/// Town notices (published to the street), in the order they come round.
const TOWN: [(ArticleKind, &str, &str); 10] = [
    (ArticleKind::Notice, "乌镇镇计划停水通知", "<p>因供水管网改造，<b>本周四 8:00–17:00</b> 西栅、环河片区停水，请居民提前储水。</p><p>咨询电话：0573-88731234</p>"),
    (ArticleKind::Policy, "城乡居民医保缴费政策解读", "<h3>缴费时间</h3><p>每年 9 月至 12 月集中缴费。</p><h3>缴费方式</h3><ul><li>“浙里办”APP</li><li>社区服务中心窗口</li></ul>"),
    (ArticleKind::LawCase, "以案说法：高空抛物要担责", "<p>某小区住户从楼上扔下花盆砸坏车辆，法院判决其赔偿损失并承担相应责任。</p><p>《民法典》第一千二百五十四条：禁止从建筑物中抛掷物品。</p>"),
    (ArticleKind::Health, "秋冬季流感预防小贴士", "<ol><li>勤洗手、常通风</li><li>老人儿童接种流感疫苗</li><li>出现发热及时就医</li></ol>"),
    (ArticleKind::ModelPerson, "身边好人：二十年义务巡河的老党员", "<p>环河社区沈阿伯每天清晨沿河巡查，二十年来劝阻乱倒垃圾上千次。</p>"),
    (ArticleKind::Event, "乌镇镇“邻里节”活动报名", "<p>本月最后一个周六在西栅广场举办，设百家宴、亲子游园、义诊等活动，欢迎报名。</p>"),
    (ArticleKind::Livelihood, "冬季燃气安全检查上门服务", "<p>燃气公司工作人员将持证上门检查，请认准工作证，检查免费。</p>"),
    (ArticleKind::Notice, "关于开展“清洁家园”环境整治的通知", "<p>即日起开展为期一个月的环境整治，重点清理楼道堆物、乱拉电线。</p>"),
    (ArticleKind::Policy, "垃圾分类新规要点", "<p>四分类：可回收物、有害垃圾、厨余垃圾、其他垃圾。定时定点投放，违者依法处罚。</p>"),
    (ArticleKind::Health, "家庭医生签约服务上门", "<p>65 岁以上老人可免费签约家庭医生，享受每年一次健康体检。</p>"),
];

/// Community notices (published to each community).
const COMMUNITY: [(ArticleKind, &str, &str); 5] = [
    (ArticleKind::Notice, "社区楼道堆物清理通知", "<p>请各位居民于本周日前清理楼道杂物，周一起网格员逐楼检查。</p>"),
    (ArticleKind::Event, "社区老年食堂开餐啦", "<p>社区老年食堂每日 11:00 开餐，70 岁以上老人凭卡就餐享补贴。</p>"),
    (ArticleKind::Livelihood, "社区便民服务日", "<p>每月 15 日理发、磨刀、家电维修进社区，免费或低价服务。</p>"),
    (ArticleKind::Health, "社区义诊：测血压、血糖", "<p>周六上午 9 点社区服务中心，社区卫生院医生坐诊。</p>"),
    (
        ArticleKind::Notice,
        "网格员联系方式公示",
        "<p>每个网格都有专职网格员，遇到问题可随时联系或通过“网格管家”反映。</p>",
    ),
];

const COMMENTS: [&str; 8] = [
    "同意，楼道里确实不能停电动车，太危险了。",
    "建议给老年人留一个底楼的充电位置，方便他们。",
    "第五条罚款的说法不太合适，建议改成劝导为主。",
    "支持修订，希望执行的时候一视同仁。",
    "我家电话 13912345678，有事可以找我商量（此条含个人信息）",
    "充电桩能不能装在车棚里，按次收费也可以接受。",
    "希望能多开几次居民座谈会听听意见。",
    "有些条款太长了，老人看不懂，能不能出一个简明版本。",
];

pub(crate) fn build(seed: u64, town: &Town, roster: &Roster, now: Millis) -> DemoParticipation {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x7061_7274_6963_6970);
    let admin: PersonId = 1;
    // Each resident lives in the first grid of their community.
    let home = |c: usize| -> RegionCode {
        town.grids.iter().find(|g| g.community == c).map(|g| g.region.code.clone()).expect("every community has grids")
    };
    let residents: Vec<(PersonId, RegionCode)> = roster
        .residents
        .iter()
        .enumerate()
        .flat_map(|(c, people)| people.iter().map(move |p| (*p, c)))
        .map(|(p, c)| (p, home(c)))
        .collect();
    let article =
        |region: &RegionCode, (kind, title, body): (ArticleKind, &str, &str), at: Millis, pinned: bool| NewArticle {
            region: region.clone(),
            kind,
            title: title.to_string(),
            summary: text_of(body).chars().take(80).collect(),
            body: body.to_string(),
            cover: None,
            publish_at: at,
            expires_at: None,
            pinned,
            urgent: false,
        };
    let mut out = DemoParticipation::default();
    let reads = |rng: &mut StdRng, region: &RegionCode| -> Vec<(RegionCode, Option<PersonId>)> {
        let mut r = Vec::new();
        for (p, grid) in &residents {
            if region.contains(grid) && rng.gen_bool(0.4) {
                r.push((grid.clone(), Some(*p)));
            }
        }
        for _ in 0..rng.gen_range(0..6) {
            let g = &town.grids[rng.gen_range(0..town.grids.len())].region.code;
            if region.contains(g) {
                r.push((g.clone(), None));
            }
        }
        r
    };

    // A town notice every twelve days, a community's every month or so, over the year.
    let street = &town.street.code;
    for k in 0..30i64 {
        let at = now - (360 - k * 12) * DAY + 9 * HOUR;
        let a = article(street, TOWN[k as usize % TOWN.len()], at, false);
        out.articles.push(DemoArticle { reads: reads(&mut rng, street), article: a, by: admin, at, withdrawn: None });
    }
    for (c, community) in town.communities.iter().enumerate() {
        for k in 0..4i64 {
            let at = now - (300 - k * 90 - c as i64 * 3) * DAY + 10 * HOUR;
            let pinned = k == 3 && c % 2 == 0;
            let a = article(&community.region.code, COMMUNITY[(k as usize + c) % COMMUNITY.len()], at, pinned);
            let region = community.region.code.clone();
            out.articles.push(DemoArticle {
                reads: reads(&mut rng, &region),
                article: a,
                by: roster.leaders[c],
                at,
                withdrawn: None,
            });
        }
    }
    // An urgent notice this week, one scheduled for tomorrow, one withdrawn.
    let mut urgent = article(
        street,
        (
            ArticleKind::Notice,
            "寒潮蓝色预警：注意防寒防冻",
            "<p>受强冷空气影响，未来三天最低气温零下 3℃，请做好水管防冻，关心独居老人。</p>",
        ),
        now - 2 * DAY,
        true,
    );
    urgent.urgent = true;
    urgent.expires_at = Some(now + 5 * DAY);
    out.articles.push(DemoArticle {
        reads: reads(&mut rng, street),
        article: urgent,
        by: admin,
        at: now - 2 * DAY,
        withdrawn: None,
    });
    let scheduled = article(
        street,
        (ArticleKind::Event, "元旦迎新长跑报名开始", "<p>1 月 1 日上午 8 点，乌镇景区东门集合。</p>"),
        now + DAY,
        false,
    );
    out.articles.push(DemoArticle { reads: vec![], article: scheduled, by: admin, at: now - HOUR, withdrawn: None });
    let wrong = article(street, TOWN[0], now - 20 * DAY, false);
    out.articles.push(DemoArticle {
        reads: vec![],
        article: wrong,
        by: admin,
        at: now - 20 * DAY,
        withdrawn: Some(("停水时间有误，已重新发布", now - 20 * DAY + HOUR)),
    });
    out.articles.sort_by_key(|a| a.at);
    // Most residents chose "follow my grid" on their community page some time in the year: the
    // urgent notice above reaches them by SMS and in their messages when the demo serves.
    // (A generator of their own: the draws of everything else stay as they were.)
    let mut follows_rng = StdRng::seed_from_u64(seed ^ 0x666f_6c6c_6f77);
    for (p, grid) in &residents {
        if follows_rng.gen_bool(0.7) {
            out.follows.push((*p, grid.clone(), now - follows_rng.gen_range(3..300) * DAY));
        }
    }

    // Consultations: the first community's civil agreement (answered), and the town's charging plan (open).
    let first = &town.communities[0].region.code;
    let voters = |rng: &mut StdRng, region: &RegionCode, from: Millis, to: Millis, p_support: f64| {
        residents
            .iter()
            .filter(|(_, g)| region.contains(g))
            .filter_map(|(p, g)| {
                if !rng.gen_bool(0.8) {
                    return None;
                }
                let stance = if rng.gen_bool(p_support) { Stance::Support } else { Stance::Oppose };
                Some((*p, stance, g.clone(), rng.gen_range(from..to)))
            })
            .collect::<Vec<_>>()
    };
    let commenters = |rng: &mut StdRng, region: &RegionCode, texts: &[&'static str], from: Millis, to: Millis| {
        let near: Vec<&(PersonId, RegionCode)> = residents.iter().filter(|(_, g)| region.contains(g)).collect();
        let mut c: Vec<_> = texts
            .iter()
            .map(|t| {
                let (p, g) = near[rng.gen_range(0..near.len())];
                (*p, g.clone(), *t, rng.gen_range(from..to))
            })
            .collect();
        c.sort_by_key(|x| x.3);
        c
    };
    let opened = now - 60 * DAY;
    let closed = now - 40 * DAY;
    out.consultations.push(DemoConsultation {
        consultation: NewConsultation {
            region: first.clone(),
            kind: ConsultationKind::CivilAgreement,
            title: "西栅社区居民公约（修订稿）征求意见".into(),
            body: "<h3>第三条</h3><p>电动自行车不得进入楼道、电梯停放或充电。</p><h3>第五条</h3><p>楼道、消防通道不得堆放杂物，违者由网格员劝导整改。</p><h3>第八条</h3><p>饲养犬只须办证、拴绳，及时清理粪便。</p>".into(),
            opens_at: opened,
            closes_at: closed,
        },
        by: roster.leaders[0],
        votes: voters(&mut rng, first, opened, closed, 0.8),
        comments: commenters(&mut rng, first, &COMMENTS[..5], opened, closed),
        hidden: Some((COMMENTS[4], "含个人电话号码")),
        answer: Some((
            "共收到表态与意见若干，多数居民赞成修订；集中意见：老年人充电不便、处罚表述过严、希望出简明版。",
            "公约修订稿已按意见修改：第五条改为“劝导整改”；社区将在车棚增设充电桩并印发简明版公约。修订后的公约经居民代表会议表决通过，自下月起施行。",
            closed + 5 * DAY,
        )),
    });
    let opened = now - 5 * DAY;
    out.consultations.push(DemoConsultation {
        consultation: NewConsultation {
            region: street.clone(),
            kind: ConsultationKind::CommunityPlan,
            title: "乌镇镇电动自行车集中充电设施布点方案".into(),
            body: "<p>为消除电动自行车入户充电隐患，镇里拟在 10 个社区（村）新建集中充电点 36 处。</p><ul><li>每个小区至少 1 处</li><li>按次或包月收费</li><li>配备烟感和自动灭火装置</li></ul><p>请对布点和收费方式提出意见。</p>".into(),
            opens_at: opened,
            closes_at: now + 10 * DAY,
        },
        by: admin,
        votes: voters(&mut rng, street, opened, now - HOUR, 0.7),
        comments: commenters(&mut rng, street, &[COMMENTS[1], COMMENTS[5], COMMENTS[6], COMMENTS[7]], opened, now - HOUR),
        hidden: None,
        answer: None,
    });

    // Proposals at every stage.
    let everyone: Vec<PersonId> = residents.iter().map(|(p, _)| *p).collect();
    let mut proposal = |c: usize, title: &str, body: &str, at: Millis, n: usize| {
        let by = roster.residents[c][0];
        let mut supporters: Vec<PersonId> = everyone.iter().copied().filter(|p| *p != by).collect();
        // A shuffled few.
        for i in (1..supporters.len()).rev() {
            supporters.swap(i, rng.gen_range(0..=i));
        }
        supporters.truncate(n);
        let supporters = supporters.into_iter().enumerate().map(|(i, p)| (p, at + (i as i64 + 1) * 3 * HOUR)).collect();
        DemoProposal {
            proposal: NewProposal {
                region: town.communities[c].region.code.clone(),
                title: title.into(),
                body: body.into(),
                threshold: THRESHOLD,
                answer_within: ANSWER_DAYS * DAY,
            },
            by,
            at,
            supporters,
            answer: None,
            withdrawn: None,
        }
    };
    let leader = |c: usize| roster.leaders[c];
    let mut accepted = proposal(
        0,
        "在西栅社区车棚增设电动车充电桩",
        "楼道里充电太危险，建议在小区车棚装充电桩，按次收费。",
        now - 90 * DAY,
        24,
    );
    accepted.answer = Some((
        ProposalAnswer::Accept {
            answer: "采纳。已纳入全镇集中充电设施布点方案，西栅社区首批建设 4 处，预计下月完工。".into(),
            case: None,
        },
        leader(0),
        now - 70 * DAY,
    ));
    let mut declined = proposal(1, "把环河社区广场改成停车场", "停车难，建议把广场改成停车位。", now - 80 * DAY, 21);
    declined.answer = Some((
        ProposalAnswer::Decline {
            reason:
                "广场是社区唯一的公共活动场地，且属于规划绿地，不能改为停车场。已协调附近单位夜间开放停车位 60 个。"
                    .into(),
        },
        leader(1),
        now - 60 * DAY,
    ));
    let agenda =
        proposal(0, "西栅大街增设无障碍坡道", "老人坐轮椅出门不方便，建议在主要路口增设坡道。", now - 12 * DAY, 22);
    let overdue = proposal(2, "小区增设夜间路灯", "小区北门到河边一段路太黑，晚上散步不安全。", now - 40 * DAY, 20);
    let open = proposal(
        0,
        "社区开设老年智能手机课堂",
        "很多老人不会用手机挂号、缴费，建议社区每周开一次课。",
        now - 6 * DAY,
        9,
    );
    let mut withdrawn = proposal(3, "增加公交班次", "早高峰公交太挤。", now - 30 * DAY, 2);
    withdrawn.withdrawn = Some(now - 25 * DAY);
    out.proposals = vec![accepted, declined, overdue, withdrawn, agenda, open];

    // Twenty notable natives, each field shown as they allowed.
    for (i, (name, expertise, city, organisation)) in NATIVES.iter().enumerate() {
        let c = i % town.communities.len();
        let pick = |k: usize| [Consent::Public, Consent::Staff, Consent::Private][(i + k) % 3];
        let consent: BTreeMap<String, Consent> = [
            ("name", if i % 7 == 6 { Consent::Staff } else { Consent::Public }),
            ("expertise", Consent::Public),
            ("city", pick(0)),
            ("organisation", pick(1)),
            ("phone", if i % 4 == 0 { Consent::Staff } else { Consent::Private }),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let leads = match i % 5 {
            0 => vec![(
                LeadKind::Investment,
                "回乡投资民宿项目",
                "有意在家乡投资改造闲置农房，发展精品民宿。",
                vec![
                    ("镇招商办已对接，提供闲置农房清单", LeadStatus::Following, 3),
                    ("完成选址，签订意向协议", LeadStatus::Done, 40),
                ],
            )],
            1 => vec![(
                LeadKind::Donation,
                "捐资设立助学金",
                "每年捐资 5 万元资助家乡困难学生。",
                vec![("教育办对接，首批资助 10 名学生", LeadStatus::Done, 20)],
            )],
            2 => vec![(
                LeadKind::Proposal,
                "建议发展研学旅游",
                "利用古镇资源开发中小学研学线路。",
                vec![("已转文旅办研究", LeadStatus::Following, 7)],
            )],
            _ => vec![],
        };
        out.natives.push(DemoNative {
            entry: NewNative {
                name: name.to_string(),
                home_region: town.communities[c].region.code.clone(),
                expertise: expertise.to_string(),
                city: city.to_string(),
                organisation: organisation.to_string(),
                phone: Some(format!("1385573{:04}", 1000 + i)),
                consent,
            },
            by: roster.leaders[c],
            at: now - (200 - i as i64 * 5) * DAY,
            leads,
        });
    }
    out
}

/// Names, expertise, city now and organisation of the demo's notable natives.
const NATIVES: [(&str, &str, &str, &str); 20] = [
    ("沈家华", "企业经营", "上海", "华嘉纺织集团"),
    ("朱文澜", "教育", "杭州", "浙江大学"),
    ("徐秋明", "医疗", "杭州", "浙江省人民医院"),
    ("钱伟东", "建筑设计", "上海", "同济设计院"),
    ("陆美芬", "文化旅游", "苏州", "苏州文旅集团"),
    ("吴建国", "法律", "北京", "金杜律师事务所"),
    ("张晓燕", "金融", "深圳", "招商银行"),
    ("姚志强", "农业科技", "南京", "南京农业大学"),
    ("费立新", "电子商务", "杭州", "阿里巴巴"),
    ("严国平", "新能源", "合肥", "阳光电源"),
    ("孙雅琴", "艺术", "上海", "上海戏剧学院"),
    ("蔡永康", "餐饮", "嘉兴", "乌镇人家餐饮"),
    ("褚卫民", "物流", "宁波", "宁波港集团"),
    ("王建华", "媒体", "北京", "新华社"),
    ("潘丽君", "公益", "上海", "上海慈善基金会"),
    ("冯志远", "软件", "深圳", "腾讯"),
    ("戚明辉", "制造", "绍兴", "精工科技"),
    ("汤晓峰", "外贸", "义乌", "义乌商城集团"),
    ("金海燕", "中医", "杭州", "浙江省中医院"),
    ("邹德明", "退休干部", "桐乡", ""),
];

/// Writes the participation through the store's API, in time order within each kind.
pub async fn load_participation(store: &dyn Store, p: &DemoParticipation) -> Result<(), LoadError> {
    for (who, grid, at) in &p.follows {
        store.follow(*who, &FollowTarget::Region(grid.clone()), *at).await?;
    }
    for a in &p.articles {
        let made = store.create_article(&a.article, a.by, a.at).await?;
        for (grid, who) in &a.reads {
            store.record_read(made.id, Some(grid), *who, a.at + HOUR).await?;
        }
        if let Some((reason, at)) = a.withdrawn {
            store.withdraw_article(made.id, reason, a.by, at).await?;
        }
    }
    for c in &p.consultations {
        let made = store.create_consultation(&c.consultation, c.by, c.consultation.opens_at - DAY).await?;
        for (who, stance, grid, at) in &c.votes {
            store.vote(made.id, *who, *stance, grid, *at).await?;
        }
        let mut ids = Vec::new();
        for (who, grid, text, at) in &c.comments {
            ids.push(store.comment(made.id, *who, grid, text, *at).await?.id);
        }
        if let Some((text, reason)) = c.hidden {
            if let Some(i) = c.comments.iter().position(|m| m.2 == text) {
                store.hide_comment(made.id, ids[i], reason, c.by, c.comments[i].3 + HOUR).await?;
            }
        }
        if let Some((summary, answer, at)) = c.answer {
            store.answer_consultation(made.id, summary, answer, c.by, at).await?;
        }
    }
    for n in &p.natives {
        let made = store.create_native(&n.entry, n.by, n.at).await?;
        for (kind, title, body, steps) in &n.leads {
            let lead = store.add_lead(made.id, *kind, title, body, n.by, n.at + DAY).await?;
            for (note, status, days) in steps {
                store.follow_up(lead.id, note, *status, n.by, n.at + days * DAY).await?;
            }
        }
    }
    for d in &p.proposals {
        let made = store.create_proposal(&d.proposal, d.by, d.at).await?;
        for (who, at) in &d.supporters {
            store.support(made.id, *who, d.proposal.answer_within, *at).await?;
        }
        if let Some((answer, by, at)) = &d.answer {
            store.answer_proposal(made.id, answer, *by, *at).await?;
        }
        if let Some(at) = d.withdrawn {
            store.withdraw_proposal(made.id, at).await?;
        }
    }
    Ok(())
}
