//! The demo town's organisation: the linkage center's four platforms ("1+4+X"), its departments
//! (government departments, outside parties such as utilities, and community teams) and the
//! two-level category list of the national standard (component and event classes, plus a local
//! social-governance class), each subclass with its default department, deadlines per urgency and
//! duplicate window, and what the simulation needs to report it (frequency, urgency, texts).

use gridkeeper_domain::{Category, CategoryKind, Deadlines, Department, DepartmentKind, Platform, Urgency};
use rand::{rngs::StdRng, Rng};

use crate::town::Town;

/// Cases of the subclass are not shown to the public (disputes, public security, hardship).
pub(crate) const PRIVATE: u8 = 1;
/// A grid member may handle it on the spot.
pub(crate) const SPOT: u8 = 2;
/// A community team may handle it (resolution inside the community).
pub(crate) const TEAM: u8 = 4;
/// Often urgent.
const URGENT: u8 = 8;
/// Often an emergency.
pub(crate) const EMERGENCY: u8 = 16;

const PLATFORMS: [(&str, &str, &str); 4] = [
    ("governance", "综合治理", "Comprehensive governance"),
    ("enforcement", "综合执法", "Administrative law enforcement"),
    ("market", "市场监管", "Market supervision"),
    ("services", "便民服务", "Convenience services"),
];

/// Code, name, English name, platform (index in [`PLATFORMS`]), kind.
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

/// A subclass as the simulation knows it.
pub(crate) struct SubSpec {
    pub name: &'static str,
    pub name_en: &'static str,
    /// Code of its default department in [`DEPARTMENTS`].
    dept: &'static str,
    /// Handling deadline in hours: routine, urgent, emergency.
    hours: [u32; 3],
    /// Duplicate radius in metres and window in hours.
    duplicate: (u32, u32),
    /// Relative number of reports.
    pub weight: u32,
    /// [`PRIVATE`], [`SPOT`], [`TEAM`], [`URGENT`], [`EMERGENCY`].
    pub traits: u8,
    /// What a reporter writes, without the place.
    pub phrases: &'static [&'static str],
}

#[allow(clippy::too_many_arguments)] // a table row
const fn sub(
    name: &'static str,
    name_en: &'static str,
    dept: &'static str,
    hours: [u32; 3],
    duplicate: (u32, u32),
    weight: u32,
    traits: u8,
    phrases: &'static [&'static str],
) -> SubSpec {
    SubSpec { name, name_en, dept, hours, duplicate, weight, traits, phrases }
}
struct ClassSpec {
    code: &'static str,
    name: &'static str,
    name_en: &'static str,
    kind: CategoryKind,
    subclasses: &'static [SubSpec],
} // Subclass rows: name, English name, default department, deadline hours (routine, urgent,
  // emergency), duplicate radius (m) and window (h), relative frequency, traits, what reporters write.
