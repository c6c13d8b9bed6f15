//! The administrative tree: district → street/town → community → grid, with 15-digit codes.

use serde::{Deserialize, Serialize};

use crate::FieldError;

/// Level of a node in the region tree.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionLevel {
    District,
    Street,
    Community,
    Grid,
}

impl RegionLevel {
    /// Number of digits of a code at this level (6 + 3 + 3 + 3).
    pub fn code_len(self) -> usize {
        match self {
            Self::District => 6,
            Self::Street => 9,
            Self::Community => 12,
            Self::Grid => 15,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::District => "district",
            Self::Street => "street",
            Self::Community => "community",
            Self::Grid => "grid",
        }
    }
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        Ok(match s {
            "district" => Self::District,
            "street" => Self::Street,
            "community" => Self::Community,
            "grid" => Self::Grid,
            _ => return Err(FieldError::new("level", "must be district, street, community or grid")),
        })
    }
}

/// A region code: 6 digits (district, GB/T 2260), then 3 for the street or town, 3 for the
/// community or village, 3 for the grid. Stored in its short form (6, 9, 12 or 15 digits) so that
/// "is in the subtree of" is a prefix test. The padded 15-digit form (`330483101000000`) is accepted
/// and shortened.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegionCode(String);

impl RegionCode {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let s = s.trim();
        let bad = || {
            FieldError::new(
                "region",
                format!(
                    "`{s}` is not a region code: expected 6, 9, 12 or 15 digits (district + street + community + grid)"
                ),
            )
        };
        if !s.bytes().all(|b| b.is_ascii_digit()) || ![6, 9, 12, 15].contains(&s.len()) {
            return Err(bad());
        }
        let mut code = s;
        // Shorten padded forms: trailing all-zero groups mean "this level is not used".
        while code.len() > 6 && code.ends_with("000") {
            code = &code[..code.len() - 3];
        }
        if &code[..6] == "000000" {
            return Err(bad());
        }
        // A non-zero lower group under a zero upper group (330483000001) is not a tree path.
        if (6..code.len()).step_by(3).any(|i| &code[i..i + 3] == "000") {
            return Err(bad());
        }
        Ok(Self(code.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn level(&self) -> RegionLevel {
        match self.0.len() {
            6 => RegionLevel::District,
            9 => RegionLevel::Street,
            12 => RegionLevel::Community,
            _ => RegionLevel::Grid,
        }
    }

    /// The parent code, or `None` for a district.
    pub fn parent(&self) -> Option<RegionCode> {
        (self.0.len() > 6).then(|| RegionCode(self.0[..self.0.len() - 3].to_string()))
    }

    /// This code and every one above it, up to its district (the grid first).
    pub fn and_ancestors(&self) -> Vec<RegionCode> {
        std::iter::successors(Some(self.clone()), RegionCode::parent).collect()
    }

    /// The district this code belongs to (its first 6 digits).
    pub fn district(&self) -> &str {
        &self.0[..6]
    }

    /// The ancestor (or self) at `level`, if this code is at that level or below.
    pub fn at_level(&self, level: RegionLevel) -> Option<RegionCode> {
        (self.0.len() >= level.code_len()).then(|| RegionCode(self.0[..level.code_len()].to_string()))
    }

    /// True when `other` is this region or lies in its subtree.
    pub fn contains(&self, other: &RegionCode) -> bool {
        other.0.starts_with(&self.0)
    }

    /// The 15-digit padded form, as used in exchanges with other systems.
    pub fn padded(&self) -> String {
        format!("{:0<15}", self.0)
    }

    /// Code of the `n`th child (1-based) of this region.
    pub fn child(&self, n: u16) -> Result<RegionCode, FieldError> {
        if self.level() == RegionLevel::Grid || n == 0 || n > 999 {
            return Err(FieldError::new("region", "a grid has no children; child numbers run 1 to 999"));
        }
        Ok(RegionCode(format!("{}{:03}", self.0, n)))
    }
}

impl TryFrom<String> for RegionCode {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<RegionCode> for String {
    fn from(c: RegionCode) -> String {
        c.0
    }
}

impl std::fmt::Display for RegionCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A node of the region tree. `geometry` is a GeoJSON geometry (Polygon or MultiPolygon, WGS-84).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Region {
    pub code: RegionCode,
    pub name: String,
    pub name_en: Option<String>,
    pub geometry: Option<serde_json::Value>,
}

impl Region {
    pub fn level(&self) -> RegionLevel {
        self.code.level()
    }
    pub fn parent(&self) -> Option<RegionCode> {
        self.code.parent()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_level_and_shortens_padding() {
        assert_eq!(RegionCode::parse("330483").unwrap().level(), RegionLevel::District);
        assert_eq!(RegionCode::parse("330483101").unwrap().level(), RegionLevel::Street);
        assert_eq!(RegionCode::parse("330483101002").unwrap().level(), RegionLevel::Community);
        let grid = RegionCode::parse("330483101002015").unwrap();
        assert_eq!(grid.level(), RegionLevel::Grid);
        assert_eq!(grid.parent().unwrap().as_str(), "330483101002");
        assert_eq!(grid.district(), "330483");
        assert_eq!(RegionCode::parse("330483101000000").unwrap().as_str(), "330483101");
        assert_eq!(grid.padded(), "330483101002015");
        assert_eq!(RegionCode::parse("330483101").unwrap().padded(), "330483101000000");
    }

    #[test]
    fn refuses_malformed_codes() {
        for bad in ["", "33048", "3304831", "33048310100a", "000000", "330483000001", "330483101000002"] {
            let err = RegionCode::parse(bad).unwrap_err();
            assert_eq!(err.field, "region", "{bad}");
        }
    }

    #[test]
    fn subtree_is_a_prefix() {
        let street = RegionCode::parse("330483101").unwrap();
        assert!(street.contains(&RegionCode::parse("330483101002015").unwrap()));
        assert!(!street.contains(&RegionCode::parse("330483102002015").unwrap()));
        assert!(street.contains(&street));
        assert_eq!(street.child(7).unwrap().as_str(), "330483101007");
    }
}
