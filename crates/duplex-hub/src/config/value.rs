//! Reading one option's value, whether it came from a file (a JSON value; TOML is converted to
//! JSON first) or as text from an environment variable or a command-line flag.
//!
//! Every option type implements [`Setting`] once, so a value means the same from every source:
//! booleans accept Go's `ParseBool` spellings as Centrifugo does, lists accept a JSON array or
//! space-separated words (Centrifugo's environment form), and durations accept Go duration
//! strings (`"25s"`, `"1h30m"`, `"300ms"`) or a bare number of seconds.

use std::time::Duration;

use serde_json::Value;

/// A value for one option, from a file or as text.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Raw<'a> {
    /// A value from a configuration file.
    Json(&'a Value),
    /// A value from an environment variable or a flag.
    Text(&'a str),
}

/// An option type: how a value of it is read from either source. Errors are short phrases
/// that the caller prefixes with the option's key path.
pub(crate) trait Setting: Sized {
    fn from_json(value: &Value) -> Result<Self, String>;
    fn from_text(text: &str) -> Result<Self, String>;

    fn from_raw(raw: Raw<'_>) -> Result<Self, String> {
        match raw {
            Raw::Json(value) => Self::from_json(value),
            Raw::Text(text) => Self::from_text(text),
        }
    }
}

/// What a value looked like, for error messages that show what was found.
pub(crate) fn describe(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 40 {
        format!("{}...", text.chars().take(40).collect::<String>())
    } else {
        text
    }
}

impl Setting for bool {
    fn from_json(value: &Value) -> Result<Self, String> {
        match value {
            Value::Bool(flag) => Ok(*flag),
            Value::String(text) => Self::from_text(text),
            other => Err(format!("expected true or false, got {}", describe(other))),
        }
    }

    fn from_text(text: &str) -> Result<Self, String> {
        match text.trim() {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
            other => Err(format!("expected true or false, got {other:?}")),
        }
    }
}

macro_rules! unsigned_setting {
    ($($ty:ty),*) => {$(
        impl Setting for $ty {
            fn from_json(value: &Value) -> Result<Self, String> {
                match value {
                    // Centrifugo's decoder takes numbers written as strings ("port": "8000").
                    Value::String(text) => Self::from_text(text),
                    Value::Number(number) => number
                        .as_u64()
                        .and_then(|number| <$ty>::try_from(number).ok())
                        .ok_or_else(|| format!("expected a whole number from 0 to {}, got {number}", <$ty>::MAX)),
                    other => Err(format!("expected a whole number, got {}", describe(other))),
                }
            }

            fn from_text(text: &str) -> Result<Self, String> {
                text.trim().parse::<$ty>().map_err(|_| {
                    format!("expected a whole number from 0 to {}, got {text:?}", <$ty>::MAX)
                })
            }
        }
    )*};
}

unsigned_setting!(u16, u32, u64, usize);

impl Setting for String {
    fn from_json(value: &Value) -> Result<Self, String> {
        match value {
            Value::String(text) => Ok(text.clone()),
            other => Err(format!("expected a string, got {}", describe(other))),
        }
    }

    fn from_text(text: &str) -> Result<Self, String> {
        Ok(text.to_owned())
    }
}

/// Optional strings (keys, secrets, URLs): empty means unset, as in Centrifugo.
impl Setting for Option<String> {
    fn from_json(value: &Value) -> Result<Self, String> {
        String::from_json(value).map(|text| Some(text).filter(|text| !text.is_empty()))
    }

    fn from_text(text: &str) -> Result<Self, String> {
        Ok(Some(text.to_owned()).filter(|text| !text.is_empty()))
    }
}

impl Setting for Vec<String> {
    fn from_json(value: &Value) -> Result<Self, String> {
        match value {
            Value::Array(items) => items.iter().map(String::from_json).collect(),
            Value::String(text) => Self::from_text(text),
            other => Err(format!(
                "expected a list of strings, got {}",
                describe(other)
            )),
        }
    }

    fn from_text(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.starts_with('[') {
            let value: Value = serde_json::from_str(text)
                .map_err(|error| format!("invalid JSON list: {error}"))?;
            return Self::from_json(&value);
        }
        Ok(text.split_whitespace().map(str::to_owned).collect())
    }
}

impl Setting for Duration {
    fn from_json(value: &Value) -> Result<Self, String> {
        match value {
            Value::String(text) => Self::from_text(text),
            Value::Number(number) => number
                .as_f64()
                .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
                .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
                .ok_or_else(|| format!("expected a duration, got {number}")),
            other => Err(format!(
                "expected a duration like \"25s\", got {}",
                describe(other)
            )),
        }
    }

    fn from_text(text: &str) -> Result<Self, String> {
        parse_duration(text.trim())
            .ok_or_else(|| format!("expected a duration like \"25s\" or \"1h30m\", got {text:?}"))
    }
}

/// A duration that zero or a negative value turns off (`None`), as Centrifugo's `-1` turns off
/// pings.
impl Setting for Option<Duration> {
    fn from_json(value: &Value) -> Result<Self, String> {
        match value {
            Value::Number(number) if number.as_f64().is_some_and(|n| n <= 0.0) => Ok(None),
            Value::String(text) => Self::from_text(text),
            other => Duration::from_json(other).map(switched_on),
        }
    }

    fn from_text(text: &str) -> Result<Self, String> {
        if text.trim().starts_with('-') {
            return Ok(None);
        }
        Duration::from_text(text).map(switched_on)
    }
}

fn switched_on(duration: Duration) -> Option<Duration> {
    Some(duration).filter(|duration| !duration.is_zero())
}

/// Go's duration syntax (a sequence of decimal numbers, each with a unit: ns, us, µs, ms, s, m,
/// h), plus a bare number meaning seconds. Negative durations are not accepted.
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    if text.is_empty() {
        return None;
    }
    if let Ok(seconds) = text.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0)
            .then(|| Duration::try_from_secs_f64(seconds).ok())
            .flatten();
    }
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_end);
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_end);
        let nanos_per_unit: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        total = total.checked_add(scaled(number, nanos_per_unit)?)?;
        rest = after;
    }
    let seconds = u64::try_from(total / 1_000_000_000).ok()?;
    // The remainder of a division by 10^9 fits in u32.
    let nanos = (total % 1_000_000_000) as u32;
    Some(Duration::new(seconds, nanos))
}

