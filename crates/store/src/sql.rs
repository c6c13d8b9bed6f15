//! [`Sql`]: a statement built piece by piece with its arguments, for either database.
//!
//! sqlx's `QueryBuilder` cannot run a statement in code that is generic over the database: the
//! lifetime of its arguments is invariant there, so the builder would stay borrowed past its own
//! end. `Sql` owns its text and its values, writes each parameter in the database's own form
//! ([`Dialect::placeholder`]: `?` on SQLite, `$n` on PostgreSQL) when it is run
//! ([`SqlStore::query_of`](crate::SqlStore)), and is built with the same calls as
//! `QueryBuilder`: `push`, `push_bind`, `separated`, `push_values`.

use std::sync::OnceLock;

use serde_json::Value;

use crate::Dialect;

/// One bound value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Bool(bool),
    I32(i32),
    Int(Option<i64>),
    Float(Option<f64>),
    Text(Option<String>),
    Json(Value),
    Bytes(Vec<u8>),
}

impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}
impl From<i32> for Arg {
    fn from(v: i32) -> Self {
        Arg::I32(v)
    }
}
impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}
impl From<f64> for Arg {
    fn from(v: f64) -> Self {
        Arg::Float(Some(v))
    }
}
impl From<Option<f64>> for Arg {
    fn from(v: Option<f64>) -> Self {
        Arg::Float(v)
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(Some(v))
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(Some(v.to_string()))
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Text(Some(v.clone()))
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v)
    }
}
impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Arg::Text(v.map(str::to_string))
    }
}
impl From<Vec<u8>> for Arg {
    fn from(v: Vec<u8>) -> Self {
        Arg::Bytes(v)
    }
}
impl From<&Value> for Arg {
    fn from(v: &Value) -> Self {
        Arg::Json(v.clone())
    }
}

/// A statement and its arguments.
#[derive(Debug, Default)]
pub(crate) struct Sql {
    /// The text without its placeholders.
    raw: String,
    /// Where each argument's placeholder goes in `raw`, in order. (Offsets rather than a string
    /// per part: a bulk write binds millions of values, and an allocation each cost the import
    /// most of its time.)
    at: Vec<usize>,
    pub(crate) args: Vec<Arg>,
    /// The text with its placeholders, written once for the database it runs on.
    text: OnceLock<String>,
}

impl Sql {
    pub(crate) fn new(text: impl Into<String>) -> Self {
        Self { raw: text.into(), ..Self::default() }
    }

    /// Appends SQL text.
    pub(crate) fn push(&mut self, text: impl std::fmt::Display) -> &mut Self {
        use std::fmt::Write;
        write!(self.raw, "{text}").expect("writing to a String cannot fail");
        self
    }

    /// Appends the next parameter and its value.
    pub(crate) fn push_bind(&mut self, value: impl Into<Arg>) -> &mut Self {
        self.args.push(value.into());
        self.at.push(self.raw.len());
        self
    }

    /// Puts `head` before the statement (`EXPLAIN `).
    #[cfg(test)]
    pub(crate) fn prepend(&mut self, head: &str) {
        self.raw.insert_str(0, head);
        for at in &mut self.at {
            *at += head.len();
        }
    }

    /// The statement's text, with `D`'s placeholders.
    pub(crate) fn text<D: Dialect>(&self) -> &str {
        self.text.get_or_init(|| {
            let mut out = String::with_capacity(self.raw.len() + 6 * self.args.len());
            let mut from = 0;
            for (i, &at) in self.at.iter().enumerate() {
                out.push_str(&self.raw[from..at]);
                D::placeholder(&mut out, i + 1);
                from = at;
            }
            out.push_str(&self.raw[from..]);
            out
        })
    }

    /// Values separated by `separator` (an `IN (…)` list, a row of values).
    pub(crate) fn separated(&mut self, separator: &'static str) -> Separated<'_> {
        Separated { sql: self, separator, first: true }
    }

    /// `(v1, v2, …)`: an `IN` list of `values`.
    pub(crate) fn push_in<A: Into<Arg>>(&mut self, values: impl IntoIterator<Item = A>) -> &mut Self {
        self.push("(");
        let mut s = self.separated(", ");
        for v in values {
            s.push_bind(v);
        }
        self.push(")")
    }

    /// ` VALUES (…), (…)`: one row of values for each item, pushed by `row`.
    pub(crate) fn push_values<I>(&mut self, items: impl IntoIterator<Item = I>, mut row: impl FnMut(Separated<'_>, I)) {
        self.push("VALUES ");
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.push("(");
            row(self.separated(", "), item);
            self.push(")");
        }
    }
}

/// Values pushed with a separator between them (see [`Sql::separated`]).
pub(crate) struct Separated<'a> {
    sql: &'a mut Sql,
    separator: &'static str,
    first: bool,
}

impl Separated<'_> {
    pub(crate) fn push_bind(&mut self, value: impl Into<Arg>) -> &mut Self {
        if !self.first {
            self.sql.push(self.separator);
        }
        self.first = false;
        self.sql.push_bind(value);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_numbered_in_order() {
        let mut b = Sql::new("SELECT 1 FROM t WHERE a = ");
        b.push_bind(1i64).push(" AND b IN (");
        let mut s = b.separated(", ");
        for x in ["x", "y"] {
            s.push_bind(x);
        }
        b.push(")");
        assert_eq!(b.text::<sqlx::Postgres>(), "SELECT 1 FROM t WHERE a = $1 AND b IN ($2, $3)");
        let mut v = Sql::new("INSERT INTO t (a, b) ");
        v.push_values([(1i64, true), (2, false)], |mut row, (a, b)| {
            row.push_bind(a).push_bind(b);
        });
        assert_eq!(v.text::<sqlx::Sqlite>(), "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)");
        assert_eq!(v.args, [Arg::Int(Some(1)), Arg::Bool(true), Arg::Int(Some(2)), Arg::Bool(false)]);
    }
}
