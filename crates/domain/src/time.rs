//! Instants as milliseconds in the domain, RFC 3339 on the wire.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::{FieldError, Millis};

/// A day in milliseconds.
pub const DAY: Millis = 24 * crate::HOUR;

/// The local day (days since 1970-01-01 in the zone `utc_offset_hours` ahead of UTC) of `at`.
pub fn local_day(at: Millis, utc_offset_hours: i32) -> i64 {
    (at + i64::from(utc_offset_hours) * crate::HOUR).div_euclid(DAY)
}

/// The instant (UTC) at which local day `day` begins.
pub fn local_day_start(day: i64, utc_offset_hours: i32) -> Millis {
    day * DAY - i64::from(utc_offset_hours) * crate::HOUR
}

/// `2026-12-04 09:30`: the local time, to the minute, in the zone `utc_offset_hours` ahead of UTC.
pub fn local_time(ms: Millis, utc_offset_hours: i32) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms + i64::from(utc_offset_hours) * crate::HOUR)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

pub fn to_rfc3339(ms: Millis) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses an RFC 3339 date-time with an offset (`2026-11-22T08:00:00+08:00`).
pub fn parse_rfc3339(field: &str, s: &str) -> Result<Millis, FieldError> {
    DateTime::parse_from_rfc3339(s.trim()).map(|t| t.timestamp_millis()).map_err(|_| {
        FieldError::new(
            field,
            format!("`{s}` is not an RFC 3339 date-time with offset, like 2026-11-22T08:00:00+08:00"),
        )
    })
}

/// `#[serde(with = "crate::time::rfc3339")]` for a `Millis` field.
pub mod rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(ms: &crate::Millis, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::to_rfc3339(*ms))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<crate::Millis, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_rfc3339("time", &s).map_err(serde::de::Error::custom)
    }
}

/// `#[serde(with = "crate::time::rfc3339_opt")]` for an `Option<Millis>` field.
pub mod rfc3339_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(ms: &Option<crate::Millis>, s: S) -> Result<S::Ok, S::Error> {
        match ms {
            Some(ms) => s.serialize_str(&super::to_rfc3339(*ms)),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<crate::Millis>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| super::parse_rfc3339("time", &s).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trips_and_names_the_field() {
        let ms = super::parse_rfc3339("deadline", "2026-11-22T08:00:00+08:00").unwrap();
        assert_eq!(super::to_rfc3339(ms), "2026-11-22T00:00:00.000Z");
        assert_eq!(super::parse_rfc3339("deadline", "tomorrow").unwrap_err().field, "deadline");
    }
}
