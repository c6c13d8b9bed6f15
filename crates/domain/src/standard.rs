//! The reference data every deployment starts from, shared by `gridkeeper init` and the demo:
//! the two-level component (部件) and event (事件) categories of the national standard (CJ/T 214
//! classes, with a local social-governance class and the safety-hazard class that inspections
//! file into), each subclass with its default handling deadlines per urgency, duplicate reach and
//! whether its cases are public; the linkage center's four platforms ("1+4+X"); and the Open311
//! questions (service attributes) of the subclasses where an answer helps the department.
//! No default departments: those are each town's own.

use crate::exchange::{Choice, Datatype, ServiceAttribute};
use crate::{Category, CategoryKind, Deadlines, Platform};

/// The four platforms of a linkage center: code, name, English name.
pub const PLATFORMS: [(&str, &str, &str); 4] = [
    ("governance", "综合治理", "Comprehensive governance"),
    ("enforcement", "综合执法", "Administrative law enforcement"),
    ("market", "市场监管", "Market supervision"),
    ("services", "便民服务", "Convenience services"),
];

/// The platforms with ids 1, 2, 3… in the order of [`PLATFORMS`].
pub fn platforms() -> Vec<Platform> {
    PLATFORMS
        .iter()
        .zip(1..)
        .map(|(&(code, name, name_en), id)| Platform {
            id,
            code: code.into(),
            name: name.into(),
            name_en: name_en.into(),
        })
        .collect()
}

/// A class of the standard and its subclasses (coded class code + two digits, in order).
pub struct Class {
    pub code: &'static str,
    pub name: &'static str,
    pub name_en: &'static str,
    pub kind: CategoryKind,
    /// Whether the class row's cases are public, and its duplicate radius (m) and window (h).
    pub public: bool,
    pub duplicate: (u32, u32),
    pub subclasses: &'static [Subclass],
}

/// A subclass: names, handling deadlines in hours (routine, urgent, emergency), duplicate radius
/// (m) and window (h), and whether its cases are shown to the public.
pub struct Subclass {
    pub name: &'static str,
    pub name_en: &'static str,
    pub hours: [u32; 3],
    pub duplicate: (u32, u32),
    pub public: bool,
}

const fn class(
    code: &'static str,
    name: &'static str,
    name_en: &'static str,
    kind: CategoryKind,
    subclasses: &'static [Subclass],
) -> Class {
    Class { code, name, name_en, kind, public: true, duplicate: (50, 72), subclasses }
}

const fn sub(name: &'static str, name_en: &'static str, hours: [u32; 3], duplicate: (u32, u32)) -> Subclass {
    Subclass { name, name_en, hours, duplicate, public: true }
}

/// A subclass whose cases are not shown to the public (disputes, public security, hardship).
const fn private(name: &'static str, name_en: &'static str, hours: [u32; 3], duplicate: (u32, u32)) -> Subclass {
    Subclass { name, name_en, hours, duplicate, public: false }
}

/// Hazards found by inspections: not public, deadlines of a class row.
const fn hazard(name: &'static str, name_en: &'static str) -> Subclass {
    Subclass { name, name_en, hours: CLASS_HOURS, duplicate: (30, 24), public: false }
}

/// The deadlines of a class row (cases are accepted into subclasses only).
const CLASS_HOURS: [u32; 3] = [72, 24, 4];

use CategoryKind::{Component, Event};