#[rustfmt::skip]
const CLASSES: [ClassSpec; 12] = [ ClassSpec { code: "C01", name: "公用设施", name_en: "Public utilities", kind: CategoryKind::Component, subclasses: &[ sub( "上水井盖", "Water supply manhole cover", "watersupply", [24, 4, 2], (30, 72), 5, URGENT, &["自来水井盖破损，行人容易踩空", "自来水井盖不见了，路面露出一个洞"]),
            sub("污水井盖", "Sewage manhole cover", "municipal", [24, 4, 2], (30, 72), 6, URGENT, &["污水井盖破裂，车辆经过时会翻动", "污水井盖缺失，有人差点掉下去"]),
            sub("雨水井盖", "Storm drain cover", "municipal", [24, 4, 2], (30, 72), 6, URGENT, &["雨水篦子断了一根，自行车轮容易卡住", "雨水井盖松动，踩上去摇晃"]),
            sub("电力井盖", "Power manhole cover", "power", [24, 4, 2], (30, 72), 3, URGENT, &["电力井盖破损下陷", "电力井盖错位，露出缝隙"]),
            sub("燃气井盖", "Gas valve cover", "gas", [24, 4, 2], (30, 72), 2, URGENT, &["燃气阀门井盖破损", "燃气井盖被压坏了"]),
            sub("通信井盖", "Telecom manhole cover", "telecom", [48, 8, 2], (30, 72), 3, 0, &["通信井盖破损", "通信井盖高出路面，容易绊倒行人"]),
            sub("路灯", "Street light", "municipal", [48, 24, 4], (50, 168), 20, 0, &["路灯不亮，晚上一片漆黑", "连续几盏路灯都坏了", "路灯白天一直亮着"]),
            sub("电力设施", "Power pole or box", "power", [48, 12, 2], (50, 72), 4, URGENT, &["电线杆倾斜，有倒下的危险", "配电箱门开着，电线裸露"]),
            sub("消防栓", "Fire hydrant", "fire", [72, 24, 4], (30, 168), 3, 0, &["消防栓漏水", "消防栓被车撞歪了"]),
        ],
    },
    ClassSpec {
        code: "C02",
        name: "道路交通",
        name_en: "Roads and traffic",
        kind: CategoryKind::Component,
        subclasses: &[
            sub("道路破损", "Damaged road surface", "municipal", [120, 24, 4], (80, 168), 12, URGENT, &["路面坑洼不平，下雨积水", "路面有一个大坑，电动车经过很危险"]),
            sub("人行道板", "Broken paving", "municipal", [120, 48, 8], (50, 168), 8, 0, &["人行道板松动翘起，踩上去溅水", "人行道砖缺了好几块"]),
            sub("交通标志", "Traffic sign", "transport", [72, 24, 4], (50, 168), 4, 0, &["交通指示牌被撞歪了", "限速标志被树枝挡住看不见"]),
            sub("交通信号灯", "Traffic light", "police", [24, 4, 2], (80, 48), 3, URGENT, &["红绿灯不亮，路口车辆混乱", "信号灯一直闪黄灯"]),
            sub("护栏", "Railing", "transport", [72, 24, 4], (50, 168), 4, 0, &["河边护栏断了一截，小孩靠近很危险", "道路隔离护栏倒伏"]),
            sub("公交站亭", "Bus shelter", "transport", [120, 48, 8], (50, 168), 2, 0, &["公交站亭顶棚破损漏雨", "公交站牌信息模糊不清"]),
            sub("停车设施", "Parking facility", "enforcement", [120, 48, 8], (80, 168), 3, 0, &["停车场道闸坏了", "停车位标线模糊"]),
            sub("桥梁", "Bridge", "municipal", [72, 24, 4], (80, 168), 3, URGENT, &["石桥栏杆松动", "桥面石板开裂"]),
        ],
    },
    ClassSpec {
        code: "C03",
        name: "市容环境",
        name_en: "City appearance facilities",
        kind: CategoryKind::Component,
        subclasses: &[
            sub("垃圾箱", "Litter bin", "sanitation", [48, 12, 4], (30, 72), 8, 0, &["垃圾桶破了，垃圾散落一地", "分类垃圾桶被人搬走了"]),
            sub("公共厕所", "Public toilet", "sanitation", [24, 8, 2], (50, 48), 6, 0, &["公共厕所水箱坏了，异味很重", "公厕洗手池堵塞"]),
            sub("垃圾房", "Refuse station", "sanitation", [48, 12, 4], (50, 72), 5, 0, &["垃圾房门坏了关不上", "垃圾房周边污水横流"]),
            sub("广告牌匾", "Shop signboard", "enforcement", [120, 24, 4], (50, 168), 4, URGENT, &["店招牌匾松动，大风天有掉落危险", "广告牌支架锈蚀严重"]),
            sub("景观灯", "Decorative lighting", "municipal", [72, 24, 8], (50, 168), 4, 0, &["河边景观灯不亮", "景观灯灯罩掉落"]),
        ],
    },
    ClassSpec {
        code: "C04",
        name: "园林绿化",
        name_en: "Landscaping",
        kind: CategoryKind::Component,
        subclasses: &[
            sub("行道树", "Street tree", "landscape", [72, 12, 2], (50, 168), 8, URGENT, &["行道树枝干断裂，挂在半空", "行道树倾斜，挡住了行人通道"]),
            sub("绿地", "Green space", "landscape", [168, 48, 8], (80, 168), 5, 0, &["绿地被踩踏成了小路", "绿化带里杂草丛生"]),
            sub("古树名木", "Ancient tree", "landscape", [72, 24, 4], (50, 168), 1, 0, &["古银杏树有枯枝", "古树保护围栏损坏"]),
            sub("花坛", "Flower bed", "landscape", [168, 48, 8], (50, 168), 3, 0, &["花坛砖块破损", "花坛里的花被人挖走了"]),
            sub("公共座椅", "Bench", "landscape", [168, 48, 8], (30, 168), 3, 0, &["公园座椅木条断了", "长椅螺丝松动"]),
        ],
    },
    ClassSpec {
        code: "C05",
        name: "房屋土地",
        name_en: "Buildings and land",
        kind: CategoryKind::Component,
        subclasses: &[
            sub("危房", "Dangerous building", "housing", [72, 12, 2], (50, 168), 2, URGENT, &["老房子墙体开裂，砖块往下掉", "空置老宅屋顶塌了一角"]),
            sub("空置房屋", "Unsecured vacant building", "housing", [168, 48, 8], (50, 168), 2, 0, &["空置房屋门窗破损，有人进出", "闲置厂房堆满杂物"]),
            sub("违规用地", "Illegal land use", "land", [240, 72, 24], (100, 168), 2, 0, &["农田里有人在倒土填方", "基本农田上搭了彩钢棚"]),
            sub("老旧小区设施", "Old-estate facilities", "property", [120, 48, 8], (50, 168), 5, TEAM, &["小区单元门禁坏了", "楼道灯不亮"]),
            sub("河道护岸", "Canal embankment", "water", [120, 24, 4], (80, 168), 3, URGENT, &["河道驳岸石块松动塌落", "河岸护坡出现裂缝"]),
        ],
    },
    ClassSpec {
        code: "C06",
        name: "其他设施",
        name_en: "Other facilities",
        kind: CategoryKind::Component,
        subclasses: &[
            sub("健身器材", "Fitness equipment", "tourism", [168, 48, 8], (30, 168), 3, 0, &["健身器材转轴断了", "健身路径器材生锈松动"]),
            sub("监控设施", "CCTV camera", "police", [72, 24, 8], (50, 168), 2, PRIVATE, &["路口监控探头被树枝遮挡", "监控杆倾斜"]),
            sub("充电设施", "E-bike charging point", "property", [72, 24, 8], (30, 168), 3, 0, &["电动车充电桩无法扫码充电", "充电桩插座烧焦了"]),
            sub("消防设施", "Fire equipment", "fire", [48, 12, 4], (30, 168), 3, 0, &["楼道灭火器过期了", "消防箱里没有水带"]),
            sub("游船码头", "Boat pier", "transport", [120, 48, 8], (80, 168), 2, 0, &["游船码头台阶破损", "码头系缆桩松动"]),
        ],
    },
    ClassSpec {
        code: "E01",
        name: "市容环境",
        name_en: "City appearance",
        kind: CategoryKind::Event,
        subclasses: &[
            sub("暴露垃圾", "Exposed rubbish", "sanitation", [24, 8, 4], (50, 24), 60, SPOT | TEAM, &["路边有一堆生活垃圾没人清理", "垃圾桶满了溢出来，苍蝇很多", "有人在路边乱扔垃圾袋"]),
            sub("积存渣土", "Piled construction waste", "enforcement", [72, 24, 8], (80, 72), 10, 0, &["路边倾倒了一堆建筑垃圾", "装修垃圾堆在绿化带里"]),
            sub("道路不洁", "Dirty road", "sanitation", [24, 8, 4], (80, 24), 20, SPOT, &["路面油污很多，容易打滑", "路面泥浆一大片"]),
            sub("水域不洁", "Litter on the canal", "water", [48, 12, 4], (100, 48), 15, 0, &["河面上漂浮着很多垃圾", "河里有大片水草和泡沫"]),
            sub("违法建设", "Illegal structure", "enforcement", [240, 120, 24], (50, 168), 10, 0, &["有人在屋顶上违章搭建", "院子外面私自搭了彩钢棚", "沿河私自加建房屋"]),
            sub("乱堆物料", "Items piled in public space", "enforcement", [48, 24, 8], (50, 72), 25, SPOT | TEAM, &["楼道里堆满了杂物，影响通行", "店门口堆放大量纸箱"]),
            sub("焚烧垃圾", "Burning waste", "environment", [24, 4, 2], (100, 24), 5, URGENT, &["有人在空地上焚烧垃圾，烟很大", "田边在烧秸秆和树叶"]),
            sub("油烟污染", "Restaurant fumes", "environment", [120, 48, 8], (50, 168), 6, 0, &["饭店油烟直排，居民家里都是味道", "烧烤店油烟很大"]),
            sub("动物尸体", "Dead animal", "sanitation", [12, 4, 2], (50, 24), 4, SPOT, &["路中间有一只死猫", "河边有死鱼发臭"]),
            sub("违规晾晒", "Laundry on the street", "enforcement", [48, 24, 8], (30, 72), 8, SPOT | TEAM, &["沿街晾晒衣物，影响景区市容", "在绿化树上拉绳晒被子"]),
        ],
    },
    ClassSpec {
        code: "E02",
        name: "宣传广告",
        name_en: "Advertising",
        kind: CategoryKind::Event,
        subclasses: &[
            sub("非法小广告", "Illegal small ads", "enforcement", [48, 24, 8], (50, 72), 30, SPOT | TEAM, &["墙上贴满了小广告", "电线杆上喷涂了办证电话"]),
            sub("违规户外广告", "Unauthorised outdoor ad", "enforcement", [120, 48, 8], (50, 168), 6, 0, &["楼顶新装了一块大型广告牌", "沿街店铺私自安装灯箱广告"]),
            sub("占道宣传", "Street promotion stall", "enforcement", [24, 8, 2], (50, 24), 5, SPOT, &["有人在路口摆摊发传单", "商家占用人行道搞促销"]),
            sub("违规横幅", "Unauthorised banner", "enforcement", [48, 24, 8], (50, 72), 5, SPOT, &["桥上挂了一条广告横幅", "树上拉了好几条横幅"]),
        ],
    },
    ClassSpec {
        code: "E03",
        name: "施工管理",
        name_en: "Construction",
        kind: CategoryKind::Event,
        subclasses: &[
            sub("施工扰民", "Construction noise", "environment", [24, 8, 2], (150, 48), 8, 0, &["工地晚上十点以后还在施工，噪音很大", "一大早就开始打桩，影响休息"]),
            sub("道路遗撒", "Spillage from trucks", "enforcement", [24, 4, 2], (150, 24), 5, URGENT, &["渣土车沿路遗撒泥土", "运输车掉落大量碎石"]),
            sub("施工占道", "Construction occupying the road", "enforcement", [48, 12, 4], (100, 72), 5, 0, &["施工材料占用了半边道路", "管道施工挖开路面后没有恢复"]),
            sub("施工扬尘", "Construction dust", "environment", [48, 12, 4], (150, 72), 5, 0, &["工地没有洒水，扬尘很大", "裸土没有覆盖，一刮风全是灰"]),
            sub("工地围挡", "Site hoarding", "housing", [72, 24, 4], (80, 168), 3, 0, &["工地围挡被风吹倒了", "施工围挡破损，行人可以随意进入"]),
            sub("违规装修", "Illegal renovation", "housing", [120, 48, 8], (50, 168), 4, TEAM, &["楼上装修拆了承重墙", "装修公司中午还在电钻施工"]),
        ],
    },
    ClassSpec {
        code: "E04",
        name: "街面秩序",
        name_en: "Street order",
        kind: CategoryKind::Event,
        subclasses: &[
            sub("无照游商", "Unlicensed street vendor", "enforcement", [24, 4, 2], (80, 24), 30, SPOT | TEAM, &["有人在桥头摆摊卖水果", "三轮车流动摊贩堵在路口"]),
            sub("店外经营", "Shop spilling onto the pavement", "enforcement", [24, 8, 4], (50, 48), 25, SPOT | TEAM, &["商铺把货架摆到了人行道上", "饭店在门口摆桌子营业"]),
            sub("机动车乱停", "Illegal car parking", "police", [12, 4, 2], (50, 24), 40, 0, &["汽车停在消防通道上", "有车辆长期停在人行道上", "车辆停在路口，挡住了视线"]),
            sub("非机动车乱停", "Disorderly bikes and e-bikes", "enforcement", [24, 8, 4], (50, 24), 35, SPOT | TEAM, &["共享单车乱停，堵住了盲道", "电动车停满了人行道"]),
            sub("黑车拉客", "Illegal taxi touting", "transport", [48, 12, 4], (150, 48), 5, 0, &["景区门口有黑车拉客", "有人在车站外招揽乘客"]),
            sub("噪声扰民", "Commercial noise", "environment", [24, 8, 2], (100, 24), 10, 0, &["酒吧音乐开得很大声，深夜还在放", "商铺用喇叭循环播放广告"]),
            sub("强拉游客", "Touting tourists", "tourism", [24, 8, 2], (150, 24), 6, 0, &["有人在景区门口强拉游客去买东西", "无证导游在游客中心门口揽客"]),
            sub("食品安全", "Food safety", "market", [48, 12, 4], (50, 72), 5, URGENT, &["小吃店卫生条件很差", "买到的熟食有异味"]),
            sub("价格欺诈", "Price fraud", "market", [72, 24, 8], (50, 168), 4, 0, &["商店商品没有明码标价", "店家结账时价格和标价不一致"]),
        ],
    },
    ClassSpec {
        code: "E05",
        name: "突发事件",
        name_en: "Emergencies",
        kind: CategoryKind::Event,
        subclasses: &[
            sub("供水管破裂", "Burst water main", "watersupply", [8, 4, 2], (150, 24), 3, EMERGENCY, &["地下水管爆了，水一直往外冒", "自来水管破裂，路面大量积水"]),
            sub("路面塌陷", "Road collapse", "municipal", [8, 4, 2], (100, 24), 1, EMERGENCY, &["路面突然塌陷出一个坑", "路面下沉开裂，有塌陷危险"]),
            sub("道路积水", "Waterlogging", "municipal", [12, 4, 2], (200, 24), 5, URGENT, &["暴雨后路面积水很深，车辆无法通行", "下水道堵塞，积水退不下去"]),
            sub("燃气泄漏", "Gas leak", "gas", [4, 2, 1], (150, 24), 1, EMERGENCY, &["闻到很浓的煤气味", "燃气管道有漏气声"]),
            sub("火情", "Fire", "fire", [2, 1, 1], (200, 24), 1, EMERGENCY, &["有房子在冒烟，可能着火了", "垃圾堆起火了"]),
            sub("树木倒伏", "Fallen tree", "landscape", [12, 4, 2], (100, 24), 2, EMERGENCY, &["大风把树刮倒了，压在路上", "树倒在电线上"]),
            sub("电线掉落", "Fallen power line", "power", [4, 2, 1], (100, 24), 1, EMERGENCY, &["电线断了掉在地上", "电线被树枝压断垂到路面"]),
            sub("河道险情", "Canal hazard", "water", [12, 4, 2], (200, 24), 1, EMERGENCY, &["河水快漫过堤岸了", "河堤出现渗水"]),
            sub("危险化学品", "Hazardous chemicals", "emergency", [4, 2, 1], (200, 24), 1, EMERGENCY | PRIVATE, &["路边有几桶不明化学品，气味刺鼻", "有人在小作坊里违规存放液化气罐"]),
            sub("停电", "Power outage", "power", [8, 4, 2], (200, 24), 3, URGENT, &["整条街都停电了", "小区停电好几个小时了"]),
        ],
    },
    ClassSpec {
        code: "E06",
        name: "社会治理",
        name_en: "Social governance",
        kind: CategoryKind::Event,
        subclasses: &[
            sub("邻里纠纷", "Neighbour dispute", "justice", [72, 24, 8], (50, 168), 10, PRIVATE | TEAM, &["邻居因为漏水的事情吵得很凶", "两家因为宅基地边界发生争执"]),
            sub("出租房安全", "Rental-house safety hazard", "police", [72, 24, 4], (30, 168), 8, PRIVATE | TEAM, &["出租房里住了很多人，电线私拉乱接", "出租屋租客信息没有登记"]),
            sub("三小场所隐患", "Hazard at a small shop, workshop or venue", "emergency", [72, 24, 4], (30, 168), 6, PRIVATE, &["小作坊里堆满易燃物，没有灭火器", "小餐馆楼上住人，存在安全隐患"]),
            sub("消防通道堵塞", "Blocked fire lane", "fire", [24, 4, 2], (50, 24), 8, SPOT, &["消防通道被杂物堵死了", "小区消防通道上停满了车"]),
            sub("电动车违规充电", "Unsafe e-bike charging", "fire", [24, 8, 2], (30, 48), 10, SPOT | TEAM, &["有人从楼上拉电线给电动车充电", "电动车推进楼道里充电"]),
            sub("群租房", "Overcrowded rental", "police", [120, 48, 8], (30, 168), 3, PRIVATE, &["一套房子隔成了十几个小间出租", "群租房人员进出频繁"]),
            sub("治安隐患", "Public-security hazard", "police", [24, 4, 1], (100, 48), 4, PRIVATE | URGENT, &["晚上有陌生人在小区里撬车", "有人在河边聚众赌博"]),
            sub("困难群众求助", "Resident in hardship", "civil", [72, 24, 8], (30, 168), 4, PRIVATE | TEAM, &["独居老人生病没人照顾", "困难家庭房屋漏雨需要帮助"]),
            sub("物业管理", "Property management complaint", "housing", [120, 48, 8], (50, 168), 6, TEAM, &["小区物业不作为，垃圾几天没人清运", "物业擅自占用公共绿地做停车位"]),
            sub("不文明养犬", "Uncivil dog-keeping", "police", [72, 24, 8], (50, 72), 5, TEAM, &["遛狗不牵绳，吓到小孩", "狗一直叫，影响休息"]),
            sub("高空抛物", "Things thrown from height", "police", [48, 12, 4], (30, 72), 2, PRIVATE | URGENT, &["楼上有人往下扔垃圾", "高楼扔下一个花盆，差点砸到人"]),
        ],
    },
];

