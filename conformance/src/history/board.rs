//! `aigc-conform board --db FILE --out DIR`: the results board, a static site written from the
//! store. One row per implementation and version (its latest archived run), one column per
//! requirement grouped by clause, the vector release, the signature status and a link to each
//! full report (copied out of the store into `DIR/reports/<id>/`). Rows filter by role and
//! media family; the table scrolls sideways on a phone with the implementation column pinned.
//! No network: the page has no external resource, its small script only hides rows.

use rusqlite::Connection;
use std::collections::BTreeSet;
use std::path::Path;

use super::store::{self, Query, ReportEntry};

/// Escape text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Short cell text of a verdict (the full word is in the cell's title and the legend).
fn short(verdict: &str) -> &'static str {
    match verdict {
        "pass" => "✓",
        "fail" => "✗",
        "observation" => "O",
        "waived" => "W",
        "incomplete" => "I",
        "not-applicable" => "–",
        "not-tested" => "NT",
        "not-tested-procedural" => "PR",
        "not-run" => "NR",
        "retired" => "R",
        _ => "?",
    }
}

const LEGEND: [(&str, &str); 10] = [
    ("pass", "measured, and no applicable vector fails"),
    ("fail", "a vector fails (mandatory requirement)"),
    (
        "observation",
        "a vector fails (recommended or permitted requirement)",
    ),
    ("waived", "failures covered by approved waivers"),
    ("incomplete", "a vector hit a harness error"),
    ("not-applicable", "outside the declared roles and media"),
    (
        "not-tested",
        "nothing measured it (no vector, or none conclusive)",
    ),
    (
        "not-tested-procedural",
        "judged by an auditor from evidence",
    ),
    ("not-run", "not selected in that run"),
    ("retired", "retired requirement"),
];

