//! The one listing model: exact filters, DRF search and ordering over a resource's columns, evaluated on rows by
//! the memory store here and compiled to SQL for the SQL stores (`sql/listing.rs`), so each rule is written once.
//!
//! A resource names its columns with an enum implementing [`Column`] (the SQL expression of each); the memory
//! store reads a row's [`Value`] of a column. Everything else (what a filter matches, how search terms split and
//! match, where `NULL` sorts, the tiebreak, paging) is defined here.

use std::borrow::Cow;
use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::pagination::{PageRequest, Slice};

/// A column's value in one row, or a filter's operand.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Int(i64),
    Bool(bool),
    Text(Cow<'a, str>),
    Uuid(Uuid),
    Time(DateTime<Utc>),
}

impl<'a> Value<'a> {
    pub fn text(text: &'a str) -> Self {
        Value::Text(Cow::Borrowed(text))
    }

    /// `None` is `NULL`.
    pub fn opt_text(text: Option<&'a str>) -> Self {
        text.map_or(Value::Null, Value::text)
    }

    pub fn opt_time(at: Option<DateTime<Utc>>) -> Self {
        at.map_or(Value::Null, Value::Time)
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(text) => Some(text),
            _ => None,
        }
    }

    /// The ascending order of two values of one column: `NULL` after every value, as PostgreSQL sorts.
    fn cmp_nulls_last(&self, other: &Value<'_>) -> Ordering {
        match (self, other) {
            (Value::Null, Value::Null) => Ordering::Equal,
            (Value::Null, _) => Ordering::Greater,
            (_, Value::Null) => Ordering::Less,
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::Text(a), Value::Text(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Value::Uuid(a), Value::Uuid(b)) => a.cmp(b),
            (Value::Time(a), Value::Time(b)) => a.cmp(b),
            _ => Ordering::Equal,
        }
    }
}

impl From<i64> for Value<'static> {
    fn from(value: i64) -> Self {
        Value::Int(value)
    }
}

impl From<bool> for Value<'static> {
    fn from(value: bool) -> Self {
        Value::Bool(value)
    }
}

impl From<String> for Value<'static> {
    fn from(value: String) -> Self {
        Value::Text(Cow::Owned(value))
    }
}

impl From<DateTime<Utc>> for Value<'static> {
    fn from(value: DateTime<Utc>) -> Self {
        Value::Time(value)
    }
}

/// A listable resource's column: filterable, searchable or sortable.
pub trait Column: Copy + PartialEq + 'static {
    /// The SQL expression of the column in the resource's `FROM` clause.
    fn sql(self) -> &'static str;

    /// The SQL expression that search terms are looked up in: the lower-cased column (`…_lc`).
    fn search_sql(self) -> &'static str {
        self.sql()
    }
}

/// DRF `SearchFilter` terms: split on whitespace and commas, lower-cased, empty and repeated ones dropped.
pub fn search_terms(search: Option<&str>) -> Vec<String> {
    // A set beside the list keeps deduplication linear: a URL can carry tens of thousands of terms, and the cap
    // (`MAX_SEARCH_TERMS`) is checked on this function's result.
    let mut seen = std::collections::HashSet::new();
    let mut terms: Vec<String> = Vec::new();
    for term in search.unwrap_or_default().split(|c: char| c.is_whitespace() || c == ',') {
        let term = term.to_lowercase();
        if !term.is_empty() && seen.insert(term.clone()) {
            terms.push(term);
        }
    }
    terms
}

/// How a filter compares a column with its operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Match {
    Exact,
    /// The column's text starts with the operand (django `startswith`).
    Prefix,
}

/// A typed listing: every filter is an exact match (`Null` matches `NULL`) or a text prefix, every search term must be a
/// case-insensitive substring of one of `search_in`, rows sort by `ordering` and then by `tiebreak` ascending.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing<C: 'static> {
    pub(crate) filters: Vec<(C, Match, Value<'static>)>,
    pub(crate) search: Vec<String>,
    pub(crate) search_in: Vec<C>,
    /// `(column, descending)`; descending puts `NULL` first.
    pub(crate) ordering: Vec<(C, bool)>,
    pub(crate) tiebreak: C,
    pub(crate) page: PageRequest,
}

impl<C: Column> Listing<C> {
    /// A listing of one page: every search term must match one of `search_in`, ties go by `tiebreak` ascending.
    pub fn new(search: Option<&str>, search_in: &[C], tiebreak: C, page: PageRequest) -> Self {
        let search_in = search_in.to_vec();
        Listing { filters: Vec::new(), search: search_terms(search), search_in, ordering: Vec::new(), tiebreak, page }
    }

    /// The same listing over other columns (a declared resource's, erased to cross the object-safe store).
    pub(crate) fn map<D: Column>(&self, column: impl Fn(C) -> D) -> Listing<D> {
        Listing {
            filters: self.filters.iter().map(|(c, how, value)| (column(*c), *how, value.clone())).collect(),
            search: self.search.clone(),
            search_in: self.search_in.iter().map(|c| column(*c)).collect(),
            ordering: self.ordering.iter().map(|(c, desc)| (column(*c), *desc)).collect(),
            tiebreak: column(self.tiebreak),
            page: self.page,
        }
    }

