//! `report.json`: the record, valid under `conformance/schema/report.schema.json`.

use super::Report;

/// Pretty JSON of the report.
pub fn render(report: &Report) -> String {
    // Serialising plain data with string keys cannot fail; fall back to an empty object anyway.
    serde_json::to_string_pretty(report).unwrap_or_else(|_| "{}".into()) + "\n"
}
