//! The demo town's organisation: the linkage center's four platforms ("1+4+X") and the national
//! standard's categories (both from `gridkeeper_domain::standard`, as `gridkeeper init` loads
//! them), its departments (government departments, outside parties such as utilities, and
//! community teams), each subclass's default department, and what the simulation needs to
//! report it (frequency, urgency, texts).

use gridkeeper_domain::{standard, Category, Department, DepartmentKind, Platform, Urgency};
use rand::{rngs::StdRng, Rng};

use crate::town::Town;

/// A grid member may handle it on the spot.
pub(crate) const SPOT: u8 = 2;
/// A community team may handle it (resolution inside the community).
pub(crate) const TEAM: u8 = 4;
/// Often urgent.
const URGENT: u8 = 8;
/// Often an emergency.
pub(crate) const EMERGENCY: u8 = 16;

/// Code, name, English name, platform (index in [`standard::PLATFORMS`]), kind.
const DEPARTMENTS: [(&str, &str, &str, usize, DepartmentKind); 22] = {
    use DepartmentKind::{Government as G, OutsideParty as O};
    [
        ("police", "乌镇派出所", "Wuzhen Police Station", 0, G),
        ("fire", "乌镇消防救援站", "Wuzhen Fire and Rescue Station", 0, G),
        ("emergency", "镇应急管理办公室", "Emergency Management Office", 0, G),
        ("civil", "镇民政办", "Civil Affairs Office", 0, G),
        ("justice", "乌镇司法所", "Justice Office (mediation)", 0, G),
        ("enforcement", "综合行政执法乌镇中队", "Law Enforcement Squad (city management)", 1, G),
        ("housing", "镇住房和城乡建设办", "Housing and Construction Office", 1, G),
        ("environment", "生态环境乌镇所", "Ecology and Environment Office", 1, G),
        ("land", "自然资源和规划乌镇所", "Natural Resources and Planning Office", 1, G),
        ("transport", "交通运输乌镇管理所", "Transport Office", 1, G),
        ("water", "镇水利站", "Water Conservancy Station", 1, G),
        ("market", "乌镇市场监督管理所", "Market Supervision Office", 2, G),
        ("health", "镇卫生健康办", "Health Office", 2, G),
        ("tourism", "镇文化旅游体育办", "Culture, Tourism and Sports Office", 2, G),
        ("municipal", "镇市政公用服务中心", "Municipal Works Centre (roads, lights, drains)", 3, G),
        ("landscape", "镇园林绿化管理所", "Landscaping Office", 3, G),
        ("power", "乌镇供电所", "Power Supply Company", 3, O),
        ("gas", "乌镇燃气公司", "Gas Company", 3, O),
        ("watersupply", "乌镇供水公司", "Water Supply Company", 3, O),
        ("sanitation", "乌镇环卫保洁公司", "Sanitation Company", 3, O),
        ("property", "乌镇物业服务公司", "Property Management Company", 3, O),
        ("telecom", "中国电信乌镇营业部", "China Telecom Wuzhen", 3, O),
    ]
};

/// A subclass of the standard as the simulation knows it.
pub(crate) struct SubSpec {
    /// The subclass's code in [`standard::CLASSES`].
    code: &'static str,
    /// Code of its default department in [`DEPARTMENTS`].
    dept: &'static str,
    /// Relative number of reports.
    pub weight: u32,
    /// [`SPOT`], [`TEAM`], [`URGENT`], [`EMERGENCY`].
    pub traits: u8,
    /// What a reporter writes, without the place.
    pub phrases: &'static [&'static str],
}

const fn demo(
    code: &'static str,
    dept: &'static str,
    weight: u32,
    traits: u8,
    phrases: &'static [&'static str],
) -> SubSpec {
    SubSpec { code, dept, weight, traits, phrases }
}