    /// Adds `column = value` when a value is given.
    pub fn filter<V: Into<Value<'static>>>(mut self, column: C, value: Option<V>) -> Self {
        if let Some(value) = value {
            self.filters.push((column, Match::Exact, value.into()));
        }
        self
    }

    /// Adds `column` starts with `prefix` when a prefix is given.
    pub fn prefix(mut self, column: C, prefix: Option<String>) -> Self {
        if let Some(prefix) = prefix {
            self.filters.push((column, Match::Prefix, prefix.into()));
        }
        self
    }

    pub fn order_by(mut self, ordering: &[(C, bool)]) -> Self {
        self.ordering = ordering.to_vec();
        self
    }

    /// Whether a row passes every filter and search term; `get` reads the row's value of a column.
    pub(crate) fn matches<'r>(&self, get: impl Fn(C) -> Value<'r>) -> bool {
        let passes = |(column, how, value): &(C, Match, Value<'static>)| match how {
            Match::Exact => get(*column) == *value,
            Match::Prefix => match (get(*column).as_str(), value.as_str()) {
                (Some(text), Some(prefix)) => text.starts_with(prefix),
                _ => false,
            },
        };
        if !self.filters.iter().all(passes) {
            return false;
        }
        if self.search.is_empty() {
            return true;
        }
        let haystacks: Vec<String> =
            self.search_in.iter().filter_map(|&c| get(c).as_str().map(str::to_lowercase)).collect();
        self.search.iter().all(|term| haystacks.iter().any(|h| h.contains(term.as_str())))
    }

    /// The listing's order of two rows.
    pub(crate) fn compare<'r>(&self, a: impl Fn(C) -> Value<'r>, b: impl Fn(C) -> Value<'r>) -> Ordering {
        self.ordering
            .iter()
            .map(|&(column, desc)| {
                let ord = a(column).cmp_nulls_last(&b(column));
                if desc { ord.reverse() } else { ord }
            })
            .find(|o| o.is_ne())
            .unwrap_or_else(|| a(self.tiebreak).cmp_nulls_last(&b(self.tiebreak)))
    }

    /// One page of the matching `rows`, in order, cloning only that page: the rows before the page's end are
    /// selected in O(n) and only they are sorted, so a first page of a million rows sorts 20.
    pub(crate) fn page_of<'r, T: Clone + 'r>(
        &self,
        rows: impl Iterator<Item = &'r T>,
        get: impl Fn(&'r T, C) -> Value<'r>,
    ) -> Slice<T> {
        let mut rows: Vec<&T> = rows.filter(|row| self.matches(|c| get(row, c))).collect();
        let cmp = |a: &&'r T, b: &&'r T| self.compare(|c| get(a, c), |c| get(b, c));
        let total = rows.len() as u64;
        let offset = usize::try_from(self.page.offset()).unwrap_or(usize::MAX);
        let end = offset.saturating_add(self.page.limit() as usize);
        if offset >= rows.len() {
            return Slice { total, items: Vec::new() };
        }
        if end < rows.len() {
            rows.select_nth_unstable_by(end, cmp);
            rows.truncate(end);
        }
        rows.sort_unstable_by(cmp);
        Slice { total, items: rows.into_iter().skip(offset).cloned().collect() }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The columns of the test rows, also compiled to SQL by `sql/listing.rs`'s tests.
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub(crate) enum Col {
        Id,
        Name,
        Score,
    }

    impl Column for Col {
        fn sql(self) -> &'static str {
            match self {
                Col::Id => "r.id",
                Col::Name => "r.name",
                Col::Score => "r.score",
            }
        }

        fn search_sql(self) -> &'static str {
            match self {
                Col::Name => "r.name_lc",
                other => other.sql(),
            }
        }
    }

    type Row = (i64, &'static str, Option<i64>);

    fn get<'r>(row: &'r Row, col: Col) -> Value<'r> {
        match col {
            Col::Id => Value::Int(row.0),
            Col::Name => Value::text(row.1),
            Col::Score => row.2.map_or(Value::Null, Value::Int),
        }
    }

    const ROWS: &[Row] = &[(1, "Alpha", Some(3)), (2, "beta", None), (3, "ALPHABET", Some(1)), (4, "gamma", Some(3))];

    fn ids(listing: &Listing<Col>) -> Vec<i64> {
        listing.page_of(ROWS.iter(), get).items.iter().map(|r| r.0).collect()
    }

    #[test]
    fn search_terms_split_lower_and_deduplicate() {
        assert_eq!(search_terms(Some(" App_Pass,100%  app_pass ,")), ["app_pass", "100%"]);
        assert!(search_terms(None).is_empty());
    }

    #[test]
    fn memory_evaluation_filters_searches_and_orders_nulls_last() {
        let base = Listing::new(None, &[Col::Name], Col::Id, PageRequest::default());
        assert_eq!(ids(&base.clone().filter(Col::Score, Some(3))), [1, 4]);
        assert_eq!(ids(&Listing { search: search_terms(Some("ALP bet")), ..base.clone() }), [3]);
        assert_eq!(ids(&base.clone().order_by(&[(Col::Score, false)])), [3, 1, 4, 2]);
        assert_eq!(ids(&base.clone().order_by(&[(Col::Score, true)])), [2, 1, 4, 3]);
        let second = Listing { page: PageRequest::new(Some(2), Some(3)).unwrap(), ..base };
        let slice = second.page_of(ROWS.iter(), get);
        assert_eq!((slice.total, slice.items.len()), (4, 1));
    }
}
