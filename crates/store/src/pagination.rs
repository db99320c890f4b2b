//! authentik-style page-number pagination (Django `Paginator` + `authentik/api/pagination.py`) and DRF ordering parsing.

use serde::Serialize;

/// `pagination_default_page_size`.
pub const DEFAULT_PAGE_SIZE: u64 = 20;
/// `pagination_max_page_size`.
pub const MAX_PAGE_SIZE: u64 = 100;

/// The page number is below 1 or past the last page (DRF 404 `Invalid page.`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid page")]
pub struct InvalidPage;

/// A normalised page request: `page >= 1`, `1 <= page_size <= MAX_PAGE_SIZE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    page: u64,
    page_size: u64,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { page: 1, page_size: DEFAULT_PAGE_SIZE }
    }
}

impl PageRequest {
    /// Applies DRF's rules: missing page is 1, page below 1 is invalid;
    /// missing or non-positive page size is the default, larger sizes are capped.
    pub fn new(page: Option<i64>, page_size: Option<i64>) -> Result<Self, InvalidPage> {
        let page = match page {
            None => 1,
            Some(p) if p >= 1 => p as u64,
            Some(_) => return Err(InvalidPage),
        };
        let page_size = match page_size {
            Some(s) if s >= 1 => (s as u64).min(MAX_PAGE_SIZE),
            _ => DEFAULT_PAGE_SIZE,
        };
        Ok(Self { page, page_size })
    }

    /// Every row on one page: for reads that want them all (a declared resource's whole table, in order).
    pub fn all() -> Self {
        Self { page: 1, page_size: u64::MAX }
    }

    pub fn page(&self) -> u64 {
        self.page
    }

    pub fn page_size(&self) -> u64 {
        self.page_size
    }

    /// Rows to skip (SQL `OFFSET`).
    pub fn offset(&self) -> u64 {
        (self.page - 1).saturating_mul(self.page_size)
    }

    /// Rows to take (SQL `LIMIT`).
    pub fn limit(&self) -> u64 {
        self.page_size
    }

    /// Cuts one page out of an already filtered and sorted list (for in-memory backends).
    pub fn slice<T>(&self, all: Vec<T>) -> Slice<T> {
        let total = all.len() as u64;
        let items = all
            .into_iter()
            .skip(usize::try_from(self.offset()).unwrap_or(usize::MAX))
            .take(self.page_size as usize)
            .collect();
        Slice { total, items }
    }
}

/// What a store returns for a listing: the total match count and the requested rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Slice<T> {
    pub total: u64,
    pub items: Vec<T>,
}

/// One page plus authentik's pagination numbers (`next`/`previous` are 0 when absent).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub results: Vec<T>,
    pub count: u64,
    pub current: u64,
    pub total_pages: u64,
    pub start_index: u64,
    pub end_index: u64,
    pub next: u64,
    pub previous: u64,
}

impl<T> Page<T> {
    /// Builds the page Django's `Paginator(allow_empty_first_page=True)` would, or `InvalidPage`.
    pub fn build(req: PageRequest, slice: Slice<T>) -> Result<Self, InvalidPage> {
        let count = slice.total;
        let total_pages = count.div_ceil(req.page_size).max(1);
        let current = req.page;
        if current > total_pages {
            return Err(InvalidPage);
        }
        let (start_index, end_index) = if count == 0 {
            (0, 0)
        } else if current == total_pages {
            (req.offset() + 1, count)
        } else {
            (req.offset() + 1, current * req.page_size)
        };
        Ok(Self {
            results: slice.items,
            count,
            current,
            total_pages,
            start_index,
            end_index,
            next: if current < total_pages { current + 1 } else { 0 },
            previous: current.saturating_sub(1),
        })
    }
}

/// DRF `OrderingFilter`: comma-separated terms, `-` for descending, unknown terms dropped,
/// and the default when nothing valid remains. Returns `(field, descending)` pairs.
pub fn parse_ordering<F: Copy + PartialEq>(
    raw: Option<&str>,
    field: impl Fn(&str) -> Option<F>,
    default: &[(F, bool)],
) -> Vec<(F, bool)> {
    let mut parsed: Vec<(F, bool)> = Vec::new();
    for term in raw.unwrap_or_default().split(',').map(str::trim) {
        let term = match term.strip_prefix('-') {
            Some(name) => field(name).map(|f| (f, true)),
            None => field(term).map(|f| (f, false)),
        };
        // A field repeated later cannot change the order its first mention set, so it is dropped.
        if let Some((f, desc)) = term.filter(|(f, _)| !parsed.iter().any(|(seen, _)| seen == f)) {
            parsed.push((f, desc));
        }
    }
    if parsed.is_empty() { default.to_vec() } else { parsed }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(page: Option<i64>, size: Option<i64>, total: u64) -> Result<Page<u64>, InvalidPage> {
        let req = PageRequest::new(page, size)?;
        Page::build(req, req.slice((1..=total).collect()))
    }

    #[test]
    fn empty_list_is_one_empty_page() {
        let p = page(None, None, 0).unwrap();
        assert_eq!(
            (p.count, p.current, p.total_pages, p.start_index, p.end_index, p.next, p.previous),
            (0, 1, 1, 0, 0, 0, 0)
        );
        assert!(p.results.is_empty());
        assert_eq!(page(Some(2), None, 0), Err(InvalidPage));
    }

    #[test]
    fn middle_and_last_pages() {
        let p = page(Some(2), Some(10), 25).unwrap();
        assert_eq!(p.results, (11..=20).collect::<Vec<_>>());
        assert_eq!((p.total_pages, p.start_index, p.end_index, p.next, p.previous), (3, 11, 20, 3, 1));
        let p = page(Some(3), Some(10), 25).unwrap();
        assert_eq!(p.results, (21..=25).collect::<Vec<_>>());
        assert_eq!((p.start_index, p.end_index, p.next, p.previous), (21, 25, 0, 2));
    }

    #[test]
    fn out_of_range_and_non_positive_pages_are_invalid() {
        assert_eq!(page(Some(4), Some(10), 25), Err(InvalidPage));
        assert_eq!(page(Some(0), None, 5), Err(InvalidPage));
        assert_eq!(page(Some(-1), None, 5), Err(InvalidPage));
        assert_eq!(page(Some(i64::MAX), None, 5), Err(InvalidPage));
    }

    #[test]
    fn page_size_default_and_cap() {
        assert_eq!(PageRequest::new(None, None).unwrap().page_size(), 20);
        assert_eq!(PageRequest::new(None, Some(0)).unwrap().page_size(), 20);
        assert_eq!(PageRequest::new(None, Some(-5)).unwrap().page_size(), 20);
        assert_eq!(PageRequest::new(None, Some(1000)).unwrap().page_size(), 100);
        assert_eq!(page(None, Some(1000), 150).unwrap().results.len(), 100);
        assert_eq!(page(None, None, 21).unwrap().next, 2);
    }

    #[test]
    fn ordering_terms() {
        let field = |s: &str| match s {
            "a" => Some('a'),
            "b" => Some('b'),
            _ => None,
        };
        let default = [('a', false)];
        assert_eq!(parse_ordering(None, field, &default), vec![('a', false)]);
        assert_eq!(parse_ordering(Some("-b, a"), field, &default), vec![('b', true), ('a', false)]);
        assert_eq!(parse_ordering(Some("nope,-b"), field, &default), vec![('b', true)]);
        assert_eq!(parse_ordering(Some("nope,--a,"), field, &default), vec![('a', false)]);
    }
}