// Subclass rows: code, default department, relative frequency, traits, what reporters write.
#[rustfmt::skip]
const SUBCLASSES: [SubSpec; 87] = [
    // C01 公用设施
    demo("C0101", "watersupply", 5, URGENT, &["自来水井盖破损，行人容易踩空", "自来水井盖不见了，路面露出一个洞"]),
    demo("C0102", "municipal", 6, URGENT, &["污水井盖破裂，车辆经过时会翻动", "污水井盖缺失，有人差点掉下去"]),
    demo("C0103", "municipal", 6, URGENT, &["雨水篦子断了一根，自行车轮容易卡住", "雨水井盖松动，踩上去摇晃"]),
    demo("C0104", "power", 3, URGENT, &["电力井盖破损下陷", "电力井盖错位，露出缝隙"]),
    demo("C0105", "gas", 2, URGENT, &["燃气阀门井盖破损", "燃气井盖被压坏了"]),
    demo("C0106", "telecom", 3, 0, &["通信井盖破损", "通信井盖高出路面，容易绊倒行人"]),
    demo("C0107", "municipal", 20, 0, &["路灯不亮，晚上一片漆黑", "连续几盏路灯都坏了", "路灯白天一直亮着"]),
    demo("C0108", "power", 4, URGENT, &["电线杆倾斜，有倒下的危险", "配电箱门开着，电线裸露"]),
    demo("C0109", "fire", 3, 0, &["消防栓漏水", "消防栓被车撞歪了"]),
    // C02 道路交通
    demo("C0201", "municipal", 12, URGENT, &["路面坑洼不平，下雨积水", "路面有一个大坑，电动车经过很危险"]),
    demo("C0202", "municipal", 8, 0, &["人行道板松动翘起，踩上去溅水", "人行道砖缺了好几块"]),
    demo("C0203", "transport", 4, 0, &["交通指示牌被撞歪了", "限速标志被树枝挡住看不见"]),
    demo("C0204", "police", 3, URGENT, &["红绿灯不亮，路口车辆混乱", "信号灯一直闪黄灯"]),
    demo("C0205", "transport", 4, 0, &["河边护栏断了一截，小孩靠近很危险", "道路隔离护栏倒伏"]),
    demo("C0206", "transport", 2, 0, &["公交站亭顶棚破损漏雨", "公交站牌信息模糊不清"]),
    demo("C0207", "enforcement", 3, 0, &["停车场道闸坏了", "停车位标线模糊"]),
    demo("C0208", "municipal", 3, URGENT, &["石桥栏杆松动", "桥面石板开裂"]),
    // C03 市容环境
    demo("C0301", "sanitation", 8, 0, &["垃圾桶破了，垃圾散落一地", "分类垃圾桶被人搬走了"]),
    demo("C0302", "sanitation", 6, 0, &["公共厕所水箱坏了，异味很重", "公厕洗手池堵塞"]),
    demo("C0303", "sanitation", 5, 0, &["垃圾房门坏了关不上", "垃圾房周边污水横流"]),
    demo("C0304", "enforcement", 4, URGENT, &["店招牌匾松动，大风天有掉落危险", "广告牌支架锈蚀严重"]),
    demo("C0305", "municipal", 4, 0, &["河边景观灯不亮", "景观灯灯罩掉落"]),
    // C04 园林绿化
    demo("C0401", "landscape", 8, URGENT, &["行道树枝干断裂，挂在半空", "行道树倾斜，挡住了行人通道"]),
    demo("C0402", "landscape", 5, 0, &["绿地被踩踏成了小路", "绿化带里杂草丛生"]),
    demo("C0403", "landscape", 1, 0, &["古银杏树有枯枝", "古树保护围栏损坏"]),
    demo("C0404", "landscape", 3, 0, &["花坛砖块破损", "花坛里的花被人挖走了"]),
    demo("C0405", "landscape", 3, 0, &["公园座椅木条断了", "长椅螺丝松动"]),
    // C05 房屋土地
    demo("C0501", "housing", 2, URGENT, &["老房子墙体开裂，砖块往下掉", "空置老宅屋顶塌了一角"]),
    demo("C0502", "housing", 2, 0, &["空置房屋门窗破损，有人进出", "闲置厂房堆满杂物"]),
    demo("C0503", "land", 2, 0, &["农田里有人在倒土填方", "基本农田上搭了彩钢棚"]),
    demo("C0504", "property", 5, TEAM, &["小区单元门禁坏了", "楼道灯不亮"]),
    demo("C0505", "water", 3, URGENT, &["河道驳岸石块松动塌落", "河岸护坡出现裂缝"]),
    // C06 其他设施
    demo("C0601", "tourism", 3, 0, &["健身器材转轴断了", "健身路径器材生锈松动"]),
    demo("C0602", "police", 2, 0, &["路口监控探头被树枝遮挡", "监控杆倾斜"]),
    demo("C0603", "property", 3, 0, &["电动车充电桩无法扫码充电", "充电桩插座烧焦了"]),
    demo("C0604", "fire", 3, 0, &["楼道灭火器过期了", "消防箱里没有水带"]),
    demo("C0605", "transport", 2, 0, &["游船码头台阶破损", "码头系缆桩松动"]),
    // E01 市容环境
    demo("E0101", "sanitation", 60, SPOT | TEAM, &["路边有一堆生活垃圾没人清理", "垃圾桶满了溢出来，苍蝇很多", "有人在路边乱扔垃圾袋"]),
    demo("E0102", "enforcement", 10, 0, &["路边倾倒了一堆建筑垃圾", "装修垃圾堆在绿化带里"]),
    demo("E0103", "sanitation", 20, SPOT, &["路面油污很多，容易打滑", "路面泥浆一大片"]),
    demo("E0104", "water", 15, 0, &["河面上漂浮着很多垃圾", "河里有大片水草和泡沫"]),
    demo("E0105", "enforcement", 10, 0, &["有人在屋顶上违章搭建", "院子外面私自搭了彩钢棚", "沿河私自加建房屋"]),
    demo("E0106", "enforcement", 25, SPOT | TEAM, &["楼道里堆满了杂物，影响通行", "店门口堆放大量纸箱"]),
    demo("E0107", "environment", 5, URGENT, &["有人在空地上焚烧垃圾，烟很大", "田边在烧秸秆和树叶"]),
    demo("E0108", "environment", 6, 0, &["饭店油烟直排，居民家里都是味道", "烧烤店油烟很大"]),
    demo("E0109", "sanitation", 4, SPOT, &["路中间有一只死猫", "河边有死鱼发臭"]),
    demo("E0110", "enforcement", 8, SPOT | TEAM, &["沿街晾晒衣物，影响景区市容", "在绿化树上拉绳晒被子"]),
    // E02 宣传广告
    demo("E0201", "enforcement", 30, SPOT | TEAM, &["墙上贴满了小广告", "电线杆上喷涂了办证电话"]),
    demo("E0202", "enforcement", 6, 0, &["楼顶新装了一块大型广告牌", "沿街店铺私自安装灯箱广告"]),
    demo("E0203", "enforcement", 5, SPOT, &["有人在路口摆摊发传单", "商家占用人行道搞促销"]),
    demo("E0204", "enforcement", 5, SPOT, &["桥上挂了一条广告横幅", "树上拉了好几条横幅"]),
    // E03 施工管理
    demo("E0301", "environment", 8, 0, &["工地晚上十点以后还在施工，噪音很大", "一大早就开始打桩，影响休息"]),
    demo("E0302", "enforcement", 5, URGENT, &["渣土车沿路遗撒泥土", "运输车掉落大量碎石"]),
    demo("E0303", "enforcement", 5, 0, &["施工材料占用了半边道路", "管道施工挖开路面后没有恢复"]),
    demo("E0304", "environment", 5, 0, &["工地没有洒水，扬尘很大", "裸土没有覆盖，一刮风全是灰"]),
    demo("E0305", "housing", 3, 0, &["工地围挡被风吹倒了", "施工围挡破损，行人可以随意进入"]),
    demo("E0306", "housing", 4, TEAM, &["楼上装修拆了承重墙", "装修公司中午还在电钻施工"]),
    // E04 街面秩序
    demo("E0401", "enforcement", 30, SPOT | TEAM, &["有人在桥头摆摊卖水果", "三轮车流动摊贩堵在路口"]),
    demo("E0402", "enforcement", 25, SPOT | TEAM, &["商铺把货架摆到了人行道上", "饭店在门口摆桌子营业"]),
    demo("E0403", "police", 40, 0, &["汽车停在消防通道上", "有车辆长期停在人行道上", "车辆停在路口，挡住了视线"]),
    demo("E0404", "enforcement", 35, SPOT | TEAM, &["共享单车乱停，堵住了盲道", "电动车停满了人行道"]),
    demo("E0405", "transport", 5, 0, &["景区门口有黑车拉客", "有人在车站外招揽乘客"]),
    demo("E0406", "environment", 10, 0, &["酒吧音乐开得很大声，深夜还在放", "商铺用喇叭循环播放广告"]),
    demo("E0407", "tourism", 6, 0, &["有人在景区门口强拉游客去买东西", "无证导游在游客中心门口揽客"]),
    demo("E0408", "market", 5, URGENT, &["小吃店卫生条件很差", "买到的熟食有异味"]),
    demo("E0409", "market", 4, 0, &["商店商品没有明码标价", "店家结账时价格和标价不一致"]),
    // E05 突发事件
    demo("E0501", "watersupply", 3, EMERGENCY, &["地下水管爆了，水一直往外冒", "自来水管破裂，路面大量积水"]),
    demo("E0502", "municipal", 1, EMERGENCY, &["路面突然塌陷出一个坑", "路面下沉开裂，有塌陷危险"]),
    demo("E0503", "municipal", 5, URGENT, &["暴雨后路面积水很深，车辆无法通行", "下水道堵塞，积水退不下去"]),
    demo("E0504", "gas", 1, EMERGENCY, &["闻到很浓的煤气味", "燃气管道有漏气声"]),
    demo("E0505", "fire", 1, EMERGENCY, &["有房子在冒烟，可能着火了", "垃圾堆起火了"]),
    demo("E0506", "landscape", 2, EMERGENCY, &["大风把树刮倒了，压在路上", "树倒在电线上"]),
    demo("E0507", "power", 1, EMERGENCY, &["电线断了掉在地上", "电线被树枝压断垂到路面"]),
    demo("E0508", "water", 1, EMERGENCY, &["河水快漫过堤岸了", "河堤出现渗水"]),
    demo("E0509", "emergency", 1, EMERGENCY, &["路边有几桶不明化学品，气味刺鼻", "有人在小作坊里违规存放液化气罐"]),
    demo("E0510", "power", 3, URGENT, &["整条街都停电了", "小区停电好几个小时了"]),
    // E06 社会治理
    demo("E0601", "justice", 10, TEAM, &["邻居因为漏水的事情吵得很凶", "两家因为宅基地边界发生争执"]),
    demo("E0602", "police", 8, TEAM, &["出租房里住了很多人，电线私拉乱接", "出租屋租客信息没有登记"]),
    demo("E0603", "emergency", 6, 0, &["小作坊里堆满易燃物，没有灭火器", "小餐馆楼上住人，存在安全隐患"]),
    demo("E0604", "fire", 8, SPOT, &["消防通道被杂物堵死了", "小区消防通道上停满了车"]),
    demo("E0605", "fire", 10, SPOT | TEAM, &["有人从楼上拉电线给电动车充电", "电动车推进楼道里充电"]),
    demo("E0606", "police", 3, 0, &["一套房子隔成了十几个小间出租", "群租房人员进出频繁"]),
    demo("E0607", "police", 4, URGENT, &["晚上有陌生人在小区里撬车", "有人在河边聚众赌博"]),
    demo("E0608", "civil", 4, TEAM, &["独居老人生病没人照顾", "困难家庭房屋漏雨需要帮助"]),
    demo("E0609", "housing", 6, TEAM, &["小区物业不作为，垃圾几天没人清运", "物业擅自占用公共绿地做停车位"]),
    demo("E0610", "police", 5, TEAM, &["遛狗不牵绳，吓到小孩", "狗一直叫，影响休息"]),
    demo("E0611", "police", 2, URGENT, &["楼上有人往下扔垃圾", "高楼扔下一个花盆，差点砸到人"]),
];

