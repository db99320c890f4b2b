//! The provider's validities (`access_code_validity`, `access_token_validity`, `refresh_token_validity`,
//! `refresh_token_threshold`): authentik's `timedelta_from_string` and its Django validator
//! (`authentik/lib/utils/time.py`).

use chrono::TimeDelta;

/// `ALLOWED_KEYS`, with the microseconds each stands for.
const UNITS: [(&str, f64); 7] = [
    ("microseconds", 1.0),
    ("milliseconds", 1e3),
    ("seconds", 1e6),
    ("minutes", 60e6),
    ("hours", 3600e6),
    ("days", 86_400e6),
    ("weeks", 604_800e6),
];

/// `timedelta(days=999999999, hours=23, minutes=59, seconds=59, microseconds=999999)`, in microseconds.
const MAX_MICROS: f64 = 86_399_999_999_999_999_999.0;

/// `timedelta_from_string(expr)`: `;`-separated `key=value` pairs; keys are matched case-insensitively and
/// unknown ones skipped, values are floats (the last of a repeated key wins), at least one known key is needed.
/// `None` where Python raises (`ValueError`, or the `OverflowError` of an infinite or out-of-range value).
/// Python's `float` also reads digit separators (`1_000`); this one does not.
pub(crate) fn timedelta_from_string(expr: &str) -> Option<TimeDelta> {
    let mut values: Vec<(f64, f64)> = Vec::new();
    for pair in expr.split(';') {
        let mut parts = pair.split('=');
        let (Some(key), Some(value), None) = (parts.next(), parts.next(), parts.next()) else {
            return None;
        };
        let key = key.to_lowercase();
        let Some((_, unit)) = UNITS.iter().find(|(name, _)| *name == key) else {
            continue;
        };
        let value = parse_python_float(value)?;
        values.retain(|(u, _)| *u != *unit);
        values.push((*unit, value));
    }
    if values.is_empty() {
        return None;
    }
    let micros: f64 = values.iter().map(|(unit, value)| unit * value).sum();
    if !micros.is_finite() || micros.abs() > MAX_MICROS {
        return None;
    }
    // timedelta rounds to the microsecond, half to even.
    Some(TimeDelta::microseconds(micros.round_ties_even() as i64))
}

/// `float(text)` for the forms a validity uses: surrounding whitespace, a sign, digits, a point, an exponent,
/// `inf` and `nan`.
fn parse_python_float(text: &str) -> Option<f64> {
    let text = text.trim();
    if text.is_empty() || text.contains('_') {
        return None;
    }
    text.parse::<f64>().ok()
}

/// `timedelta_string_validator`: the field error for a value that does not parse.
pub(crate) fn validate(value: &str) -> Result<TimeDelta, String> {
    timedelta_from_string(value).ok_or_else(|| format!("{value} is not in the correct format of 'hours=3;minutes=1'."))
}

/// `int(timedelta.total_seconds())`: the `expires_in` of a token response.
pub(crate) fn whole_seconds(delta: TimeDelta) -> i64 {
    // total_seconds() is a float; int() truncates toward zero.
    (delta.num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6).trunc() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_defaults() {
        assert_eq!(timedelta_from_string("minutes=1"), Some(TimeDelta::minutes(1)));
        assert_eq!(timedelta_from_string("hours=1"), Some(TimeDelta::hours(1)));
        assert_eq!(timedelta_from_string("days=30"), Some(TimeDelta::days(30)));
        assert_eq!(timedelta_from_string("seconds=0"), Some(TimeDelta::zero()));
    }

    #[test]
    fn pairs_floats_and_unknown_keys() {
        assert_eq!(timedelta_from_string("hours=1;minutes=2;seconds=3"), Some(TimeDelta::seconds(3723)));
        assert_eq!(timedelta_from_string("Hours= 1.5 "), Some(TimeDelta::minutes(90)));
        assert_eq!(timedelta_from_string("hours=1;foo=2"), Some(TimeDelta::hours(1)));
        assert_eq!(timedelta_from_string("hours=1;hours=2"), Some(TimeDelta::hours(2)));
        assert_eq!(timedelta_from_string("weeks=1;milliseconds=1500"), Some(TimeDelta::milliseconds(604_801_500)));
        assert_eq!(timedelta_from_string("seconds=-5"), Some(TimeDelta::seconds(-5)));
        assert_eq!(timedelta_from_string("seconds=1e3"), Some(TimeDelta::seconds(1000)));
        assert_eq!(timedelta_from_string("microseconds=0.5"), Some(TimeDelta::zero()), "half to even");
        assert_eq!(timedelta_from_string("microseconds=1.5"), Some(TimeDelta::microseconds(2)));
    }

    #[test]
    fn what_python_raises_on() {
        for bad in [
            "",
            "hours",
            "hours=1=2",
            "foo=1",
            "hours=x",
            "hours=",
            "hours=1;",
            " hours=1",
            "days=inf",
            "days=nan",
            "days=1e10",
            "hours=1_0",
        ] {
            assert_eq!(timedelta_from_string(bad), None, "{bad:?}");
        }
        assert_eq!(validate("x").unwrap_err(), "x is not in the correct format of 'hours=3;minutes=1'.");
    }

    #[test]
    fn expires_in_truncates() {
        assert_eq!(whole_seconds(TimeDelta::hours(1)), 3600);
        assert_eq!(whole_seconds(TimeDelta::milliseconds(1999)), 1);
    }
}
