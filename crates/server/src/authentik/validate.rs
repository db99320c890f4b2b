//! DRF and django-filter parsing of request values: pages, field errors, null booleans, datetimes.

use super::*;

/// DRF `PageNumberPagination`: an empty `page` is 1 and anything but an integer is 404 `Invalid page.` (its `last`
/// is not supported); `page_size` is a positive integer, capped, and anything else means the default.
pub(super) fn page_request(page: Option<&str>, page_size: Option<&str>) -> Result<PageRequest, AkError> {
    let invalid = || AkError::not_found(MSG_INVALID_PAGE);
    let page = match page.map(str::trim).filter(|p| !p.is_empty()) {
        None => None,
        Some(p) => Some(p.parse::<i64>().map_err(|_| invalid())?),
    };
    let page_size = page_size
        .map(str::trim)
        .and_then(|s| s.parse::<i64>().ok().or_else(|| s.parse::<u128>().ok().map(|_| i64::MAX)));
    PageRequest::new(page, page_size).map_err(|_| invalid())
}

pub(super) fn add_error(errors: &mut BTreeMap<String, Vec<String>>, field: &str, msg: impl Into<String>) {
    errors.entry(field.to_owned()).or_default().push(msg.into());
}

/// django-filter treats `""` as "no filter".
pub(super) fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

/// The most distinct `?search=` terms a listing takes; more are a 400 (DRF has no limit, but every term is a
/// bound parameter per searched column, and PostgreSQL allows 65,535 of them in one statement).
pub const MAX_SEARCH_TERMS: usize = 32;

/// A text filter as django-filter's `CharFilter` (`forms.CharField`) reads it: `""` is no filter, and a NUL
/// character is `ProhibitNullCharactersValidator`'s 400.
pub(super) fn text_filter(
    errors: &mut BTreeMap<String, Vec<String>>,
    field: &str,
    value: Option<String>,
) -> Option<String> {
    let value = non_empty(value)?;
    if value.contains('\0') {
        add_error(errors, field, "Null characters are not allowed.");
        return None;
    }
    Some(value)
}

/// `?search=`: a text filter whose distinct terms are capped at [`MAX_SEARCH_TERMS`].
pub(super) fn search_filter(errors: &mut BTreeMap<String, Vec<String>>, value: Option<String>) -> Option<String> {
    let value = text_filter(errors, "search", value)?;
    if crate::store::search_term_count(&value) > MAX_SEARCH_TERMS {
        add_error(errors, "search", format!("Ensure this value has at most {MAX_SEARCH_TERMS} distinct terms."));
        return None;
    }
    Some(value)
}

/// Django `NullBooleanField.to_python`: unrecognised values mean "no filter".
pub(super) fn parse_null_boolean(value: &str) -> Option<bool> {
    match value {
        "True" | "true" | "1" => Some(true),
        "False" | "false" | "0" => Some(false),
        _ => None,
    }
}

/// Django `parse_datetime`: ISO 8601 with `T` or space, optional seconds and fraction,
/// optional `Z`/offset; naive values are UTC (`TIME_ZONE = "UTC"`).
pub(super) fn parse_django_datetime(value: &str) -> Option<DateTime<Utc>> {
    // Python's datetime has no second 60; chrono reads one as a leap second (nanosecond ≥ 1e9).
    parse_iso(value).filter(|dt| dt.nanosecond() < 1_000_000_000)
}

fn parse_iso(value: &str) -> Option<DateTime<Utc>> {
    let value = value.trim();
    let normalized = match value.strip_suffix('Z').or_else(|| value.strip_suffix('z')) {
        Some(rest) => format!("{rest}+00:00"),
        None => value.to_owned(),
    };
    let normalized = normalized.replacen(' ', "T", 1);
    if let Ok(dt) = DateTime::parse_from_rfc3339(&normalized) {
        return Some(dt.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M%:z", "%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z"] {
        if let Ok(dt) = DateTime::parse_from_str(&normalized, fmt) {
            return Some(dt.with_timezone(&Utc));
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(&normalized, fmt) {
            return Some(dt.and_utc());
        }
    }
    None
}

/// Python's `str(datetime)` for an aware UTC value: `2026-08-23 12:00:00[.ffffff]+00:00`.
pub(super) fn python_datetime(dt: DateTime<Utc>) -> String {
    let micros = dt.nanosecond() / 1_000;
    if micros == 0 {
        dt.format("%Y-%m-%d %H:%M:%S+00:00").to_string()
    } else {
        format!("{}.{micros:06}+00:00", dt.format("%Y-%m-%d %H:%M:%S"))
    }
}