/// The hazard class's subclasses (filed by inspections, never reported by the simulation) and
/// the departments that answer for them.
const HAZARDS: [(&str, &str); 5] =
    [("H0101", "fire"), ("H0102", "gas"), ("H0103", "emergency"), ("H0104", "housing"), ("H0105", "police")];

/// A subclass and what the simulation needs about it.
pub(crate) struct Subclass {
    /// Index in [`Org::categories`].
    pub category: usize,
    /// Index of its default department in [`Org::departments`].
    pub department: usize,
    pub spec: &'static SubSpec,
}

impl Subclass {
    pub fn has(&self, trait_flag: u8) -> bool {
        self.spec.traits & trait_flag != 0
    }

    /// How urgent a new report of this subclass is.
    pub fn urgency(&self, rng: &mut StdRng) -> Urgency {
        let (urgent, emergency) = if self.has(EMERGENCY) {
            (0.45, 0.40)
        } else if self.has(URGENT) {
            (0.38, 0.07)
        } else {
            (0.07, 0.01)
        };
        let x: f64 = rng.gen();
        if x < emergency {
            Urgency::Emergency
        } else if x < emergency + urgent {
            Urgency::Urgent
        } else {
            Urgency::Routine
        }
    }
}

pub(crate) struct Org {
    pub platforms: Vec<Platform>,
    /// Department ids are 1, 2, 3… in this order.
    pub departments: Vec<Department>,
    /// Category ids are 1, 2, 3… in this order: each class followed by its subclasses.
    pub categories: Vec<Category>,
    pub subclasses: Vec<Subclass>,
    /// Per community: the index of its team in [`Org::departments`], if it has one.
    pub teams: Vec<Option<usize>>,
}

