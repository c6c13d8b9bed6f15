//! Kinds of places (场所) and the small schema of the fields each kind adds: a shop records its
//! floor area, a hotel its rooms, a school its level. Kinds are data: [`default_place_kinds`]
//! reads `place_kinds.json` (the kinds of a Chinese town), and a deployment replaces or extends
//! them in its store.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::FieldError;

/// A kind of place with the fields its entries carry.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaceKind {
    /// `shop`, `construction_site`: lower-case letters, digits and `_`, starting with a letter.
    pub key: String,
    pub name: String,
    pub name_en: String,
    /// One of the "three small" places (三小场所: small shops, workshops, entertainment venues).
    #[serde(default)]
    pub three_small: bool,
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
}

/// One field of a kind.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldSpec {
    pub key: String,
    pub label: String,
    pub label_en: String,
    #[serde(flatten)]
    pub kind: FieldType,
    #[serde(default)]
    pub required: bool,
}

/// The type of a field's value.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldType {
    /// Text of at most 200 characters.
    Text,
    /// A number, optionally within bounds.
    Number {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
    },
    Bool,
    /// A calendar date, `2026-11-22`.
    Date,
    /// One of the options (keys).
    Choice {
        options: Vec<String>,
    },
}

/// The kind-specific fields of a place: field key → value.
pub type PlaceFields = BTreeMap<String, Value>;

const TEXT_MAX: usize = 200;

