//! Python bindings of the aigc-label reference (module `aigc_label._native`, re-exported by the
//! `aigc_label` package): `read`, `embed`, `propagate`, `check` and `scan_file`, each returning
//! plain dicts (the same JSON objects the `aigc-label` command prints).
//!
//! The GIL is released while files are read or written, so threads (and Dask's threaded
//! workers) run in parallel. Errors: `OSError` for the operating system's errors (a missing
//! file), `aigc_label.LabelError` (a `ValueError`) for everything about the content or the
//! arguments; messages name the file and, for damaged content, the byte offset.

use aigc_label::error::CodecError;
use aigc_label::implicit::{self, EmbedOptions, FileError};
use aigc_label::io::{Durability, Overwrite};
use aigc_label::platform::{self, PlatformInfo};
use aigc_label::{Label, Profile, Severity};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// One scan line per file, the very code `aigc-label scan` runs (so results are identical).
#[allow(dead_code)]
#[path = "../../reference/src/cli/scan/file.rs"]
mod scan_line;

pyo3::create_exception!(
    aigc_label,
    LabelError,
    PyValueError,
    "A label or a file the reference cannot accept (the message says what and where)."
);

/// The profile in force: the built-in one (parsed once), or a YAML file.
fn profile_or_builtin(path: Option<PathBuf>) -> PyResult<Profile> {
    static BUILTIN: OnceLock<Profile> = OnceLock::new();
    match path {
        None => Ok(BUILTIN.get_or_init(Profile::builtin).clone()),
        Some(p) => Profile::load(&p).map_err(|e| LabelError::new_err(e.to_string())),
    }
}

/// A Python dict/list from anything serialisable, through `json.loads` (plain types only).
fn to_py<T: Serialize>(py: Python<'_>, value: &T) -> PyResult<Py<PyAny>> {
    let text = serde_json::to_string(value).map_err(|e| LabelError::new_err(e.to_string()))?;
    json_to_py(py, &text)
}

fn json_to_py(py: Python<'_>, text: &str) -> PyResult<Py<PyAny>> {
    Ok(py.import("json")?.call_method1("loads", (text,))?.unbind())
}

fn codec_err(path: &str, e: CodecError) -> PyErr {
    match e {
        CodecError::Io(io) => PyOSError::new_err(format!("{path}: {io}")),
        other => LabelError::new_err(format!("{path}: {other}")),
    }
}

fn file_err(e: FileError) -> PyErr {
    codec_err(&e.path.display().to_string(), e.error)
}

/// A file given as a path (str or os.PathLike) or as its bytes.
enum Source {
    Path(PathBuf),
    Bytes(Vec<u8>),
}

fn source(obj: &Bound<'_, PyAny>) -> PyResult<Source> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Source::Bytes(b.as_bytes().to_vec()));
    }
    obj.extract::<PathBuf>().map(Source::Path).map_err(|_| {
        pyo3::exceptions::PyTypeError::new_err("expected a path (str or os.PathLike) or bytes")
    })
}

/// read(source, name=None, profile=None) -> dict
///
/// The labels a file carries and the verdict: `{"file", "format", "media", "labels",
/// "problems", "verdict"}` as `aigc-label read --json` prints it. `source` is a path or the
/// file's bytes (`name`, e.g. "upload.png", then gives the extension detection falls back on).
#[pyfunction]
#[pyo3(signature = (source, name=None, profile=None))]
fn read(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    name: Option<String>,
    profile: Option<PathBuf>,
) -> PyResult<Py<PyAny>> {
    let profile = profile_or_builtin(profile)?;
    let report = match self::source(source)? {
        Source::Path(p) => py
            .detach(|| implicit::read_path(&p, &profile))
            .map_err(file_err)?,
        Source::Bytes(b) => {
            let name = name.unwrap_or_else(|| "<bytes>".to_string());
            py.detach(|| implicit::read_bytes(b, &name, &profile))
                .map_err(|e| codec_err(&name, e))?
        }
    };
    to_py(py, &report)
}

