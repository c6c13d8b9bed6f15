//! Identifiers with check digits (STANDARDS.md, "Identifiers with check digits"): the resident ID
//! number (GB 11643-1999), the unified social credit code (GB 32100-2015), and the mobile number.
//! Each parses into a type that holds only valid values, and a refusal says what is wrong.

use chrono::Datelike;
use serde::{Deserialize, Serialize};

use crate::FieldError;

/// A resident ID number (公民身份号码, GB 11643-1999): 6-digit address code, 8-digit birth date
/// that exists, 3-digit sequence, and the check character `"10X98765432"[Σ digit × weight mod 11]`.
/// A lower-case `x` is accepted and stored upper-case. Personal data: seal it, mask it in lists.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = String, example = "11010519491231002X"))]
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ResidentIdNumber(String);

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

impl ResidentIdNumber {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let bad = |reason: String| FieldError::new("id_number", reason);
        let t = s.trim().to_ascii_uppercase();
        let b = t.as_bytes();
        if b.len() != 18 {
            return Err(bad(format!("has {} characters; a resident ID number has 18", t.chars().count())));
        }
        if let Some(c) = t[..17].chars().find(|c| !c.is_ascii_digit()) {
            return Err(bad(format!("character {c} is not a digit (the first 17 are digits)")));
        }
        if !(b[17].is_ascii_digit() || b[17] == b'X') {
            return Err(bad(format!(
                "the last character {} is neither a digit nor X",
                t[17..].chars().next().unwrap_or('?')
            )));
        }
        let birth = &t[6..14];
        let date = chrono::NaiveDate::parse_from_str(birth, "%Y%m%d")
            .map_err(|_| bad(format!("birth date {birth} does not exist")))?;
        if date.year_ce().1 < 1850 {
            return Err(bad(format!("birth date {birth} is before 1850")));
        }
        let sum: u32 = b[..17].iter().zip(ID_WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
        let check = ID_CHECK[(sum % 11) as usize];
        if b[17] != check {
            return Err(bad(format!("check digit should be {}", check as char)));
        }
        Ok(Self(t))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The birth date it encodes.
    pub fn birth_date(&self) -> chrono::NaiveDate {
        chrono::NaiveDate::parse_from_str(&self.0[6..14], "%Y%m%d").expect("checked when parsed")
    }

    /// For display where it must not be read in full: the first 4 and the last 4 characters
    /// (`1101**********002X`).
    pub fn masked(&self) -> String {
        format!("{}{}{}", &self.0[..4], "*".repeat(10), &self.0[14..])
    }
}

/// A unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters over
/// `0123456789ABCDEFGHJKLMNPQRTUWXY`, the last a check character over the first 17 (weights
/// `1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28`, c = 31 − (Σ mod 31), 31 → 0). Lower-case
/// letters are accepted and stored upper-case.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = String, example = "914403001922038216"))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CreditCode(String);

const CREDIT_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const CREDIT_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

impl CreditCode {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let bad = |reason: String| FieldError::new("credit_code", reason);
        let t = s.trim().to_ascii_uppercase();
        let n = t.chars().count();
        if n != 18 {
            return Err(bad(format!("has {n} characters; a unified social credit code has 18")));
        }
        let mut values = [0u32; 18];
        for (i, c) in t.chars().enumerate() {
            let v = CREDIT_ALPHABET
                .iter()
                .position(|&a| a as char == c)
                .ok_or_else(|| bad(format!("character {c} is not in the alphabet 0-9 A-Y without I, O, S, V, Z")))?;
            values[i] = v as u32;
        }
        let sum: u32 = values[..17].iter().zip(CREDIT_WEIGHTS).map(|(v, w)| v * w).sum();
        let c = (31 - sum % 31) % 31;
        let check = CREDIT_ALPHABET[c as usize] as char;
        if values[17] != c {
            return Err(bad(format!("check digit should be {check}")));
        }
        Ok(Self(t))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 6-digit administrative division code it carries (characters 3 to 8).
    pub fn division(&self) -> &str {
        &self.0[2..8]
    }
}

/// A mainland mobile number: 11 digits, `1` then `3`–`9` (spaces, dashes and a `+86` prefix are
/// dropped). Personal data: seal it, mask it in lists.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = String, example = "13812341234"))]
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let digits = crate::parse_phone(s)?;
        let bad = |reason: &str| FieldError::new("phone", reason);
        if digits.len() != 11 {
            return Err(bad("a mobile number has 11 digits"));
        }
        if !digits.starts_with('1') || !(b'3'..=b'9').contains(&digits.as_bytes()[1]) {
            return Err(bad("a mobile number starts with 13 to 19"));
        }
        Ok(Self(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `138****1234`.
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }
}

macro_rules! string_type {
    ($($t:ident),*) => {$(
        impl TryFrom<String> for $t {
            type Error = FieldError;
            fn try_from(s: String) -> Result<Self, FieldError> {
                Self::parse(&s)
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.0
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}
string_type!(ResidentIdNumber, CreditCode, Phone);

// Personal data does not print in full in logs or panics.
impl std::fmt::Debug for ResidentIdNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ResidentIdNumber({})", self.masked())
    }
}
impl std::fmt::Debug for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason<T: std::fmt::Debug>(r: Result<T, FieldError>) -> String {
        r.unwrap_err().reason
    }

    #[test]
    fn resident_id_numbers_by_their_check_digit() {
        // The example of GB 11643-1999, with its check character X in either case.
        let id = ResidentIdNumber::parse("11010519491231002X").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.birth_date(), chrono::NaiveDate::from_ymd_opt(1949, 12, 31).unwrap());
        assert_eq!(ResidentIdNumber::parse(" 11010519491231002x ").unwrap(), id);
        assert_eq!(id.masked(), "1101**********002X");
        assert!(!format!("{id:?}").contains("19491231"));
        for ok in ["110101199003074477", "440524188001010014"] {
            ResidentIdNumber::parse(ok).unwrap();
        }
        assert_eq!(reason(ResidentIdNumber::parse("110105194912310021")), "check digit should be X");
        assert_eq!(reason(ResidentIdNumber::parse("110101199003074478")), "check digit should be 7");
        assert_eq!(reason(ResidentIdNumber::parse("110105199902310021")), "birth date 19990231 does not exist");
        assert_eq!(
            reason(ResidentIdNumber::parse("11010519491231002")),
            "has 17 characters; a resident ID number has 18"
        );
        assert_eq!(
            reason(ResidentIdNumber::parse("1101051949123100X2")),
            "character X is not a digit (the first 17 are digits)"
        );
        assert_eq!(ResidentIdNumber::parse("x").unwrap_err().field, "id_number");
        let json: Result<ResidentIdNumber, _> = serde_json::from_str("\"110105194912310021\"");
        assert!(json.unwrap_err().to_string().contains("check digit should be X"));
    }

    #[test]
    fn credit_codes_by_their_check_character() {
        // Huawei, Tencent's Shenzhen company, Alibaba (China), Xiaomi, Baidu's Netcom, a Shanghai
        // MA code: real codes, each checked by the algorithm.
        for ok in [
            "914403001922038216",
            "91440300708461136T",
            "91330100799655058B",
            "91110108551385082Q",
            "91110000802100433B",
            "91310000MA1FL8TQ36",
        ] {
            let c = CreditCode::parse(ok).unwrap();
            assert_eq!(c.as_str(), ok);
        }
        assert_eq!(CreditCode::parse("91440300708461136t").unwrap().as_str(), "91440300708461136T");
        assert_eq!(CreditCode::parse("914403001922038216").unwrap().division(), "440300");
        assert_eq!(reason(CreditCode::parse("914403001922038217")), "check digit should be 6");
        assert_eq!(reason(CreditCode::parse("91440300708461136A")), "check digit should be T");
        assert_eq!(
            reason(CreditCode::parse("91440300708461O36T")),
            "character O is not in the alphabet 0-9 A-Y without I, O, S, V, Z"
        );
        assert_eq!(
            reason(CreditCode::parse("9144030070846")),
            "has 13 characters; a unified social credit code has 18"
        );
        assert_eq!(CreditCode::parse("").unwrap_err().field, "credit_code");
    }

    #[test]
    fn a_check_of_zero_is_written_0() {
        // Find a code whose sum is a multiple of 31: its check character is 0, not 31.
        let body = (0..1000)
            .map(|n| format!("91330483{n:09}"))
            .find(|b| {
                let sum: u32 = b.bytes().zip(CREDIT_WEIGHTS).map(|(c, w)| u32::from(c - b'0') * w).sum();
                sum.is_multiple_of(31)
            })
            .unwrap();
        CreditCode::parse(&format!("{body}0")).unwrap();
    }

    #[test]
    fn mobile_numbers() {
        let p = Phone::parse("+86 138-1234-1234").unwrap();
        assert_eq!(p.as_str(), "13812341234");
        assert_eq!(p.masked(), "138****1234");
        assert!(!format!("{p:?}").contains("1381234"));
        assert_eq!(reason(Phone::parse("12812341234")), "a mobile number starts with 13 to 19");
        assert_eq!(reason(Phone::parse("1381234123")), "a mobile number has 11 digits");
        assert_eq!(Phone::parse("call me").unwrap_err().field, "phone");
    }
}