/// Whether `s` is a key: 1 to 40 lower-case ASCII letters, digits and `_`, starting with a letter.
pub fn is_key(s: &str) -> bool {
    (1..=40).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl PlaceKind {
    /// Checks the kind itself: its key and field keys, unique fields, names, choices with options.
    pub fn check(&self) -> Result<(), FieldError> {
        if !is_key(&self.key) {
            return Err(FieldError::new(
                "key",
                format!("`{}` is not a key (a-z, 0-9, _; starting with a letter)", self.key),
            ));
        }
        if self.name.trim().is_empty() || self.name_en.trim().is_empty() {
            return Err(FieldError::new("name", "a kind has a name in Chinese and in English"));
        }
        let mut seen = std::collections::BTreeSet::new();
        for f in &self.fields {
            let field = format!("fields.{}", f.key);
            if !is_key(&f.key) {
                return Err(FieldError::new(field, "is not a key (a-z, 0-9, _; starting with a letter)"));
            }
            if !seen.insert(&f.key) {
                return Err(FieldError::new(field, "appears twice"));
            }
            if f.label.trim().is_empty() || f.label_en.trim().is_empty() {
                return Err(FieldError::new(field, "has a label in Chinese and in English"));
            }
            match &f.kind {
                FieldType::Choice { options } if options.is_empty() || !options.iter().all(|o| is_key(o)) => {
                    return Err(FieldError::new(field, "a choice has options, each a key"));
                }
                FieldType::Number { min: Some(lo), max: Some(hi) } if lo > hi => {
                    return Err(FieldError::new(field, "min is above max"));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The fields of a place of this kind, checked against the schema and normalised (text
    /// trimmed, `null` values dropped). A refusal names the field (`fields.rooms`) and why.
    pub fn validate(&self, fields: &PlaceFields) -> Result<PlaceFields, FieldError> {
        let mut out = PlaceFields::new();
        for key in fields.keys() {
            if !self.fields.iter().any(|f| &f.key == key) {
                return Err(FieldError::new(format!("fields.{key}"), format!("is not a field of a {}", self.key)));
            }
        }
        for spec in &self.fields {
            let field = format!("fields.{}", spec.key);
            let bad = |reason: String| FieldError::new(field.clone(), reason);
            let value = match fields.get(&spec.key) {
                None | Some(Value::Null) => {
                    if spec.required {
                        return Err(bad("is required".into()));
                    }
                    continue;
                }
                Some(v) => v,
            };
            let value = match &spec.kind {
                FieldType::Text => {
                    let t = value.as_str().ok_or_else(|| bad("must be text".into()))?.trim();
                    if t.is_empty() {
                        if spec.required {
                            return Err(bad("is required".into()));
                        }
                        continue;
                    }
                    if t.chars().count() > TEXT_MAX {
                        return Err(bad(format!("is longer than {TEXT_MAX} characters")));
                    }
                    Value::String(t.to_string())
                }
                FieldType::Number { min, max } => {
                    let n = value.as_f64().filter(|n| n.is_finite()).ok_or_else(|| bad("must be a number".into()))?;
                    if let Some(lo) = min.filter(|lo| n < *lo) {
                        return Err(bad(format!("must be at least {lo}")));
                    }
                    if let Some(hi) = max.filter(|hi| n > *hi) {
                        return Err(bad(format!("must be at most {hi}")));
                    }
                    value.clone()
                }
                FieldType::Bool => Value::Bool(value.as_bool().ok_or_else(|| bad("must be true or false".into()))?),
                FieldType::Date => {
                    let s = value.as_str().ok_or_else(|| bad("must be a date like 2026-11-22".into()))?;
                    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                        .map_err(|_| bad(format!("`{s}` is not a date like 2026-11-22")))?;
                    Value::String(s.trim().to_string())
                }
                FieldType::Choice { options } => {
                    let s = value.as_str().unwrap_or_default();
                    if !options.iter().any(|o| o == s) {
                        return Err(bad(format!("must be one of {}", options.join(", "))));
                    }
                    value.clone()
                }
            };
            out.insert(spec.key.clone(), value);
        }
        Ok(out)
    }
}

/// The kinds of places of a Chinese town (`place_kinds.json`): the three small — shop, workshop,
/// venue —, enterprise, market, school, clinic, construction site, hotel, restaurant.
pub fn default_place_kinds() -> Vec<PlaceKind> {
    serde_json::from_str(include_str!("place_kinds.json")).expect("place_kinds.json is a list of kinds")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn kind(key: &str) -> PlaceKind {
        default_place_kinds().into_iter().find(|k| k.key == key).unwrap()
    }

    fn fields(v: Value) -> PlaceFields {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn the_default_kinds_are_valid_and_complete() {
        let kinds = default_place_kinds();
        let keys: Vec<_> = kinds.iter().map(|k| k.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "shop",
                "workshop",
                "venue",
                "enterprise",
                "market",
                "school",
                "clinic",
                "construction_site",
                "hotel",
                "restaurant"
            ]
        );
        for k in &kinds {
            k.check().unwrap_or_else(|e| panic!("{}: {e}", k.key));
        }
        let small: Vec<_> = kinds.iter().filter(|k| k.three_small).map(|k| k.key.as_str()).collect();
        assert_eq!(small, ["shop", "workshop", "venue"]);
    }

    #[test]
    fn fields_are_checked_and_each_refusal_names_its_field() {
        let hotel = kind("hotel");
        let ok = hotel.validate(&fields(json!({"rooms": 24, "star_rating": null}))).unwrap();
        assert_eq!(ok, fields(json!({"rooms": 24})));
        let err = |v: Value| hotel.validate(&fields(v)).unwrap_err();
        assert_eq!(err(json!({})), FieldError::new("fields.rooms", "is required"));
        assert_eq!(err(json!({"rooms": "many"})), FieldError::new("fields.rooms", "must be a number"));
        assert_eq!(err(json!({"rooms": -1})), FieldError::new("fields.rooms", "must be at least 1"));
        assert_eq!(err(json!({"rooms": 3, "pool": true})), FieldError::new("fields.pool", "is not a field of a hotel"));
        assert_eq!(
            err(json!({"rooms": 3, "police_system": "yes"})),
            FieldError::new("fields.police_system", "must be true or false")
        );
        let school = kind("school");
        assert_eq!(school.validate(&fields(json!({"level": "college"}))).unwrap_err().field, "fields.level");
        school.validate(&fields(json!({"level": "primary", "students": 640}))).unwrap();
        let site = kind("construction_site");
        assert_eq!(
            site.validate(&fields(json!({"project": "  ", "completion": "2027-02-30"}))).unwrap_err(),
            FieldError::new("fields.project", "is required")
        );
        assert_eq!(
            site.validate(&fields(json!({"project": "桥", "completion": "2027-02-30"}))).unwrap_err(),
            FieldError::new("fields.completion", "`2027-02-30` is not a date like 2026-11-22")
        );
        let trimmed = site.validate(&fields(json!({"project": " 乌镇大桥 ", "completion": "2027-03-01"}))).unwrap();
        assert_eq!(trimmed["project"], json!("乌镇大桥"));
    }

    #[test]
    fn a_kind_with_bad_keys_or_choices_is_refused() {
        let mut k = kind("venue");
        k.key = "Venue".into();
        assert_eq!(k.check().unwrap_err().field, "key");
        let mut k = kind("venue");
        k.fields.push(k.fields[0].clone());
        assert_eq!(k.check().unwrap_err().reason, "appears twice");
        let mut k = kind("venue");
        k.fields.push(FieldSpec {
            key: "size".into(),
            label: "规模".into(),
            label_en: "Size".into(),
            kind: FieldType::Choice { options: vec![] },
            required: false,
        });
        assert_eq!(k.check().unwrap_err().field, "fields.size");
    }
}
