//! The demo town's people: one login for every role, with realistic Chinese names and phone
//! numbers and one shared password. Person ids are the positions in [`Roster::people`] plus one,
//! which is what the store assigns on a fresh database.

use std::collections::HashSet;

use gridkeeper_domain::{Actor, Grant, PersonId, Role, Scope};
use gridkeeper_store::NewPerson;
use rand::{rngs::StdRng, Rng, SeedableRng};

use crate::{org::Org, town::Town, DemoPerson};

/// The password of every demo login.
pub(crate) const PASSWORD: &str = "demo1234";

pub(crate) const SURNAMES: [&str; 32] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林",
    "罗", "沈", "钱", "姚", "蒋", "褚", "费", "茅", "俞", "金", "范", "陆", "施",
];
pub(crate) const GIVEN_NAMES: [&str; 48] = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "霞", "平",
    "刚", "秀英", "桂英", "建华", "志强", "晓燕", "海峰", "玉兰", "国庆", "春梅", "建国", "丽萍", "晓东", "文斌",
    "雪梅", "子豪", "欣怡", "浩然", "梓涵", "佳琪", "一鸣", "雨桐", "俊杰", "美华", "永林", "红英", "建新", "立群",
    "卫东",
];
pub(crate) const PHONE_PREFIXES: [&str; 12] =
    ["138", "139", "137", "136", "135", "150", "151", "158", "159", "187", "188", "189"];

/// Residents ("Wuzhen housekeepers") living in each community.
const RESIDENTS_PER_COMMUNITY: usize = 5;

pub(crate) struct Roster {
    pub people: Vec<DemoPerson>,
    /// The actor of every person, at index id − 1.
    actors: Vec<Actor>,
    /// The linkage center's dispatchers: day, evening and night shift.
    pub dispatchers: [PersonId; 3],
    pub supervisor: PersonId,
    /// Per community.
    pub leaders: Vec<PersonId>,
    /// Per grid: the members responsible for it.
    pub members: Vec<Vec<PersonId>>,
    /// Per department: a staff member and the head.
    pub staff: Vec<PersonId>,
    pub heads: Vec<PersonId>,
    /// Per community: the residents living there.
    pub residents: Vec<Vec<PersonId>>,
}

impl Roster {
    pub fn build(seed: u64, town: &Town, org: &Org) -> Self {
        let mut b = Builder {
            rng: StdRng::seed_from_u64(seed ^ 0x7065_6f70_6c65_0000),
            people: Vec::new(),
            actors: Vec::new(),
            names: HashSet::new(),
            phones: HashSet::new(),
        };
        let district = || Scope::Region { code: town.district.code.clone() };
        b.add("admin".into(), "administrator", Role::Admin, district());
        let dispatchers = [
            ("dispatcher", "dispatcher (linkage center, day shift)"),
            ("dispatcher02", "dispatcher (linkage center, evening shift)"),
            ("dispatcher03", "dispatcher (linkage center, night shift)"),
        ]
        .map(|(login, label)| b.add(login.into(), label, Role::Dispatcher, district()));
        let supervisor = b.add("supervisor".into(), "supervisor (town leadership)", Role::Supervisor, district());
        b.add("analyst".into(), "analyst (analysis desk)", Role::Analyst, district());
        b.add("auditor".into(), "auditor", Role::Auditor, district());

        let leaders = town
            .communities
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let scope = Scope::Region { code: c.region.code.clone() };
                b.add(format!("leader{:02}", i + 1), "grid leader (community)", Role::GridLeader, scope)
            })
            .collect();

        let mut members: Vec<Vec<PersonId>> = town
            .grids
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let scope = Scope::Region { code: g.region.code.clone() };
                vec![b.add(format!("member{:03}", i + 1), "grid member", Role::GridMember, scope)]
            })
            .collect();
        // A second member per community shares its two busiest grids, the first two.
        for c in 0..town.communities.len() {
            let login = format!("member{:03}", town.grids.len() + c + 1);
            let grids: Vec<usize> = (0..town.grids.len()).filter(|&g| town.grids[g].community == c).take(2).collect();
            let grants = grids
                .iter()
                .map(|&g| grant(Role::GridMember, Scope::Region { code: town.grids[g].region.code.clone() }))
                .collect();
            let id = b.person(login, "grid member (two grids)", grants);
            for g in grids {
                members[g].push(id);
            }
        }

        let department_scope = |i: usize| Scope::Department { id: org.departments[i].id };
        let staff = (0..org.departments.len())
            .map(|i| b.add(format!("dept{:02}", i + 1), "department staff", Role::DepartmentStaff, department_scope(i)))
            .collect();
        let heads = (0..org.departments.len())
            .map(|i| b.add(format!("head{:02}", i + 1), "department head", Role::DepartmentHead, department_scope(i)))
            .collect();

        let residents = (0..town.communities.len())
            .map(|c| {
                (0..RESIDENTS_PER_COMMUNITY)
                    .map(|r| {
                        let login = format!("resident{:02}", c * RESIDENTS_PER_COMMUNITY + r + 1);
                        b.add(login, "resident (Wuzhen housekeeper)", Role::Resident, district())
                    })
                    .collect()
            })
            .collect();

        // The community police of the town's station read the tenancy registrations.
        b.add("police".into(), "community police (reads tenancy registrations)", Role::Police, district());

        Self { people: b.people, actors: b.actors, dispatchers, supervisor, leaders, members, staff, heads, residents }
    }

    pub fn actor(&self, id: PersonId) -> &Actor {
        &self.actors[usize::try_from(id - 1).expect("person ids start at 1")]
    }
}

fn grant(role: Role, scope: Scope) -> Grant {
    Grant::new(role, scope).expect("demo roles are held in the kind of scope they need")
}

struct Builder {
    rng: StdRng,
    people: Vec<DemoPerson>,
    actors: Vec<Actor>,
    names: HashSet<String>,
    phones: HashSet<String>,
}

impl Builder {
    fn add(&mut self, login: String, role_label: &'static str, role: Role, scope: Scope) -> PersonId {
        self.person(login, role_label, vec![grant(role, scope)])
    }

    fn person(&mut self, login: String, role_label: &'static str, grants: Vec<Grant>) -> PersonId {
        let name = loop {
            let name = format!(
                "{}{}",
                SURNAMES[self.rng.gen_range(0..SURNAMES.len())],
                GIVEN_NAMES[self.rng.gen_range(0..GIVEN_NAMES.len())]
            );
            if self.names.insert(name.clone()) {
                break name;
            }
        };
        let phone = loop {
            let phone = format!(
                "{}{:08}",
                PHONE_PREFIXES[self.rng.gen_range(0..PHONE_PREFIXES.len())],
                self.rng.gen_range(0..100_000_000)
            );
            if self.phones.insert(phone.clone()) {
                break phone;
            }
        };
        let id = self.people.len() as PersonId + 1;
        self.actors.push(Actor::person(id, grants.clone()));
        self.people.push(DemoPerson {
            person: NewPerson { login, name, phone: Some(phone), id_number: None, password_hash: None, grants },
            password: PASSWORD.into(),
            role_label,
        });
        id
    }
}