/// Build the label from a dict of Annex E fields. Required: Label, ContentProducer and
/// ProduceID; ContentPropagator/PropagateID default to the producer's values (Annex E note 1),
/// the reserved fields to "".
fn label_from_fields(
    fields: BTreeMap<String, String>,
    allow_empty: bool,
    allow_invalid: bool,
    profile: &Profile,
) -> PyResult<Label> {
    let mut label = Label::default();
    for (k, v) in &fields {
        match label.field_mut(k) {
            Some(slot) => *slot = v.clone(),
            None => return Err(LabelError::new_err(format!("unknown Annex E field {k:?}"))),
        }
    }
    for key in ["Label", "ContentProducer", "ProduceID"] {
        if !fields.contains_key(key) {
            return Err(LabelError::new_err(format!("fields: {key} is missing")));
        }
    }
    if !fields.contains_key("ContentPropagator") {
        label.content_propagator = label.content_producer.clone();
    }
    if !fields.contains_key("PropagateID") {
        label.propagate_id = label.produce_id.clone();
    }
    if !allow_empty && (label.content_producer.is_empty() || label.produce_id.is_empty()) {
        return Err(LabelError::new_err(
            "refusing to write a label with an empty ContentProducer or ProduceID: empty producer \
             fields are legal only when the producer is unknown (a content platform's Label \"2\" \
             or \"3\", Measures Art. 6 cases 2 and 3: see propagate() and the profile's \
             platform.unknown_producer); pass allow_empty=True to write it anyway",
        ));
    }
    let errors: Vec<String> = label
        .validate(profile)
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| format!("{} ({})", p.message, p.code.as_str()))
        .collect();
    if !errors.is_empty() && !allow_invalid {
        return Err(LabelError::new_err(format!(
            "refusing to write an invalid label: {} (allow_invalid=True writes it anyway)",
            errors.join("; ")
        )));
    }
    Ok(label)
}

/// embed(source, fields, output=None, *, overwrite=False, sync=True, allow_empty=False,
/// allow_invalid=False, profile=None)
///
/// Write the label `fields` (a dict of Annex E fields) in the format's standard carrier. With
/// bytes in, returns the labelled bytes; with a path in, writes `output` atomically (the input
/// is never modified unless `output` is the input itself) and returns
/// `{"input", "output", "format", "label"}`.
#[pyfunction]
#[pyo3(signature = (source, fields, output=None, *, overwrite=false, sync=true, allow_empty=false, allow_invalid=false, profile=None))]
#[allow(clippy::too_many_arguments)]
fn embed(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    fields: BTreeMap<String, String>,
    output: Option<PathBuf>,
    overwrite: bool,
    sync: bool,
    allow_empty: bool,
    allow_invalid: bool,
    profile: Option<PathBuf>,
) -> PyResult<Py<PyAny>> {
    let profile = profile_or_builtin(profile)?;
    let label = label_from_fields(fields, allow_empty, allow_invalid, &profile)?;
    let json = label.to_bare_json();
    match self::source(source)? {
        Source::Bytes(b) => {
            let out = py
                .detach(|| implicit::embed_bytes(b, &json))
                .map_err(|e| codec_err("<bytes>", e))?;
            Ok(PyBytes::new(py, &out).into_any().unbind())
        }
        Source::Path(input) => {
            let output = output.ok_or_else(|| {
                LabelError::new_err("embed of a path needs output= (the labelled copy)")
            })?;
            let options = EmbedOptions {
                overwrite: if overwrite {
                    Overwrite::Replace
                } else {
                    Overwrite::Refuse
                },
                durability: if sync {
                    Durability::Sync
                } else {
                    Durability::OsCache
                },
            };
            let format = py
                .detach(|| implicit::embed_path(&input, &output, &json, options))
                .map_err(file_err)?;
            to_py(
                py,
                &serde_json::json!({
                    "input": input.display().to_string(),
                    "output": output.display().to_string(),
                    "format": format.id(),
                    "label": label,
                }),
            )
        }
    }
}