/// The classes in order; their subclasses' codes are the class code and the position (01, 02…).
#[rustfmt::skip]
pub const CLASSES: [Class; 13] = [
    class("C01", "公用设施", "Public utilities", Component, &[
        sub("上水井盖", "Water supply manhole cover", [24, 4, 2], (30, 72)),
        sub("污水井盖", "Sewage manhole cover", [24, 4, 2], (30, 72)),
        sub("雨水井盖", "Storm drain cover", [24, 4, 2], (30, 72)),
        sub("电力井盖", "Power manhole cover", [24, 4, 2], (30, 72)),
        sub("燃气井盖", "Gas valve cover", [24, 4, 2], (30, 72)),
        sub("通信井盖", "Telecom manhole cover", [48, 8, 2], (30, 72)),
        sub("路灯", "Street light", [48, 24, 4], (50, 168)),
        sub("电力设施", "Power pole or box", [48, 12, 2], (50, 72)),
        sub("消防栓", "Fire hydrant", [72, 24, 4], (30, 168)),
    ]),
    class("C02", "道路交通", "Roads and traffic", Component, &[
        sub("道路破损", "Damaged road surface", [120, 24, 4], (80, 168)),
        sub("人行道板", "Broken paving", [120, 48, 8], (50, 168)),
        sub("交通标志", "Traffic sign", [72, 24, 4], (50, 168)),
        sub("交通信号灯", "Traffic light", [24, 4, 2], (80, 48)),
        sub("护栏", "Railing", [72, 24, 4], (50, 168)),
        sub("公交站亭", "Bus shelter", [120, 48, 8], (50, 168)),
        sub("停车设施", "Parking facility", [120, 48, 8], (80, 168)),
        sub("桥梁", "Bridge", [72, 24, 4], (80, 168)),
    ]),
    class("C03", "市容环境", "City appearance facilities", Component, &[
        sub("垃圾箱", "Litter bin", [48, 12, 4], (30, 72)),
        sub("公共厕所", "Public toilet", [24, 8, 2], (50, 48)),
        sub("垃圾房", "Refuse station", [48, 12, 4], (50, 72)),
        sub("广告牌匾", "Shop signboard", [120, 24, 4], (50, 168)),
        sub("景观灯", "Decorative lighting", [72, 24, 8], (50, 168)),
    ]),
    class("C04", "园林绿化", "Landscaping", Component, &[
        sub("行道树", "Street tree", [72, 12, 2], (50, 168)),
        sub("绿地", "Green space", [168, 48, 8], (80, 168)),
        sub("古树名木", "Ancient tree", [72, 24, 4], (50, 168)),
        sub("花坛", "Flower bed", [168, 48, 8], (50, 168)),
        sub("公共座椅", "Bench", [168, 48, 8], (30, 168)),
    ]),
    class("C05", "房屋土地", "Buildings and land", Component, &[
        sub("危房", "Dangerous building", [72, 12, 2], (50, 168)),
        sub("空置房屋", "Unsecured vacant building", [168, 48, 8], (50, 168)),
        sub("违规用地", "Illegal land use", [240, 72, 24], (100, 168)),
        sub("老旧小区设施", "Old-estate facilities", [120, 48, 8], (50, 168)),
        sub("河道护岸", "Canal embankment", [120, 24, 4], (80, 168)),
    ]),
    class("C06", "其他设施", "Other facilities", Component, &[
        sub("健身器材", "Fitness equipment", [168, 48, 8], (30, 168)),
        private("监控设施", "CCTV camera", [72, 24, 8], (50, 168)),
        sub("充电设施", "E-bike charging point", [72, 24, 8], (30, 168)),
        sub("消防设施", "Fire equipment", [48, 12, 4], (30, 168)),
        sub("游船码头", "Boat pier", [120, 48, 8], (80, 168)),
    ]),
    class("E01", "市容环境", "City appearance", Event, &[
        sub("暴露垃圾", "Exposed rubbish", [24, 8, 4], (50, 24)),
        sub("积存渣土", "Piled construction waste", [72, 24, 8], (80, 72)),
        sub("道路不洁", "Dirty road", [24, 8, 4], (80, 24)),
        sub("水域不洁", "Litter on the canal", [48, 12, 4], (100, 48)),
        sub("违法建设", "Illegal structure", [240, 120, 24], (50, 168)),
        sub("乱堆物料", "Items piled in public space", [48, 24, 8], (50, 72)),
        sub("焚烧垃圾", "Burning waste", [24, 4, 2], (100, 24)),
        sub("油烟污染", "Restaurant fumes", [120, 48, 8], (50, 168)),
        sub("动物尸体", "Dead animal", [12, 4, 2], (50, 24)),
        sub("违规晾晒", "Laundry on the street", [48, 24, 8], (30, 72)),
    ]),
    class("E02", "宣传广告", "Advertising", Event, &[
        sub("非法小广告", "Illegal small ads", [48, 24, 8], (50, 72)),
        sub("违规户外广告", "Unauthorised outdoor ad", [120, 48, 8], (50, 168)),
        sub("占道宣传", "Street promotion stall", [24, 8, 2], (50, 24)),
        sub("违规横幅", "Unauthorised banner", [48, 24, 8], (50, 72)),
    ]),
    class("E03", "施工管理", "Construction", Event, &[
        sub("施工扰民", "Construction noise", [24, 8, 2], (150, 48)),
        sub("道路遗撒", "Spillage from trucks", [24, 4, 2], (150, 24)),
        sub("施工占道", "Construction occupying the road", [48, 12, 4], (100, 72)),
        sub("施工扬尘", "Construction dust", [48, 12, 4], (150, 72)),
        sub("工地围挡", "Site hoarding", [72, 24, 4], (80, 168)),
        sub("违规装修", "Illegal renovation", [120, 48, 8], (50, 168)),
    ]),
    class("E04", "街面秩序", "Street order", Event, &[
        sub("无照游商", "Unlicensed street vendor", [24, 4, 2], (80, 24)),
        sub("店外经营", "Shop spilling onto the pavement", [24, 8, 4], (50, 48)),
        sub("机动车乱停", "Illegal car parking", [12, 4, 2], (50, 24)),
        sub("非机动车乱停", "Disorderly bikes and e-bikes", [24, 8, 4], (50, 24)),
        sub("黑车拉客", "Illegal taxi touting", [48, 12, 4], (150, 48)),
        sub("噪声扰民", "Commercial noise", [24, 8, 2], (100, 24)),
        sub("强拉游客", "Touting tourists", [24, 8, 2], (150, 24)),
        sub("食品安全", "Food safety", [48, 12, 4], (50, 72)),
        sub("价格欺诈", "Price fraud", [72, 24, 8], (50, 168)),
    ]),
    class("E05", "突发事件", "Emergencies", Event, &[
        sub("供水管破裂", "Burst water main", [8, 4, 2], (150, 24)),
        sub("路面塌陷", "Road collapse", [8, 4, 2], (100, 24)),
        sub("道路积水", "Waterlogging", [12, 4, 2], (200, 24)),
        sub("燃气泄漏", "Gas leak", [4, 2, 1], (150, 24)),
        sub("火情", "Fire", [2, 1, 1], (200, 24)),
        sub("树木倒伏", "Fallen tree", [12, 4, 2], (100, 24)),
        sub("电线掉落", "Fallen power line", [4, 2, 1], (100, 24)),
        sub("河道险情", "Canal hazard", [12, 4, 2], (200, 24)),
        private("危险化学品", "Hazardous chemicals", [4, 2, 1], (200, 24)),
        sub("停电", "Power outage", [8, 4, 2], (200, 24)),
    ]),
    class("E06", "社会治理", "Social governance", Event, &[
        private("邻里纠纷", "Neighbour dispute", [72, 24, 8], (50, 168)),
        private("出租房安全", "Rental-house safety hazard", [72, 24, 4], (30, 168)),
        private("三小场所隐患", "Hazard at a small shop, workshop or venue", [72, 24, 4], (30, 168)),
        sub("消防通道堵塞", "Blocked fire lane", [24, 4, 2], (50, 24)),
        sub("电动车违规充电", "Unsafe e-bike charging", [24, 8, 2], (30, 48)),
        private("群租房", "Overcrowded rental", [120, 48, 8], (30, 168)),
        private("治安隐患", "Public-security hazard", [24, 4, 1], (100, 48)),
        private("困难群众求助", "Resident in hardship", [72, 24, 8], (30, 168)),
        sub("物业管理", "Property management complaint", [120, 48, 8], (50, 168)),
        sub("不文明养犬", "Uncivil dog-keeping", [72, 24, 8], (50, 72)),
        private("高空抛物", "Things thrown from height", [48, 12, 4], (30, 72)),
    ]),
    Class {
        code: "H01", name: "安全隐患", name_en: "Safety hazards", kind: CategoryKind::Hazard, public: false, duplicate: (30, 24),
        subclasses: &[
            hazard("消防安全隐患", "Fire safety hazard"),
            hazard("燃气安全隐患", "Gas safety hazard"),
            hazard("用电安全隐患", "Electrical safety hazard"),
            hazard("房屋结构安全隐患", "Structural safety hazard"),
            hazard("出租房屋治安隐患", "Rental-house security hazard"),
        ],
    },
];

