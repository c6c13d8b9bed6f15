//! Request extractors that answer bad input with a problem naming the field: [`ApiJson`] for a
//! JSON body, [`Query`] for the query string.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts};
use serde::de::{self, DeserializeOwned, IntoDeserializer};
use utoipa::openapi::path::ParameterIn;
use utoipa::IntoParams;

use crate::error::ApiError;

/// A JSON body. Unknown fields, wrong types and missing fields are refused with the path of the
/// offending field (`co_departments[1]`).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json") || v.contains("+json"));
        if !is_json {
            return Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "send the body as application/json",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::too_large("the request body is too large")
            } else {
                ApiError::bad_request(e.body_text())
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Read as a value first: a syntax error, or anything but whitespace after the value
    // (`{…}garbage`), is refused before any field is looked at.
    let mut value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
    whole_numbers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let msg = e.into_inner().to_string();
        // serde reports a missing field at the parent path; name the field itself.
        if let Some(rest) = msg.strip_prefix("missing field `") {
            let name = rest.split('`').next().unwrap_or_default();
            let field = if path == "." { name.to_string() } else { format!("{path}.{name}") };
            return ApiError::field(&field, "is required");
        }
        let field = if path == "." { "body".to_string() } else { path };
        let reason = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        ApiError::field(&field, reason)
    })
}

/// JSON has one kind of number: `3.0` is the integer 3 (JSON Schema's `integer` counts it so), and
/// is read as one wherever a whole number is expected.
fn whole_numbers(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|f| n.is_f64() && f.fract() == 0.0) {
                if f >= i64::MIN as f64 && f < i64::MAX as f64 {
                    *n = (f as i64).into();
                } else if f >= 0.0 && f < u64::MAX as f64 {
                    *n = (f as u64).into();
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers),
        Value::Object(fields) => fields.values_mut().for_each(whole_numbers),
        _ => {}
    }
}

/// The raw query string as key/value pairs, for Open311, whose specification lets a client send
/// parameters of its own (the `/api/v1` handlers take a [`Query`] struct instead).
pub struct RawQuery(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for RawQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str::<Vec<(String, String)>>(q)
            .map(RawQuery)
            .map_err(|e| ApiError::bad_request(format!("the query string is malformed: {e}")))
    }
}

impl RawQuery {
    /// The single value of `key`, if given and not empty (an empty parameter counts as absent).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, v)| k == key && !v.is_empty()).map(|(_, v)| v.as_str())
    }
    /// Every value of `key`, also comma-separated ones.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect()
    }
}

/// The query string parsed into `T`, the endpoint's query struct (`Deserialize` + `IntoParams`, so
/// the one struct both parses and documents the parameters; [`Both`] for an endpoint that takes
/// two groups, such as the case filters and a page).
///
/// A parameter that `T` does not name is refused, listing those it knows; an empty parameter counts
/// as absent; a repeated or comma-separated parameter fills a `Vec`, while a single value takes the
/// last one given; a number or a boolean that does not parse is refused naming the parameter
/// (`` `x` is not a whole number ``). What needs the domain to parse (a region code, a state) is
/// kept as text and parsed by the handler, which names the field as well.
pub struct Query<T>(pub T);

/// A query struct: the names it knows, and how it is read from the query's pairs.
pub trait FromQuery: Sized {
    /// The parameters, in the order of the struct (the order the refusal of an unknown one lists).
    fn names() -> Vec<String>;
    /// Reads the pairs whose names are in [`FromQuery::names`], ignoring the others.
    fn from_pairs(pairs: &[(String, String)]) -> Result<Self, ApiError>;
}

impl<T: DeserializeOwned + IntoParams> FromQuery for T {
    fn names() -> Vec<String> {
        T::into_params(|| Some(ParameterIn::Query)).into_iter().map(|p| p.name).collect()
    }

    fn from_pairs(pairs: &[(String, String)]) -> Result<Self, ApiError> {
        let names = Self::names();
        let mut keys: Vec<&str> = vec![];
        for (k, v) in pairs {
            if !v.is_empty() && names.contains(k) && !keys.contains(&k.as_str()) {
                keys.push(k);
            }
        }
        T::deserialize(Pairs { pairs, keys: &keys, next: 0 })
            .map_err(|e| ApiError::field(e.field.as_deref().unwrap_or("query"), e.reason))
    }
}

/// Two query structs read from one query string: `Query<Both<CaseFilters, ListPage>>`.
pub struct Both<A, B>(pub A, pub B);

impl<A: FromQuery, B: FromQuery> FromQuery for Both<A, B> {
    fn names() -> Vec<String> {
        let mut n = A::names();
        n.extend(B::names());
        n
    }

    fn from_pairs(pairs: &[(String, String)]) -> Result<Self, ApiError> {
        Ok(Both(A::from_pairs(pairs)?, B::from_pairs(pairs)?))
    }
}

impl<T: FromQuery, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        from_query_string(parts.uri.query().unwrap_or("")).map(Query)
    }
}

/// Parses a query string (without the `?`) into `T`, as the [`Query`] extractor does.
pub fn from_query_string<T: FromQuery>(q: &str) -> Result<T, ApiError> {
    let pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(q)
        .map_err(|e| ApiError::bad_request(format!("the query string is malformed: {e}")))?;
    from_pairs(&pairs)
}