impl Org {
    pub fn build(town: &Town) -> Self {
        let platforms = standard::platforms();
        let mut departments: Vec<Department> = DEPARTMENTS
            .iter()
            .map(|&(code, name, name_en, platform, kind)| Department {
                id: 0,
                code: code.into(),
                name: name.into(),
                name_en: name_en.into(),
                platform_id: platform as i64 + 1,
                kind,
                region: None,
            })
            .collect();
        let mut teams = Vec::new();
        for community in &town.communities {
            teams.push(community.spec.team.then_some(departments.len()));
            if community.spec.team {
                departments.push(Department {
                    id: 0,
                    code: format!("team-{}", community.region.code),
                    name: format!("{}网格服务团队", community.spec.name),
                    name_en: format!("{} grid service team", community.spec.name_en),
                    platform_id: 1,
                    kind: DepartmentKind::CommunityTeam,
                    region: Some(community.region.code.clone()),
                });
            }
        }
        for (d, id) in departments.iter_mut().zip(1..) {
            d.id = id;
        }

        let department = |code: &str| {
            DEPARTMENTS.iter().position(|d| d.0 == code).expect("every subclass names a department of the table")
        };
        // The standard's categories in its order (ids 1, 2, 3…), each subclass with the demo's
        // default department.
        let mut categories = standard::categories();
        let mut subclasses = Vec::new();
        for (i, c) in categories.iter_mut().enumerate() {
            if let Some(spec) = SUBCLASSES.iter().find(|s| s.code == c.code) {
                let lead = department(spec.dept);
                c.default_department = Some(departments[lead].id);
                subclasses.push(Subclass { category: i, department: lead, spec });
            } else if let Some(&(_, dept)) = HAZARDS.iter().find(|h| h.0 == c.code) {
                c.default_department = Some(departments[department(dept)].id);
            }
        }
        Self { platforms, departments, categories, subclasses, teams }
    }

