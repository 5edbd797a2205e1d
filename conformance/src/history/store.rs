//! The results store: an SQLite database (`rusqlite`, SQLite compiled in) where finished
//! reports accumulate. `aigc-conform archive REPORT_DIR` files one report: its facts
//! (implementation, version, vector release, mode, date, overall verdict, signature presence),
//! every requirement verdict and vector outcome as rows, and the report files themselves (so
//! the board can link to each full report after the run folder is gone). `aigc-conform query`
//! reads it back by vendor, release and requirement.
//!
//! Archiving is idempotent: a report is keyed by the SHA-256 of its report.json.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

use super::StoredReport;
use crate::meta;

/// Version of the database schema (in table `meta`).
pub const SCHEMA_VERSION: &str = "1";

/// Report files kept in the store, beside the signature file.
const REPORT_FILES: [&str; 4] = ["report.json", "report.html", "report.md", "junit.xml"];

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS reports (
    id             INTEGER PRIMARY KEY,
    report_sha256  TEXT NOT NULL UNIQUE,
    implementation TEXT NOT NULL,
    version        TEXT NOT NULL,
    vector_release TEXT,              -- NULL: made before vector releases existed
    vectors_sha256 TEXT NOT NULL,
    suite_version  TEXT NOT NULL,
    profile_id     TEXT NOT NULL,
    mode           TEXT NOT NULL,     -- persistent | process-per-request
    started        TEXT NOT NULL,     -- RFC 3339 UTC
    finished       TEXT NOT NULL,
    overall        TEXT NOT NULL,
    roles          TEXT NOT NULL,     -- space-separated, sorted
    media          TEXT NOT NULL,     -- media families, space-separated, sorted
    shard          TEXT,              -- K/N for a shard report
    signature      TEXT NOT NULL CHECK (signature IN ('unsigned', 'present')),
    source         TEXT NOT NULL,     -- the folder archived
    archived       TEXT NOT NULL      -- RFC 3339 UTC
);
CREATE INDEX IF NOT EXISTS reports_impl ON reports (implementation, version, started);
CREATE INDEX IF NOT EXISTS reports_release ON reports (vector_release);
CREATE TABLE IF NOT EXISTS requirement_results (
    report_id   INTEGER NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    requirement TEXT NOT NULL,
    clause      TEXT NOT NULL,
    level       TEXT NOT NULL,
    verdict     TEXT NOT NULL,
    position    INTEGER NOT NULL,     -- order in the report (catalogue order)
    PRIMARY KEY (report_id, requirement)
);
CREATE INDEX IF NOT EXISTS requirement_results_req ON requirement_results (requirement);
CREATE TABLE IF NOT EXISTS vector_results (
    report_id      INTEGER NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    vector         TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    content_sha256 TEXT,
    waived         INTEGER NOT NULL,
    PRIMARY KEY (report_id, vector)
);
CREATE TABLE IF NOT EXISTS report_files (
    report_id INTEGER NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    name      TEXT NOT NULL,
    content   BLOB NOT NULL,
    PRIMARY KEY (report_id, name)
);
";

/// Open (creating when missing) the store at `path`.
pub fn open(path: &Path) -> Result<Connection, String> {
    let err = |e: rusqlite::Error| format!("{}: {e}", path.display());
    let conn = Connection::open(path).map_err(err)?;
    conn.execute_batch("PRAGMA foreign_keys = ON;")
        .map_err(err)?;
    conn.execute_batch(SCHEMA).map_err(err)?;
    let version: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(err)?;
    match version.as_deref() {
        None => {
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)",
                [SCHEMA_VERSION],
            )
            .map_err(err)?;
        }
        Some(SCHEMA_VERSION) => {}
        Some(other) => {
            return Err(format!(
                "{}: results store schema {other}, this aigc-conform reads {SCHEMA_VERSION}",
                path.display()
            ))
        }
    }
    Ok(conn)
}

/// What `archive` did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Archived {
    /// Row id of the report.
    pub id: i64,
    /// False when the same report.json was already in the store.
    pub new: bool,
    /// `unsigned` or `present`.
    pub signature: String,
}

