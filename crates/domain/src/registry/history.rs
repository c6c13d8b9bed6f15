//! The history of the registry: every change to an entry is a [`RegistryChange`] — which entry,
//! when, who, what kind of change, and the fields it changed with their old and new values.
//! Personal values never appear in clear in it: names, phones and ID numbers of the people an
//! entry names are recorded masked.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{code_enum, mask_name};
use crate::{Millis, PersonId};

code_enum!(
    /// The kinds of registry entries.
    EntityKind, "entity" {
        Building = "building",
        House = "house",
        Tenancy = "tenancy",
        Place = "place",
        Care = "care",
    }
);

code_enum!(
    /// What happened to an entry.
    ChangeAction, "action" {
        Created = "created",
        Updated = "updated",
        /// A place closed.
        Closed = "closed",
        /// A place moved (its old entry) or was opened by a move (its new entry).
        Moved = "moved",
        /// A tenant moved out.
        Ended = "ended",
        /// Personal details wiped after the retention time.
        Anonymised = "anonymised",
    }
);

/// An entry of the registry.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EntityRef {
    pub kind: EntityKind,
    pub id: i64,
}

impl EntityRef {
    pub fn new(kind: EntityKind, id: i64) -> Self {
        Self { kind, id }
    }
}

/// One field an action changed. `field` is a dotted path (`owner.phone`, `fields.rooms`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub old: Value,
    pub new: Value,
}

/// One change to one entry (append-only).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegistryChange {
    pub id: i64,
    pub entity: EntityRef,
    #[serde(with = "crate::time::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Millis,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub actor: Option<PersonId>,
    pub action: ChangeAction,
    pub changes: Vec<FieldChange>,
}

/// The objects whose `name`, `phone` and `id_number` are a person's (see `PersonalDetails`).
const PERSONAL: [&str; 4] = ["owner", "tenant", "responsible", "person"];

/// The fields that differ between `old` (`None` for a new entry) and `new`, as dotted paths of
/// their serialised forms, in path order; the personal values of the people they name masked.
pub fn changes<T: Serialize>(old: Option<&T>, new: &T) -> Vec<FieldChange> {
    let flat = |v: Option<&T>| {
        let mut out = Map::new();
        if let Some(v) = v {
            flatten("", serde_json::to_value(v).expect("entries serialise"), &mut out);
        }
        out
    };
    let (old, new) = (flat(old), flat(Some(new)));
    let mut fields: Vec<&String> = old.keys().chain(new.keys()).collect();
    fields.sort();
    fields.dedup();
    fields
        .into_iter()
        .filter_map(|f| {
            let (o, n) = (old.get(f).unwrap_or(&Value::Null), new.get(f).unwrap_or(&Value::Null));
            (o != n).then(|| FieldChange { field: f.clone(), old: mask(f, o), new: mask(f, n) })
        })
        .collect()
}

fn flatten(prefix: &str, v: Value, out: &mut Map<String, Value>) {
    match v {
        Value::Object(m) if !m.is_empty() || prefix.is_empty() => {
            for (k, v) in m {
                let path = if prefix.is_empty() { k } else { format!("{prefix}.{k}") };
                flatten(&path, v, out);
            }
        }
        Value::Null => {}
        v => {
            out.insert(prefix.to_string(), v);
        }
    }
}

/// The value of `field` as history may keep it.
fn mask(field: &str, v: &Value) -> Value {
    let Some((parent, leaf)) = field.rsplit_once('.') else { return v.clone() };
    if !PERSONAL.contains(&parent) {
        return v.clone();
    }
    let Some(s) = v.as_str() else { return v.clone() };
    Value::String(match leaf {
        "name" => mask_name(s),
        "phone" => super::Phone::parse(s).map(|p| p.masked()).unwrap_or_else(|_| "*".repeat(s.len())),
        "id_number" => super::ResidentIdNumber::parse(s).map(|i| i.masked()).unwrap_or_else(|_| "*".repeat(s.len())),
        _ => return v.clone(),
    })
}