const STYLE: &str = "
body{font:14px/1.4 system-ui,'Noto Sans CJK SC',sans-serif;margin:0;padding:12px;color:#222}
h1{font-size:1.3em;margin:0 0 .4em}
.filters{display:flex;flex-wrap:wrap;gap:.6em 1.2em;margin:.6em 0}
.filters label{white-space:nowrap}
select{font-size:1em;padding:.2em}
.wrap{overflow-x:auto;-webkit-overflow-scrolling:touch;border:1px solid #ccc;max-width:100%}
table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 5px;text-align:center;white-space:nowrap}
th.impl,td.impl{position:sticky;left:0;background:#fff;text-align:left;z-index:1;max-width:14em;white-space:normal}
thead th{background:#f3f3f3}
th.req{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:normal;font-size:12px}
.v-pass{background:#d9f2dd}.v-fail{background:#f8d0d0;font-weight:bold}.v-waived,.v-observation{background:#fbecc4}.v-incomplete{background:#f6f6f6;color:#b42318}
.v-not-applicable,.v-not-run{color:#888}.v-not-tested,.v-not-tested-procedural,.v-retired{color:#888;background:#f6f6f6}
.o-conformant{color:#1a7f37}.o-non-conformant{color:#b42318;font-weight:bold}.o-conformant-with-observations,.o-partial{color:#9a6700}.o-incomplete,.o-no-verdict{color:#b42318}
dl.legend{display:grid;grid-template-columns:auto 1fr;gap:.1em .6em;font-size:13px}
dl.legend dt{text-align:center}
@media (max-width:600px){body{padding:6px}th.req{font-size:11px}}
";

const SCRIPT: &str = "
function applyFilters(){
  var role=document.getElementById('role').value, media=document.getElementById('media').value;
  var rows=document.querySelectorAll('#board tbody tr'), shown=0;
  for(var i=0;i<rows.length;i++){
    var r=rows[i];
    var ok=(role===''||(' '+r.dataset.roles+' ').indexOf(' '+role+' ')>=0)&&
           (media===''||(' '+r.dataset.media+' ').indexOf(' '+media+' ')>=0);
    r.hidden=!ok; if(ok)shown++;
  }
  document.getElementById('shown').textContent=shown;
}
document.getElementById('role').addEventListener('change',applyFilters);
document.getElementById('media').addEventListener('change',applyFilters);
applyFilters();
";

/// Link (relative to the board) to the full report of archived report `id`, given the names of
/// its stored files.
fn report_link(id: i64, names: &[String]) -> String {
    let name = if names.iter().any(|n| n == "report.html") {
        "report.html"
    } else {
        "report.json"
    };
    format!("reports/{id}/{name}")
}

fn options(id: &str, label: &str, values: &BTreeSet<String>) -> String {
    let mut s = format!("<label>{label} <select id=\"{id}\"><option value=\"\">all</option>");
    for v in values {
        s.push_str(&format!("<option value=\"{0}\">{0}</option>", esc(v)));
    }
    s.push_str("</select></label>");
    s
}

/// Write the board for the store `conn` into `out`: `index.html` and `reports/<id>/...`.
/// Returns the number of rows.
pub fn write(conn: &Connection, out: &Path) -> Result<usize, String> {
    let latest = store::query(
        conn,
        &Query {
            latest: true,
            ..Query::default()
        },
    )?;
    let all = store::query(conn, &Query::default())?;
    let columns = store::requirement_columns(conn)?;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;

    // Every archived report's files, so each run (not only the latest) can be opened.
    let mut links = std::collections::BTreeMap::new();
    for e in &all {
        let dir = out.join("reports").join(e.id.to_string());
        std::fs::create_dir_all(&dir).map_err(|er| format!("{}: {er}", dir.display()))?;
        let files = store::files(conn, e.id)?;
        for (name, content) in &files {
            // Names come from the fixed list and the signature list; never a path.
            if name.contains('/') || name.contains('\\') || name.starts_with('.') {
                continue;
            }
            let p = dir.join(name);
            std::fs::write(&p, content).map_err(|er| format!("{}: {er}", p.display()))?;
        }
        let names: Vec<String> = files.into_iter().map(|(n, _)| n).collect();
        links.insert(e.id, report_link(e.id, &names));
    }

    let roles: BTreeSet<String> = latest
        .iter()
        .flat_map(|e| e.roles.split_whitespace().map(String::from))
        .collect();
    let media: BTreeSet<String> = latest
        .iter()
        .flat_map(|e| e.media.split_whitespace().map(String::from))
        .collect();

    // Column groups: consecutive requirements of the same clause group.
    let mut groups: Vec<(String, usize)> = Vec::new();
    for c in &columns {
        let g = super::clause_group(&c.clause);
        match groups.last_mut() {
            Some((name, n)) if *name == g => *n += 1,
            _ => groups.push((g, 1)),
        }
    }

    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    h.push_str("<title>GB 45438-2025 results board</title>");
    h.push_str(&format!("<style>{STYLE}</style></head><body>\n"));
    h.push_str("<h1>GB 45438-2025 结果公示 / results board</h1>\n");
    h.push_str(&format!(
        "<p>{} implementation versions, latest run each; {} archived runs. Generated by aigc-conform {}.</p>\n",
        latest.len(),
        all.len(),
        env!("CARGO_PKG_VERSION")
    ));
    h.push_str("<div class=\"filters\">");
    h.push_str(&options("role", "Role", &roles));
    h.push_str(&options("media", "Media", &media));
    h.push_str("<span><span id=\"shown\">");
    h.push_str(&latest.len().to_string());
    h.push_str("</span> shown</span></div>\n");

    h.push_str("<div class=\"wrap\"><table id=\"board\"><thead><tr>");
    h.push_str("<th class=\"impl\" rowspan=\"2\">Implementation</th><th rowspan=\"2\">Version</th><th rowspan=\"2\">Vector release</th><th rowspan=\"2\">Overall</th><th rowspan=\"2\">Signature</th><th rowspan=\"2\">Run</th>");
    for (g, n) in &groups {
        // The standard's own clauses by number; the Measures and guides by name.
        let short_name = g.strip_prefix("GB 45438-2025 ").unwrap_or(g);
        h.push_str(&format!(
            "<th colspan=\"{n}\" class=\"group\" title=\"{}\">{}</th>",
            esc(g),
            esc(short_name)
        ));
    }
    h.push_str("</tr><tr>");
    for c in &columns {
        h.push_str(&format!(
            "<th class=\"req\" data-req=\"{0}\" title=\"{1} ({2})\">{0}</th>",
            esc(&c.id),
            esc(&c.clause),
            esc(&c.level)
        ));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for e in &latest {
        let v = store::verdicts(conn, e.id)?;
        h.push_str(&format!(
            "<tr data-report=\"{}\" data-implementation=\"{}\" data-version=\"{}\" data-roles=\"{}\" data-media=\"{}\">",
            e.id,
            esc(&e.implementation),
            esc(&e.version),
            esc(&e.roles),
            esc(&e.media)
        ));
        h.push_str(&format!(
            "<td class=\"impl\"><a href=\"{link}\">{name}</a></td><td>{version}</td><td>{release}</td><td class=\"o-{overall}\">{overall}</td><td data-signature=\"{sig}\">{sig}</td><td>{started}</td>",
            link = esc(&links[&e.id]),
            name = esc(&e.implementation),
            version = esc(&e.version),
            release = esc(e.vector_release.as_deref().unwrap_or("unreleased")),
            overall = esc(&e.overall),
            sig = esc(&e.signature),
            started = esc(&e.started),
        ));
        for c in &columns {
            let verdict = v.get(&c.id).map(String::as_str).unwrap_or("absent");
            h.push_str(&format!(
                "<td class=\"v-{0}\" data-req=\"{1}\" data-verdict=\"{0}\" title=\"{1}: {0}\">{2}</td>",
                esc(verdict),
                esc(&c.id),
                short(verdict)
            ));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table></div>\n");

    h.push_str("<h2>Legend</h2><dl class=\"legend\">");
    for (v, meaning) in LEGEND {
        h.push_str(&format!(
            "<dt class=\"v-{v}\">{}</dt><dd>{v}: {meaning}</dd>",
            short(v)
        ));
    }
    h.push_str("</dl>\n<p>Signature: <em>present</em> means a signature file was archived with the report; it is not verified by this page.</p>\n");

    h.push_str("<h2>Every archived run</h2><ul id=\"runs\">");
    for e in &all {
        h.push_str(&format!(
            "<li data-report=\"{}\"><a href=\"{}\">{} {}</a> — {}, release {}, {}, {}</li>",
            e.id,
            esc(&links[&e.id]),
            esc(&e.implementation),
            esc(&e.version),
            esc(&e.started),
            esc(e.vector_release.as_deref().unwrap_or("unreleased")),
            esc(&e.mode),
            esc(&e.overall)
        ));
    }
    h.push_str("</ul>\n");
    h.push_str(&format!("<script>{SCRIPT}</script>\n</body></html>\n"));

    let index = out.join("index.html");
    let tmp = out.join(".index.html.tmp");
    std::fs::write(&tmp, h).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &index).map_err(|e| format!("{}: {e}", index.display()))?;
    Ok(latest.len())
}

/// The entries shown as rows (for tests and tools): the latest run of each implementation and
/// version.
pub fn rows(conn: &Connection) -> Result<Vec<ReportEntry>, String> {
    store::query(
        conn,
        &Query {
            latest: true,
            ..Query::default()
        },
    )
}