/// The files of a report folder kept in the store besides the signature file: the report
/// files, and for a certified run its signed manifest (`manifest.json`, conformance/src/certify)
/// with every report file it lists, so that an archived run can be restored and verified
/// (`aigc-conform verify`) with nothing missing. Names are plain file names (a manifest naming
/// `../x` is refused, as `verify` refuses it).
fn kept_files(dir: &Path) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = REPORT_FILES.iter().map(|n| n.to_string()).collect();
    let manifest = dir.join(crate::certify::sign::MANIFEST);
    if manifest.is_file() {
        let text = std::fs::read_to_string(&manifest)
            .map_err(|e| format!("{}: {e}", manifest.display()))?;
        let doc: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not JSON: {e}", manifest.display()))?;
        if let Some(listed) = doc.get("files").and_then(serde_json::Value::as_object) {
            for name in listed.keys() {
                let plain = Path::new(name).file_name().and_then(|n| n.to_str()) == Some(name);
                if !plain {
                    return Err(format!(
                        "{}: file name {name:?} is not a plain name",
                        manifest.display()
                    ));
                }
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
        }
        names.push(crate::certify::sign::MANIFEST.to_string());
    }
    Ok(names)
}

/// File the report in `report_dir` (report.json, the other report files, the signed manifest
/// and the signature file when there are) into the store.
pub fn archive(conn: &mut Connection, report_dir: &Path) -> Result<Archived, String> {
    let r = StoredReport::load(report_dir)?;
    if let Some(k) = r.shard() {
        // A shard alone would show as the implementation's latest (partial) result.
        return Err(format!(
            "{}: shard {k} of a run; archive the merged report (`aigc-conform merge`)",
            r.path.display()
        ));
    }
    let bytes = std::fs::read(&r.path).map_err(|e| format!("{}: {e}", r.path.display()))?;
    let digest = meta::sha256(&bytes);
    let sql = |e: rusqlite::Error| format!("results store: {e}");
    if let Some((id, signature)) = conn
        .query_row(
            "SELECT id, signature FROM reports WHERE report_sha256 = ?1",
            [&digest],
            |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)),
        )
        .optional()
        .map_err(sql)?
    {
        return Ok(Archived {
            id,
            new: false,
            signature,
        });
    }
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for name in kept_files(r.dir())? {
        let p = r.dir().join(&name);
        if p.is_file() {
            let content = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            files.push((name, content));
        }
    }
    if let Some(sig) = r.signature_file() {
        let name = sig
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        files.push((
            name,
            std::fs::read(&sig).map_err(|e| format!("{}: {e}", sig.display()))?,
        ));
    }
    let signature = r.signature_status().to_string();
    let tx = conn.transaction().map_err(sql)?;
    tx.execute(
        "INSERT INTO reports (report_sha256, implementation, version, vector_release,
             vectors_sha256, suite_version, profile_id, mode, started, finished, overall, roles,
             media, shard, signature, source, archived)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
        params![
            digest,
            r.implementation(),
            r.version(),
            r.release(),
            r.vectors_sha256(),
            r.doc["suite"]["version"].as_str().unwrap_or("?"),
            r.doc["profile"]["id"].as_str().unwrap_or("?"),
            r.mode(),
            r.started(),
            r.doc["finished"].as_str().unwrap_or(""),
            r.overall(),
            r.roles().join(" "),
            r.media_families().join(" "),
            r.shard(),
            signature,
            r.dir().display().to_string(),
            meta::rfc3339(meta::now_secs()),
        ],
    )
    .map_err(sql)?;
    let id = tx.last_insert_rowid();
    {
        let mut q = tx
            .prepare(
                "INSERT INTO requirement_results (report_id, requirement, clause, level, verdict, position)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(sql)?;
        for (i, row) in r.requirements().iter().enumerate() {
            q.execute(params![
                id,
                row.id,
                row.clause,
                row.level,
                row.verdict,
                i as i64
            ])
            .map_err(|e| format!("{}: requirement {}: {e}", r.path.display(), row.id))?;
        }
        let mut v = tx
            .prepare(
                "INSERT INTO vector_results (report_id, vector, outcome, content_sha256, waived)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(sql)?;
        for row in r.vectors() {
            v.execute(params![
                id,
                row.id,
                row.outcome,
                row.content_sha256,
                row.waived
            ])
            .map_err(|e| format!("{}: vector {}: {e}", r.path.display(), row.id))?;
        }
        let mut f = tx
            .prepare("INSERT INTO report_files (report_id, name, content) VALUES (?1, ?2, ?3)")
            .map_err(sql)?;
        for (name, content) in &files {
            f.execute(params![id, name, content]).map_err(sql)?;
        }
    }
    tx.commit().map_err(sql)?;
    Ok(Archived {
        id,
        new: true,
        signature,
    })
}

/// One archived report as listed by `query` and shown on the board.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReportEntry {
    /// Row id.
    pub id: i64,
    /// Implementation name.
    pub implementation: String,
    /// Implementation version.
    pub version: String,
    /// Vector release (None: before releases).
    pub vector_release: Option<String>,
    /// Mode.
    pub mode: String,
    /// Start of the run.
    pub started: String,
    /// Overall verdict.
    pub overall: String,
    /// Roles, space-separated.
    pub roles: String,
    /// Media families, space-separated.
    pub media: String,
    /// `unsigned` or `present`.
    pub signature: String,
    /// The verdict of the requirement asked about (`query --requirement`).
    pub requirement_verdict: Option<String>,
}