/// propagate(source, output, propagator, propagate_id, *, reserved2=None, user_declared=False,
/// trace=None, overwrite=False, profile=None) -> dict
///
/// The content platform role (Measures Art. 6): verify the input's label, choose the notice,
/// write the propagation fields into `output`. Returns the decision (`notice`, `notice_text`,
/// `label`, `input_verdict`, `reason`) as `aigc-label propagate --json` prints it. Without
/// `trace`, the reference looks for an explicit label itself where it can.
#[pyfunction]
#[pyo3(signature = (source, output, propagator, propagate_id, *, reserved2=None, user_declared=false, trace=None, overwrite=false, profile=None))]
#[allow(clippy::too_many_arguments)]
fn propagate(
    py: Python<'_>,
    source: PathBuf,
    output: PathBuf,
    propagator: String,
    propagate_id: String,
    reserved2: Option<String>,
    user_declared: bool,
    trace: Option<String>,
    overwrite: bool,
    profile: Option<PathBuf>,
) -> PyResult<Py<PyAny>> {
    let profile = profile_or_builtin(profile)?;
    let platform = PlatformInfo {
        content_propagator: propagator,
        propagate_id,
        reserved_code2: reserved2,
    };
    let overwrite = if overwrite {
        Overwrite::Replace
    } else {
        Overwrite::Refuse
    };
    let decision = py
        .detach(|| {
            let trace = trace.or_else(|| aigc_label::explicit::detect_trace(&source, &profile));
            platform::propagate_path(
                &source,
                &output,
                &platform,
                user_declared,
                trace.as_deref(),
                overwrite,
                &profile,
            )
        })
        .map_err(file_err)?;
    to_py(py, &decision)
}

/// check(path, original=None, *, voice_text=None, rounds=None, ocr=True, media=None, profile=None) -> dict
///
/// Measure the explicit label (chapter 5) in a file and judge it per requirement, as
/// `aigc-label check --json` prints it (`rounds`: audio interaction rounds as `(start, end)`
/// seconds of the original, 5.3 d note 3): `{"file", "original", "modality", "profile",
/// "measurements", "findings", "label_found", "readings", "binding_readings", "verdict"}` with
/// verdict "pass" or "fail".
#[pyfunction]
#[pyo3(signature = (path, original=None, *, voice_text=None, rounds=None, ocr=true, media=None, profile=None))]
#[allow(clippy::too_many_arguments)]
fn check(
    py: Python<'_>,
    path: PathBuf,
    original: Option<PathBuf>,
    voice_text: Option<String>,
    rounds: Option<Vec<[f64; 2]>>,
    ocr: bool,
    media: Option<String>,
    profile: Option<PathBuf>,
) -> PyResult<Py<PyAny>> {
    let profile = profile_or_builtin(profile)?;
    let rounds = rounds.unwrap_or_default();
    let checked = py
        .detach(|| {
            aigc_label::explicit::check_file(
                &path,
                original.as_deref(),
                voice_text.as_deref(),
                &rounds,
                ocr,
                media.as_deref(),
                &profile,
            )
        })
        .map_err(|e| LabelError::new_err(e.to_string()))?;
    // The same object as `aigc-label check --json`.
    to_py(
        py,
        &aigc_label::explicit::check_json(&path, original.as_deref(), &profile, &checked),
    )
}

/// scan_file(path, profile=None) -> dict
///
/// One line of `aigc-label scan` for one file (reference/schema/scan-line.schema.json): never
/// raises for the file's content or type (errors, unsupported formats and FIFOs are statuses),
/// never blocks on a FIFO, does not follow a final symbolic link. For distributed scans.
#[pyfunction]
#[pyo3(signature = (path, profile=None))]
fn scan_file(py: Python<'_>, path: PathBuf, profile: Option<PathBuf>) -> PyResult<Py<PyAny>> {
    let profile = profile_or_builtin(profile)?;
    let outcome = py.detach(|| scan_line::scan_file(Path::new(&path), false, &profile));
    json_to_py(py, &outcome.line)
}

/// The Rust module behind the `aigc_label` package.
#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(read, m)?)?;
    m.add_function(wrap_pyfunction!(embed, m)?)?;
    m.add_function(wrap_pyfunction!(propagate, m)?)?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(scan_file, m)?)?;
    m.add("LabelError", m.py().get_type::<LabelError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