/// The hazard class (安全隐患): its subclasses are filed by inspections, never reported by the
/// simulation. Code suffix, name, English name, the department that answers for it.
const HAZARDS: [(&str, &str, &str, &str); 5] = [
    ("01", "消防安全隐患", "Fire safety hazard", "fire"),
    ("02", "燃气安全隐患", "Gas safety hazard", "gas"),
    ("03", "用电安全隐患", "Electrical safety hazard", "emergency"),
    ("04", "房屋结构安全隐患", "Structural safety hazard", "housing"),
    ("05", "出租房屋治安隐患", "Rental-house security hazard", "police"),
];

/// Deadlines and duplicate rule of a class row (cases are accepted into subclasses only).
const CLASS_DEADLINES: Deadlines = Deadlines { routine_hours: 72, urgent_hours: 24, emergency_hours: 4 };

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
        let platforms = PLATFORMS
            .iter()
            .zip(1..)
            .map(|(&(code, name, name_en), id)| Platform {
                id,
                code: code.into(),
                name: name.into(),
                name_en: name_en.into(),
            })
            .collect();
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
        let mut categories = Vec::new();
        let mut subclasses = Vec::new();
        for class in &CLASSES {
            let class_id = categories.len() as i64 + 1;
            categories.push(Category {
                id: class_id,
                code: class.code.into(),
                name: class.name.into(),
                name_en: class.name_en.into(),
                kind: class.kind,
                parent_id: None,
                default_department: None,
                public: true,
                deadlines: CLASS_DEADLINES,
                duplicate_radius_m: 50,
                duplicate_window_hours: 72,
            });
            for (n, spec) in class.subclasses.iter().enumerate() {
                let lead = department(spec.dept);
                let [routine_hours, urgent_hours, emergency_hours] = spec.hours;
                subclasses.push(Subclass { category: categories.len(), department: lead, spec });
                categories.push(Category {
                    id: categories.len() as i64 + 1,
                    code: format!("{}{:02}", class.code, n + 1),
                    name: spec.name.into(),
                    name_en: spec.name_en.into(),
                    kind: class.kind,
                    parent_id: Some(class_id),
                    default_department: Some(departments[lead].id),
                    public: spec.traits & PRIVATE == 0,
                    deadlines: Deadlines { routine_hours, urgent_hours, emergency_hours },
                    duplicate_radius_m: spec.duplicate.0,
                    duplicate_window_hours: spec.duplicate.1,
                });
            }
        }
        // The hazard class comes last, so that the ids of the reported categories stay.
        let class_id = categories.len() as i64 + 1;
        let hazard = |id: i64, code: String, name: &str, name_en: &str, parent_id, default_department| Category {
            id,
            code,
            name: name.into(),
            name_en: name_en.into(),
            kind: CategoryKind::Hazard,
            parent_id,
            default_department,
            public: false,
            deadlines: CLASS_DEADLINES,
            duplicate_radius_m: 30,
            duplicate_window_hours: 24,
        };
        categories.push(hazard(class_id, "H01".into(), "安全隐患", "Safety hazards", None, None));
        for (suffix, name, name_en, dept) in HAZARDS {
            let lead = departments[department(dept)].id;
            categories.push(hazard(
                categories.len() as i64 + 1,
                format!("H01{suffix}"),
                name,
                name_en,
                Some(class_id),
                Some(lead),
            ));
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