/// Filters of `query` (all optional, combined with AND).
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Substring of `implementation version` (case-insensitive).
    pub vendor: Option<String>,
    /// Exact vector release.
    pub release: Option<String>,
    /// Requirement id: only reports that graded it, with its verdict.
    pub requirement: Option<String>,
    /// Only the latest report of each implementation and version.
    pub latest: bool,
}

const ENTRY_COLUMNS: &str = "r.id, r.implementation, r.version, r.vector_release, r.mode, r.started, r.overall, r.roles, r.media, r.signature";

fn entry(row: &rusqlite::Row<'_>) -> rusqlite::Result<ReportEntry> {
    Ok(ReportEntry {
        id: row.get(0)?,
        implementation: row.get(1)?,
        version: row.get(2)?,
        vector_release: row.get(3)?,
        mode: row.get(4)?,
        started: row.get(5)?,
        overall: row.get(6)?,
        roles: row.get(7)?,
        media: row.get(8)?,
        signature: row.get(9)?,
        requirement_verdict: None,
    })
}

/// The reports matching `q`, ordered by implementation, version and newest first.
pub fn query(conn: &Connection, q: &Query) -> Result<Vec<ReportEntry>, String> {
    let sql = |e: rusqlite::Error| format!("results store: {e}");
    let mut text = format!(
        "SELECT {ENTRY_COLUMNS}, rr.verdict FROM reports r
         LEFT JOIN requirement_results rr ON rr.report_id = r.id AND rr.requirement = ?3
         WHERE (?1 IS NULL OR lower(r.implementation || ' ' || r.version) LIKE '%' || lower(?1) || '%')
           AND (?2 IS NULL OR r.vector_release = ?2)
           AND (?3 IS NULL OR rr.verdict IS NOT NULL)"
    );
    if q.latest {
        // The newest run of each implementation and version (ties: the later archived).
        text.push_str(
            " AND r.id = (SELECT r2.id FROM reports r2
                 WHERE r2.implementation = r.implementation AND r2.version = r.version
                 ORDER BY r2.started DESC, r2.id DESC LIMIT 1)",
        );
    }
    text.push_str(" ORDER BY r.implementation, r.version, r.started DESC, r.id DESC");
    let mut stmt = conn.prepare(&text).map_err(sql)?;
    let rows = stmt
        .query_map(params![q.vendor, q.release, q.requirement], |row| {
            let mut e = entry(row)?;
            e.requirement_verdict = row.get(10)?;
            Ok(e)
        })
        .map_err(sql)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(sql)
}

/// A requirement column: id, clause, level, in catalogue order (from the newest report).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RequirementColumn {
    /// Id.
    pub id: String,
    /// Clause.
    pub clause: String,
    /// Level.
    pub level: String,
}

/// Every requirement any archived report graded, in the order of the newest report that has it.
pub fn requirement_columns(conn: &Connection) -> Result<Vec<RequirementColumn>, String> {
    let sql = |e: rusqlite::Error| format!("results store: {e}");
    let mut stmt = conn
        .prepare(
            "SELECT rr.requirement, rr.clause, rr.level FROM requirement_results rr
             JOIN reports r ON r.id = rr.report_id
             ORDER BY r.started DESC, r.id DESC, rr.position",
        )
        .map_err(sql)?;
    let rows = stmt
        .query_map([], |row| {
            Ok(RequirementColumn {
                id: row.get(0)?,
                clause: row.get(1)?,
                level: row.get(2)?,
            })
        })
        .map_err(sql)?;
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for c in rows {
        let c = c.map_err(sql)?;
        if seen.insert(c.id.clone()) {
            out.push(c);
        }
    }
    Ok(out)
}

