//! The end of a benchmark: a table for people and, with `--json`, one line for programs.
//!
//! The JSON object is always the last line of output, so `| tail -1 | jq` works whatever
//! else was printed before it.

use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{json, Value};

/// A finished benchmark's results.
pub struct Report {
    title: String,
    rows: Vec<(&'static str, String)>,
    json: serde_json::Map<String, Value>,
}

impl Report {
    /// A report headed by `title`, with `bench` as the JSON `bench` field.
    pub fn new(bench: &str, title: String) -> Self {
        let mut json = serde_json::Map::new();
        json.insert("bench".into(), bench.into());
        Report {
            title,
            rows: Vec::new(),
            json,
        }
    }

    /// Adds a table row.
    pub fn row(&mut self, label: &'static str, value: impl Into<String>) {
        self.rows.push((label, value.into()));
    }

    /// Adds a JSON field.
    pub fn field(&mut self, name: &str, value: impl Into<Value>) {
        self.json.insert(name.into(), value.into());
    }

    /// Prints the table, then the JSON line if asked.
    pub fn print(self, json: bool) {
        let width = self.rows.iter().map(|(label, _)| label.len()).max();
        println!("{}", self.title);
        for (label, value) in &self.rows {
            println!("  {label:<width$}  {value}", width = width.unwrap_or(0));
        }
        if json {
            println!("{}", Value::Object(self.json));
        }
    }
}

/// Latencies in nanoseconds, from 1 ns to a minute, to three significant digits.
pub struct Latencies(Mutex<Histogram<u64>>);

impl Latencies {
    /// An empty histogram.
    pub fn new() -> Self {
        // Bounds are constants known to be valid (low >= 1, high >= 2 * low, sigfig <= 5).
        let histogram = Histogram::new_with_bounds(1, 60_000_000_000, 3)
            .unwrap_or_else(|_| unreachable!("constant histogram bounds are valid"));
        Latencies(Mutex::new(histogram))
    }

    /// Records a batch of samples (batched so that many tasks rarely meet on the lock).
    pub fn record(&self, samples: &mut Vec<Duration>) {
        let mut histogram = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for sample in samples.drain(..) {
            histogram.saturating_record(sample.as_nanos().try_into().unwrap_or(u64::MAX));
        }
    }

    /// `p50 123 µs  p99 …` for the table, and the same in microseconds for JSON.
    pub fn summary(&self) -> (String, Value) {
        let histogram = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if histogram.is_empty() {
            return ("no samples".into(), Value::Null);
        }
        let at = |q: f64| histogram.value_at_quantile(q);
        let text = format!(
            "p50 {}  p99 {}  p99.9 {}  max {}",
            nanos(at(0.5)),
            nanos(at(0.99)),
            nanos(at(0.999)),
            nanos(histogram.max())
        );
        let us = |ns: u64| (ns as f64 / 1e3 * 10.0).round() / 10.0;
        let value = json!({
            "p50": us(at(0.5)),
            "p99": us(at(0.99)),
            "p999": us(at(0.999)),
            "max": us(histogram.max()),
            "mean": (histogram.mean() / 1e3 * 10.0).round() / 10.0,
            "samples": histogram.len(),
        });
        (text, value)
    }
}

/// Errors, counted, with the first one kept to show.
#[derive(Default)]
pub struct Errors {
    count: std::sync::atomic::AtomicU64,
    first: Mutex<Option<String>>,
}

impl Errors {
    /// Counts an error.
    pub fn add(&self, error: impl std::fmt::Display) {
        use std::sync::atomic::Ordering;
        if self.count.fetch_add(1, Ordering::Relaxed) == 0 {
            *self.first.lock().unwrap_or_else(|e| e.into_inner()) = Some(error.to_string());
        }
    }

    /// The first error counted, if any.
    pub fn first(&self) -> Option<String> {
        self.first.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Adds the `errors` row and fields.
    pub fn report(&self, report: &mut Report) {
        let count = self.count.load(std::sync::atomic::Ordering::Relaxed);
        let first = self.first.lock().unwrap_or_else(|e| e.into_inner()).clone();
        report.row(
            "errors",
            match &first {
                Some(first) => format!("{count} (first: {first})"),
                None => "0".into(),
            },
        );
        report.field("errors", count);
        report.field("first_error", first);
    }
}

/// A duration in nanoseconds, in the unit that reads best.
pub fn nanos(ns: u64) -> String {
    match ns {
        0..=999 => format!("{ns} ns"),
        1_000..=999_999 => format!("{:.1} µs", ns as f64 / 1e3),
        1_000_000..=999_999_999 => format!("{:.2} ms", ns as f64 / 1e6),
        _ => format!("{:.2} s", ns as f64 / 1e9),
    }
}

/// A count with thousands separators.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut text = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            text.push(',');
        }
        text.push(digit);
    }
    text
}

/// A byte count in B, KiB, MiB or GiB.
pub fn bytes(n: f64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = n;
    let mut unit = 0;
    while value.abs() >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Rounds for JSON: `digits` after the point.
pub fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(count(0), "0");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(count(123456), "123,456");
        assert_eq!(nanos(950), "950 ns");
        assert_eq!(nanos(123_456), "123.5 µs");
        assert_eq!(nanos(12_345_678), "12.35 ms");
        assert_eq!(nanos(3_958_800), "3.96 ms");
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(3.5 * 1024.0 * 1024.0), "3.5 MiB");
    }

    #[test]
    fn latency_summary() {
        let latencies = Latencies::new();
        let mut samples: Vec<_> = (1..=1000).map(Duration::from_micros).collect();
        latencies.record(&mut samples);
        let (_, json) = latencies.summary();
        assert_eq!(json["samples"], 1000);
        assert!((json["p50"].as_f64().unwrap() - 500.0).abs() < 1.0);
    }
}