    /// The subclass of a category id.
    pub fn subclass_of(&self, category: i64) -> Option<usize> {
        self.subclasses.iter().position(|s| self.categories[s.category].id == category)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridkeeper_domain::CategoryKind;

    #[test]
    fn categories_are_valid_two_level_and_realistic() {
        let town = Town::build(1);
        let org = Org::build(&town);
        assert!((60..=90).contains(&org.subclasses.len()), "{}", org.subclasses.len());
        let mut codes = std::collections::HashSet::new();
        for (i, c) in org.categories.iter().enumerate() {
            assert_eq!(c.id, i as i64 + 1);
            assert!(codes.insert(c.code.clone()), "code {} is unique", c.code);
            c.deadlines.validate().expect("deadlines are valid");
            assert!((30..=200).contains(&c.duplicate_radius_m), "{}", c.code);
            assert!((24..=168).contains(&c.duplicate_window_hours), "{}", c.code);
            assert!(!c.name.is_empty() && !c.name_en.is_empty());
            match c.parent_id {
                None => {
                    assert_eq!(c.code.len(), 3);
                    assert!(c.default_department.is_none());
                }
                Some(parent) => {
                    let parent = &org.categories[parent as usize - 1];
                    assert!(parent.is_class(), "{} has a class as parent", c.code);
                    assert_eq!(parent.kind, c.kind, "{} has the kind of its class", c.code);
                    assert!(c.code.starts_with(&parent.code) && c.code.len() == 5);
                    let dept = c.default_department.expect("subclass has a department");
                    assert!(org.departments.iter().any(|d| d.id == dept));
                }
            }
            let prefix = match c.kind {
                CategoryKind::Component => 'C',
                CategoryKind::Event => 'E',
                CategoryKind::Hazard => 'H',
            };
            assert!(c.code.starts_with(prefix));
        }
        let manhole = org.categories.iter().find(|c| c.code == "C0102").expect("sewage manhole cover");
        assert_eq!(
            (manhole.deadlines.routine_hours, manhole.deadlines.urgent_hours, manhole.deadlines.emergency_hours),
            (24, 4, 2)
        );
        assert!(org.categories.iter().any(|c| !c.public), "sensitive subclasses are not public");
        for s in &org.subclasses {
            assert!(!s.spec.phrases.is_empty() && s.spec.weight > 0);
        }
        // Every subclass of the standard is reported by the simulation, or filed by inspections.
        let reported = org.categories.iter().filter(|c| !c.is_class() && c.kind != CategoryKind::Hazard).count();
        assert_eq!(org.subclasses.len(), reported);
    }

    #[test]
    fn departments_platforms_and_teams() {
        let town = Town::build(1);
        let org = Org::build(&town);
        assert_eq!(org.platforms.len(), 4);
        assert!((24..=30).contains(&org.departments.len()));
        for (i, d) in org.departments.iter().enumerate() {
            assert_eq!(d.id, i as i64 + 1);
            assert!((1..=4).contains(&d.platform_id));
            assert_eq!(d.kind == DepartmentKind::CommunityTeam, d.region.is_some());
        }
        for (c, team) in org.teams.iter().enumerate() {
            if let Some(t) = team {
                assert_eq!(org.departments[*t].region.as_ref(), Some(&town.communities[c].region.code));
            }
        }
        assert!(org.departments.iter().any(|d| d.kind == DepartmentKind::OutsideParty));
    }
}
