//! The `tesseract` engine (`chi_sim+eng`): every variant goes to one tesseract process (a list
//! file of images, so the language model is loaded once per call).

use super::prep::Variant;
use super::save_all;
use crate::explicit::Result;

/// Whether the error says tesseract is not installed (then the next engine reads instead).
pub(super) fn is_missing(e: &crate::explicit::ExplicitError) -> bool {
    e.to_string().contains("tesseract not found")
}

/// One text per variant, whitespace removed, read with page segmentation mode `psm` (7: one
/// text line, 6: one block).
pub(super) fn read(variants: &[Variant], psm: &str) -> Result<Vec<String>> {
    let files = save_all(variants, "ocr")?;
    let mut list = String::new();
    for p in files.paths() {
        list.push_str(&p.to_string_lossy());
        list.push('\n');
    }
    let list_path = files.add("ocr-list", "txt");
    std::fs::write(&list_path, list).map_err(|e| format!("{}: {e}", list_path.display()))?;
    let result = crate::explicit::run_tool(
        "tesseract",
        &[
            list_path.as_os_str(),
            "stdout".as_ref(),
            "-l".as_ref(),
            "chi_sim+eng".as_ref(),
            "--psm".as_ref(),
            psm.as_ref(),
        ],
    );
    drop(files);
    let text = String::from_utf8_lossy(&result?).into_owned();
    // Pages are separated by form feeds, one per image.
    let mut pages: Vec<String> = text
        .split('\u{c}')
        .map(|p| p.chars().filter(|c| !c.is_whitespace()).collect())
        .collect();
    pages.resize(variants.len(), String::new());
    Ok(pages)
}