/// Requirement id → verdict of one archived report.
pub fn verdicts(conn: &Connection, report_id: i64) -> Result<BTreeMap<String, String>, String> {
    let sql = |e: rusqlite::Error| format!("results store: {e}");
    let mut stmt = conn
        .prepare("SELECT requirement, verdict FROM requirement_results WHERE report_id = ?1")
        .map_err(sql)?;
    let rows = stmt
        .query_map([report_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .map_err(sql)?;
    rows.collect::<Result<BTreeMap<_, _>, _>>().map_err(sql)
}

/// The files kept for one archived report: (name, content).
pub fn files(conn: &Connection, report_id: i64) -> Result<Vec<(String, Vec<u8>)>, String> {
    let sql = |e: rusqlite::Error| format!("results store: {e}");
    let mut stmt = conn
        .prepare("SELECT name, content FROM report_files WHERE report_id = ?1 ORDER BY name")
        .map_err(sql)?;
    let rows = stmt
        .query_map([report_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .map_err(sql)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(sql)
}

/// Lines of `query` output: one per report (tab-separated), the requirement verdict last.
pub fn render_entries(entries: &[ReportEntry]) -> String {
    let mut out =
        String::from("id\timplementation\tversion\trelease\tmode\tstarted\toverall\tsignature");
    let with_req = entries.iter().any(|e| e.requirement_verdict.is_some());
    if with_req {
        out.push_str("\trequirement");
    }
    out.push('\n');
    for e in entries {
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            e.id,
            e.implementation,
            e.version,
            e.vector_release.as_deref().unwrap_or("-"),
            e.mode,
            e.started,
            e.overall,
            e.signature
        ));
        if with_req {
            out.push_str(&format!(
                "\t{}",
                e.requirement_verdict.as_deref().unwrap_or("-")
            ));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn write_report(dir: &Path, name: &str, version: &str, started: &str, verdict: &str) {
        std::fs::create_dir_all(dir).unwrap();
        let doc = json!({
            "adapter": {"mode": "persistent", "info": {"name": name, "version": version,
                        "roles": ["reader"], "media": {"read": ["image/png", "audio/wav"]}}},
            "suite": {"version": "0.1.0", "vectors_sha256": "ab", "release": "1.0.0"},
            "profile": {"id": "p"},
            "started": started, "finished": started, "overall": "conformant",
            "selection": {"filter": null},
            "requirements": [{"id": "R1", "clause": "GB 45438-2025 5.1 a)", "level": "mandatory", "verdict": verdict}],
            "vectors": [{"id": "v1", "requirements": ["R1"], "outcome": "pass", "waiver": null,
                         "content_sha256": "cd"}],
        });
        std::fs::write(dir.join("report.json"), doc.to_string()).unwrap();
    }

    #[test]
    fn archive_is_idempotent_and_queries_filter() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("r.sqlite");
        let mut conn = open(&db).unwrap();
        let (a, b, c) = (
            tmp.path().join("a"),
            tmp.path().join("b"),
            tmp.path().join("c"),
        );
        write_report(&a, "Impl", "1.0", "2026-01-01T00:00:00Z", "fail");
        write_report(&b, "Impl", "1.0", "2026-02-01T00:00:00Z", "pass");
        write_report(&c, "Other", "2", "2026-01-15T00:00:00Z", "pass");
        std::fs::write(c.join("report.sig"), b"sig").unwrap();
        let first = archive(&mut conn, &a).unwrap();
        assert!(first.new);
        assert_eq!(
            archive(&mut conn, &a).unwrap(),
            Archived {
                new: false,
                ..first.clone()
            }
        );
        archive(&mut conn, &b).unwrap();
        assert_eq!(archive(&mut conn, &c).unwrap().signature, "present");

        let all = query(&conn, &Query::default()).unwrap();
        assert_eq!(all.len(), 3);
        let latest = query(
            &conn,
            &Query {
                latest: true,
                ..Query::default()
            },
        )
        .unwrap();
        assert_eq!(latest.len(), 2);
        let imp = latest.iter().find(|e| e.implementation == "Impl").unwrap();
        assert_eq!(imp.started, "2026-02-01T00:00:00Z");
        assert_eq!(imp.media, "audio image");
        let fails = query(
            &conn,
            &Query {
                vendor: Some("impl 1".into()),
                requirement: Some("R1".into()),
                ..Query::default()
            },
        )
        .unwrap();
        let v: Vec<_> = fails
            .iter()
            .map(|e| e.requirement_verdict.as_deref())
            .collect();
        assert_eq!(v, [Some("pass"), Some("fail")]);
        assert!(query(
            &conn,
            &Query {
                release: Some("2.0.0".into()),
                ..Query::default()
            }
        )
        .unwrap()
        .is_empty());
        assert!(query(
            &conn,
            &Query {
                requirement: Some("R9".into()),
                ..Query::default()
            }
        )
        .unwrap()
        .is_empty());
        let files = files(&conn, 3).unwrap();
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["report.json", "report.sig"]);
    }
}