/// Reads `T` from a query's pairs, refusing a parameter it does not know.
pub fn from_pairs<T: FromQuery>(pairs: &[(String, String)]) -> Result<T, ApiError> {
    let known = T::names();
    if let Some((k, _)) = pairs.iter().find(|(k, _)| !known.contains(k)) {
        return Err(ApiError::field(k, format!("unknown parameter; known: {}", known.join(", "))));
    }
    T::from_pairs(pairs)
}

/// Why a query did not deserialize: the parameter (once known) and the reason.
#[derive(Debug)]
pub struct QueryError {
    field: Option<String>,
    reason: String,
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for QueryError {}

impl de::Error for QueryError {
    fn custom<M: std::fmt::Display>(msg: M) -> Self {
        QueryError { field: None, reason: msg.to_string() }
    }

    fn missing_field(field: &'static str) -> Self {
        QueryError { field: Some(field.into()), reason: "is required".into() }
    }
}

/// The query's pairs as a map of the distinct names that have a value.
struct Pairs<'a> {
    pairs: &'a [(String, String)],
    keys: &'a [&'a str],
    next: usize,
}

impl<'de> de::Deserializer<'de> for Pairs<'_> {
    type Error = QueryError;

    fn deserialize_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, QueryError> {
        visitor.visit_map(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de> de::MapAccess<'de> for Pairs<'_> {
    type Error = QueryError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, QueryError> {
        match self.keys.get(self.next) {
            Some(k) => seed.deserialize(k.to_string().into_deserializer()).map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, QueryError> {
        let key = self.keys[self.next];
        self.next += 1;
        let values: Vec<&str> =
            self.pairs.iter().filter(|(k, v)| k == key && !v.is_empty()).map(|(_, v)| v.as_str()).collect();
        seed.deserialize(Values { values }).map_err(|mut e| {
            e.field.get_or_insert_with(|| key.to_string());
            e
        })
    }
}

/// The non-empty values of one parameter.
struct Values<'a> {
    values: Vec<&'a str>,
}

impl Values<'_> {
    /// The last value given (a parameter given twice takes the later).
    fn last(&self) -> &str {
        self.values.last().copied().unwrap_or_default()
    }

    fn parse<T: std::str::FromStr>(&self, what: &str) -> Result<T, QueryError> {
        let v = self.last();
        v.trim().parse().map_err(|_| de::Error::custom(format!("`{v}` is not {what}")))
    }
}

macro_rules! parse_as {
    ($($method:ident $visit:ident $ty:ty, $what:literal;)*) => {
        $(fn $method<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, QueryError> {
            visitor.$visit(self.parse::<$ty>($what)?)
        })*
    };
}

impl<'de> de::Deserializer<'de> for Values<'_> {
    type Error = QueryError;

    fn deserialize_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, QueryError> {
        visitor.visit_string(self.last().to_string())
    }

    parse_as! {
        deserialize_bool visit_bool bool, "true or false";
        deserialize_i8 visit_i8 i8, "a whole number";
        deserialize_i16 visit_i16 i16, "a whole number";
        deserialize_i32 visit_i32 i32, "a whole number";
        deserialize_i64 visit_i64 i64, "a whole number";
        deserialize_u8 visit_u8 u8, "a whole number";
        deserialize_u16 visit_u16 u16, "a whole number";
        deserialize_u32 visit_u32 u32, "a whole number";
        deserialize_u64 visit_u64 u64, "a whole number";
        deserialize_f32 visit_f32 f32, "a number";
        deserialize_f64 visit_f64 f64, "a number";
    }

    fn deserialize_option<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, QueryError> {
        if self.values.is_empty() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: de::Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, QueryError> {
        visitor.visit_newtype_struct(self)
    }

    /// Every value, and every item of a comma-separated value.
    fn deserialize_seq<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, QueryError> {
        let items = self.values.iter().flat_map(|v| v.split(',')).map(str::trim).filter(|v| !v.is_empty());
        visitor.visit_seq(de::value::SeqDeserializer::new(items.map(|v| Values { values: vec![v] })))
    }

    fn deserialize_enum<V: de::Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, QueryError> {
        visitor.visit_enum(self.last().to_string().into_deserializer())
    }

    serde::forward_to_deserialize_any! {
        i128 u128 char str string bytes byte_buf unit unit_struct tuple
        tuple_struct map struct identifier ignored_any
    }
}

impl<'de> IntoDeserializer<'de, QueryError> for Values<'_> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

/// Reads a number with its own wording of the refusal (`` `x` is not a department id ``), for
/// `#[serde(default, deserialize_with = "...")]` on an `Option` field of a query struct.
macro_rules! wording {
    ($($name:ident: $ty:ty, $what:literal;)*) => {
        $(pub fn $name<'de, D: de::Deserializer<'de>>(d: D) -> Result<Option<$ty>, D::Error> {
            let v: Option<String> = serde::Deserialize::deserialize(d)?;
            v.map(|v| v.trim().parse::<$ty>().map_err(|_| de::Error::custom(format!("`{v}` is not {}", $what))))
                .transpose()
        })*
    };
}

/// The wordings of refusals that name what a number stands for.
pub mod worded {
    use super::de;

    wording! {
        department_id: i64, "a department id";
        category_id: i64, "a category id";
        person_id: i64, "a person id";
        entry_id: i64, "an entry id";
        zoom_level: u8, "a zoom level";
        metres: f64, "a number of metres";
        square_metres: f64, "a number of square metres";
        days: i64, "a whole number of days";
    }
}
