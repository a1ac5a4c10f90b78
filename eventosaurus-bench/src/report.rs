//! The result rows, printed as a table or as JSON.

use serde_json::{json, Value};

use crate::stats::{median, ratio};

/// One line of the result table: the same work done by the raw SDK and by eventosaurus.
#[derive(Debug, Clone)]
pub struct Row {
    /// The scenario it belongs to (`sync`, `queue`, `query`, `client`).
    pub scenario: &'static str,
    /// What was done, and by which raw SDK call on the raw side.
    pub work: String,
    /// Requests or tasks in flight at once.
    pub concurrency: String,
    /// The unit of the samples, e.g. `ev/s`.
    pub unit: &'static str,
    /// Whether a larger sample is better (throughput) or worse (latency, cost).
    pub higher_is_better: bool,
    /// One sample per round, raw SDK.
    pub raw: Vec<f64>,
    /// One sample per round, eventosaurus; empty when our side is not implemented yet.
    pub ours: Vec<f64>,
    /// The ratio we aim for (see [`ratio`]), if there is one.
    pub target: Option<f64>,
    /// Anything the reader must know about the row.
    pub note: Option<String>,
}

impl Row {
    /// The median ratio, oriented so that ≥ 1.0 means eventosaurus is at least as fast.
    pub fn ratio(&self) -> f64 {
        ratio(median(&self.raw), median(&self.ours), self.higher_is_better)
    }

    /// `Some(true)` if the row has a target and meets it.
    pub fn meets_target(&self) -> Option<bool> {
        let r = self.ratio();
        self.target.map(|t| !r.is_nan() && r >= t)
    }
}

fn fmt_value(v: f64, unit: &str) -> String {
    if v.is_nan() {
        return "n/a".to_owned();
    }
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    format!("{v:.digits$} {unit}")
}

/// The human-readable table.
pub fn table(rows: &[Row]) -> String {
    let header = [
        "work",
        "concurrency",
        "raw SDK",
        "eventosaurus",
        "ratio",
        "target",
    ];
    let mut lines: Vec<[String; 6]> = Vec::new();
    for row in rows {
        let ratio = row.ratio();
        let target = match (row.target, row.meets_target()) {
            (Some(t), Some(true)) => format!("≥{t:.2} met"),
            (Some(t), _) if ratio.is_nan() => format!("≥{t:.2} ?"),
            (Some(t), _) => format!("≥{t:.2} MISSED"),
            (None, _) => String::new(),
        };
        lines.push([
            row.work.clone(),
            row.concurrency.clone(),
            fmt_value(median(&row.raw), row.unit),
            if row.ours.is_empty() {
                "TODO".to_owned()
            } else {
                fmt_value(median(&row.ours), row.unit)
            },
            if ratio.is_nan() {
                "n/a".to_owned()
            } else {
                format!("{ratio:.2}×")
            },
            target,
        ]);
    }
    let mut widths = header.map(|h| h.chars().count());
    for line in &lines {
        for (w, cell) in widths.iter_mut().zip(line) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let fmt_line = |cells: &[String]| {
        let mut s = String::from("|");
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            let pad = w - cell.chars().count();
            // Text left, numbers right.
            if i < 2 {
                s.push_str(&format!(" {cell}{} |", " ".repeat(pad)));
            } else {
                s.push_str(&format!(" {}{cell} |", " ".repeat(pad)));
            }
        }
        s
    };
    let mut out = String::new();
    out.push_str(&fmt_line(&header.map(String::from)));
    out.push('\n');
    out.push('|');
    for (i, w) in widths.iter().enumerate() {
        out.push_str(&"-".repeat(w + 1));
        out.push_str(if i < 2 { "-|" } else { ":|" });
    }
    out.push('\n');
    for line in &lines {
        out.push_str(&fmt_line(line));
        out.push('\n');
    }
    out.push_str(
        "\nratio: medians over the rounds, oriented so that ≥1.00× means eventosaurus is at least as fast \
         (ours/raw for throughputs, raw/ours for latencies and ns/event).\n",
    );
    let mut notes: Vec<&str> = Vec::new();
    for note in rows.iter().filter_map(|r| r.note.as_deref()) {
        if !notes.contains(&note) {
            notes.push(note);
            out.push_str(&format!("note: {note}\n"));
        }
    }
    out
}

fn num(v: f64) -> Value {
    if v.is_finite() {
        json!(v)
    } else {
        Value::Null
    }
}

/// The machine-readable form of the rows.
pub fn json_rows(rows: &[Row]) -> Value {
    Value::Array(
        rows.iter()
            .map(|r| {
                json!({
                    "scenario": r.scenario,
                    "work": r.work,
                    "concurrency": r.concurrency,
                    "unit": r.unit,
                    "higher_is_better": r.higher_is_better,
                    "raw_median": num(median(&r.raw)),
                    "ours_median": if r.ours.is_empty() { Value::Null } else { num(median(&r.ours)) },
                    "ratio": num(r.ratio()),
                    "paired_ratio": num(crate::stats::paired_ratio(&r.raw, &r.ours, r.higher_is_better)),
                    "target": r.target,
                    "meets_target": r.meets_target(),
                    "raw_samples": r.raw,
                    "ours_samples": r.ours,
                    "note": r.note,
                })
            })
            .collect(),
    )
}
