//! The `rapidocr` engine: PP-OCRv4 Chinese/English line recognition (PaddleOCR's models on
//! ONNX Runtime), from the PyPI package `rapidocr-onnxruntime`, which ships the models inside
//! its wheel (nothing is downloaded at run time). One `python3` process per call reads every
//! variant in one batch ([`SCRIPT`], embedded in the binary so that an installed `aigc-label`
//! needs no file beside it); it runs through [`crate::tool`] like tesseract, under the
//! caller's deadline. The interpreter is `python3` on `PATH`, or `AIGC_LABEL_PYTHON` when set
//! (the package supports Python < 3.13 only: a site whose `python3` is newer points this at a
//! virtual environment's interpreter).

use super::prep::Variant;
use super::save_all;
use crate::explicit::{ExplicitError, Result};

/// The Python side (`rapidocr.py` beside this file).
const SCRIPT: &str = include_str!("rapidocr.py");

/// Exit status of [`SCRIPT`] when `rapidocr-onnxruntime` is not installed.
const MISSING: i32 = 3;

/// What went wrong with the engine.
#[derive(Debug)]
pub(super) enum RapidError {
    /// `python3` or the package is not installed: the next engine reads instead.
    Missing(String),
    /// It ran and failed (or ran past the deadline).
    Failed(ExplicitError),
}

/// One reading per variant, in order: the text with whitespace removed and the model's
/// confidence (0-1).
pub(super) fn read(variants: &[Variant]) -> std::result::Result<Vec<(String, f32)>, RapidError> {
    let files = save_all(variants, "ocr-rapid").map_err(RapidError::Failed)?;
    let python = std::env::var("AIGC_LABEL_PYTHON").unwrap_or_else(|_| "python3".into());
    let run = crate::tool::Tool::new(&python)
        .arg("-c")
        .arg(SCRIPT)
        .args(files.paths())
        .file(&files.paths()[0])
        .run();
    drop(files);
    let out = match run {
        Ok(out) => out,
        Err(crate::tool::ToolError::NotStarted { error, .. })
            if error.kind() == std::io::ErrorKind::NotFound =>
        {
            return Err(RapidError::Missing(format!(
                "{python} not found (scripts/install-deps.sh installs python3; \
                 AIGC_LABEL_PYTHON names another interpreter)"
            )));
        }
        Err(crate::tool::ToolError::Failed {
            status, stderr: _, ..
        }) if status.code() == Some(MISSING) => {
            return Err(RapidError::Missing(
                "rapidocr-onnxruntime is not installed (pip install rapidocr-onnxruntime; \
                 scripts/install-deps.sh installs it)"
                    .into(),
            ));
        }
        Err(e) => return Err(RapidError::Failed(ExplicitError::Tool(e.to_string()))),
    };
    parse(&String::from_utf8_lossy(&out), variants.len()).map_err(RapidError::Failed)
}

/// One `{"text", "score"}` line per variant.
fn parse(out: &str, n: usize) -> Result<Vec<(String, f32)>> {
    #[derive(serde::Deserialize)]
    struct Line {
        text: String,
        score: f32,
    }
    let mut readings = Vec::with_capacity(n);
    for line in out.lines().filter(|l| !l.trim().is_empty()) {
        let l: Line = serde_json::from_str(line).map_err(|e| {
            ExplicitError::Tool(format!("rapidocr: unreadable output {line:?}: {e}"))
        })?;
        readings.push((
            l.text.chars().filter(|c| !c.is_whitespace()).collect(),
            l.score,
        ));
    }
    if readings.len() != n {
        return Err(ExplicitError::Tool(format!(
            "rapidocr: {} readings for {n} images",
            readings.len()
        )));
    }
    Ok(readings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_lines_are_read_in_order_and_a_short_answer_is_an_error() {
        let out = "{\"text\": \"AI 生成\", \"score\": 0.98}\n{\"text\": \"\", \"score\": 0.0}\n";
        let r = parse(out, 2).unwrap();
        assert_eq!(r[0], ("AI生成".to_string(), 0.98));
        assert_eq!(r[1].0, "");
        assert!(parse(out, 3).is_err());
        assert!(parse("garbage\n", 1).is_err());
    }
}