/// `number` (digits with an optional fraction) times `unit` nanoseconds, exactly.
fn scaled(number: &str, unit: u128) -> Option<u128> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut value = whole.checked_mul(unit)?;
    let mut scale = unit;
    for digit in fraction.chars() {
        scale /= 10;
        value += u128::from(digit.to_digit(10)?) * scale;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse() {
        assert_eq!(parse_duration("25s"), Some(Duration::from_secs(25)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("300ms"), Some(Duration::from_millis(300)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(
            parse_duration("720h"),
            Some(Duration::from_secs(720 * 3600))
        );
        assert_eq!(parse_duration("2us"), Some(Duration::from_micros(2)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_duration("30"), Some(Duration::from_secs(30)));
    }

    #[test]
    fn malformed_durations_are_refused() {
        for text in ["", "s", "-5s", "5x", "1h-5m", "..s", "5 s"] {
            assert_eq!(parse_duration(text), None, "{text:?}");
        }
    }

    #[test]
    fn booleans_take_go_spellings() {
        assert_eq!(bool::from_text("1"), Ok(true));
        assert_eq!(bool::from_text("False"), Ok(false));
        assert!(bool::from_text("yes").is_err());
    }

    #[test]
    fn lists_take_json_or_words() {
        let words = Vec::<String>::from_text("https://a.example https://b.example").unwrap();
        assert_eq!(words, ["https://a.example", "https://b.example"]);
        let json = Vec::<String>::from_text(r#"["*"]"#).unwrap();
        assert_eq!(json, ["*"]);
    }

    #[test]
    fn negative_or_zero_optional_durations_turn_off() {
        assert_eq!(Option::<Duration>::from_text("-1"), Ok(None));
        assert_eq!(Option::<Duration>::from_json(&Value::from(-1)), Ok(None));
        assert_eq!(Option::<Duration>::from_text("0s"), Ok(None));
        assert_eq!(
            Option::<Duration>::from_text("10s"),
            Ok(Some(Duration::from_secs(10)))
        );
    }
}