fn deadlines([routine_hours, urgent_hours, emergency_hours]: [u32; 3]) -> Deadlines {
    Deadlines { routine_hours, urgent_hours, emergency_hours }
}

/// Every category of [`CLASSES`] with ids 1, 2, 3… in order (each class followed by its
/// subclasses) and no default department.
pub fn categories() -> Vec<Category> {
    let mut out: Vec<Category> = Vec::new();
    for class in &CLASSES {
        let class_id = out.len() as i64 + 1;
        out.push(Category {
            id: class_id,
            code: class.code.into(),
            name: class.name.into(),
            name_en: class.name_en.into(),
            kind: class.kind,
            parent_id: None,
            default_department: None,
            public: class.public,
            deadlines: deadlines(CLASS_HOURS),
            duplicate_radius_m: class.duplicate.0,
            duplicate_window_hours: class.duplicate.1,
        });
        for (n, s) in class.subclasses.iter().enumerate() {
            out.push(Category {
                id: out.len() as i64 + 1,
                code: format!("{}{:02}", class.code, n + 1),
                name: s.name.into(),
                name_en: s.name_en.into(),
                kind: class.kind,
                parent_id: Some(class_id),
                default_department: None,
                public: s.public,
                deadlines: deadlines(s.hours),
                duplicate_radius_m: s.duplicate.0,
                duplicate_window_hours: s.duplicate.1,
            });
        }
    }
    out
}

fn choices(list: &[(&str, &str)]) -> Vec<Choice> {
    list.iter().map(|&(key, name)| Choice { key: key.into(), name: name.into() }).collect()
}

fn question(
    code: &str,
    datatype: Datatype,
    order: u32,
    description: &str,
    values: &[(&str, &str)],
) -> ServiceAttribute {
    ServiceAttribute {
        code: code.into(),
        variable: true,
        datatype,
        required: false,
        datatype_description: None,
        order,
        description: description.into(),
        values: choices(values),
    }
}

/// The Open311 questions of the subclasses where an answer helps the department, by subclass
/// code. None is required, so a client that asks nothing still files a report.
pub fn service_attributes() -> Vec<(&'static str, Vec<ServiceAttribute>)> {
    let cover = || {
        vec![question(
            "cover",
            Datatype::Singlevaluelist,
            1,
            "井盖的情况 / State of the cover",
            &[("missing", "缺失 / Missing"), ("broken", "破损 / Broken"), ("loose", "松动或错位 / Loose or displaced")],
        )]
    };
    vec![
        ("C0101", cover()),
        ("C0102", cover()),
        ("C0103", cover()),
        ("C0104", cover()),
        ("C0105", cover()),
        ("C0106", cover()),
        (
            "C0107",
            vec![
                question(
                    "pole_number",
                    Datatype::String,
                    1,
                    "灯杆编号（灯杆上的号码牌） / Pole number (the plate on the pole)",
                    &[],
                ),
                question(
                    "lights_out",
                    Datatype::Singlevaluelist,
                    2,
                    "几盏灯不亮 / How many lights are out",
                    &[("one", "一盏 / One"), ("several", "连续多盏 / Several in a row")],
                ),
            ],
        ),
        (
            "E0102",
            vec![question(
                "volume",
                Datatype::Singlevaluelist,
                1,
                "大约有多少渣土 / About how much waste",
                &[
                    ("small", "不到1立方米 / Under 1 m³"),
                    ("medium", "1到5立方米 / 1 to 5 m³"),
                    ("large", "超过5立方米 / Over 5 m³"),
                ],
            )],
        ),
        (
            "E0105",
            vec![question("area_m2", Datatype::Number, 1, "搭建面积大约多少平方米 / Area built, about (m²)", &[])],
        ),
        (
            "E0106",
            vec![question(
                "items",
                Datatype::Number,
                1,
                "堆放了大约多少件物品 / About how many items were dumped",
                &[],
            )],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::validate_attributes;

    #[test]
    fn categories_are_two_level_unique_and_valid() {
        let all = categories();
        let mut codes = std::collections::HashSet::new();
        for (i, c) in all.iter().enumerate() {
            assert_eq!(c.id, i as i64 + 1);
            assert!(codes.insert(c.code.as_str()), "code {} is unique", c.code);
            c.deadlines.validate().expect("deadlines are valid");
            assert!(c.default_department.is_none());
            if let Some(parent) = c.parent_id {
                let parent = &all[parent as usize - 1];
                assert!(parent.is_class() && parent.kind == c.kind && c.code.starts_with(&parent.code));
            }
        }
        assert!(all.iter().filter(|c| c.kind == Component).count() > 30);
        assert!(all.iter().filter(|c| c.kind == Event).count() > 40);
    }

    #[test]
    fn attributes_are_valid_and_name_subclasses() {
        let all = categories();
        for (code, attrs) in service_attributes() {
            let c = all.iter().find(|c| c.code == code).unwrap_or_else(|| panic!("no subclass {code}"));
            assert!(!c.is_class(), "{code}");
            validate_attributes(&attrs).unwrap_or_else(|e| panic!("{code}: {e}"));
            assert!(attrs.iter().all(|a| !a.required), "{code}: a client that asks nothing still files a report");
        }
        let light = all.iter().find(|c| c.code == "C0107").unwrap();
        assert_eq!(light.name, "路灯");
    }
}
