//! Receiving an upload: the request body is streamed into a file in a private temporary
//! directory (mode 0700, one per request) with a size limit and a deadline. The directory is
//! removed when the [`Upload`] is dropped, whatever happened: success, error, time-out or a
//! client that went away (the handler's future is dropped, and the `Upload` with it).

use super::error::ApiError;
use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use http_body_util::BodyExt;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;
use tokio::time::{timeout_at, Instant};

/// An uploaded file on disk, in its own temporary directory.
pub struct Upload {
    /// The directory; removed on drop.
    dir: tempfile::TempDir,
    /// The file inside it.
    path: PathBuf,
    /// The name the client gave (for messages), never a server path.
    pub name: String,
    /// The upload's place among the `--max-uploads` on disk at once; given back on drop,
    /// after the directory is gone (fields drop in declaration order).
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl Upload {
    /// Where the upload is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A path for an output file in the same private directory, with the upload's extension
    /// (so the library writes the same format).
    pub fn output_path(&self) -> PathBuf {
        let mut p = self.dir.path().join("output");
        if let Some(ext) = self.path.extension() {
            p.set_extension(ext);
        }
        p
    }

    /// Replace every mention of the private directory in `message` by the upload's name, so
    /// no server path reaches the client.
    pub fn scrub(&self, message: &str) -> String {
        let dir = self.dir.path().display().to_string();
        message
            .replace(&self.path.display().to_string(), &self.name)
            .replace(&dir, "(upload)")
    }
}

/// The file extension to keep from the client's name: the format detector uses it for formats
/// without magic bytes (plain text). ASCII letters and digits only, at most 10 of them.
fn safe_extension(name: &str) -> Option<String> {
    let ext = Path::new(name).extension()?.to_str()?;
    (!ext.is_empty() && ext.len() <= 10 && ext.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| ext.to_ascii_lowercase())
}

/// The client's name for the upload, for messages: the last path component, printable, at
/// most 200 characters; `upload` when none was given.
pub fn display_name(name: Option<&str>) -> String {
    let base = name
        .map(|n| n.rsplit(['/', '\\']).next().unwrap_or(n))
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect::<String>();
    if base.is_empty() {
        "upload".into()
    } else {
        base
    }
}

/// Stream `body` into a new private temporary directory under `base`. Refuses with 413 a body
/// over `max` bytes (from Content-Length before reading, or while reading), with 408 one that
/// has not fully arrived by `deadline`, with 400 an empty one.
pub async fn receive(
    slot: tokio::sync::OwnedSemaphorePermit,
    base: &Path,
    headers: &HeaderMap,
    body: Body,
    name: Option<&str>,
    max: u64,
    deadline: Instant,
) -> Result<Upload, ApiError> {
    let shown = display_name(name);
    let too_large = |shown: &str| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("{shown}: the upload is larger than this service's limit of {max} bytes"),
        )
    };
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if len > max {
            return Err(too_large(&shown));
        }
    }
    let base = base.to_path_buf();
    let dir = tokio::task::spawn_blocking(move || {
        tempfile::Builder::new()
            .prefix("aigc-serve-")
            .tempdir_in(base)
    })
    .await
    .map_err(|_| ApiError::internal("could not create a temporary directory"))?
    .map_err(|e| ApiError::internal(format!("could not create a temporary directory: {e}")))?;
    let mut file_name = PathBuf::from("input");
    if let Some(ext) = name.and_then(safe_extension) {
        file_name.set_extension(ext);
    }
    let path = dir.path().join(file_name);
    // From here on, `upload` owns the directory: any early return removes it.
    let upload = Upload {
        dir,
        path,
        name: shown,
        _slot: slot,
    };
    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&upload.path)
        .await
        .map_err(|e| ApiError::internal(format!("could not create the spool file: {e}")))?;
    let mut out = tokio::io::BufWriter::with_capacity(256 * 1024, file);
    let mut body = body;
    let mut received: u64 = 0;
    loop {
        let frame = match timeout_at(deadline, body.frame()).await {
            Err(_) => {
                return Err(ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "time_limit",
                    format!(
                        "{}: the upload did not arrive within the time limit ({received} bytes received)",
                        upload.name
                    ),
                ))
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return Err(ApiError::bad_request(
                    "bad_body",
                    format!("{}: the request body could not be read: {e}", upload.name),
                ))
            }
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        received += data.len() as u64;
        if received > max {
            return Err(too_large(&upload.name));
        }
        out.write_all(&data)
            .await
            .map_err(|e| ApiError::internal(format!("could not spool the upload: {e}")))?;
    }
    if received == 0 {
        return Err(ApiError::bad_request(
            "empty_body",
            format!(
                "{}: the request body is empty; send the file's bytes as the body",
                upload.name
            ),
        ));
    }
    out.flush()
        .await
        .map_err(|e| ApiError::internal(format!("could not spool the upload: {e}")))?;
    Ok(upload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_is_kept_only_when_plain() {
        assert_eq!(safe_extension("a.PNG").as_deref(), Some("png"));
        assert_eq!(safe_extension("../../etc/passwd"), None);
        assert_eq!(safe_extension("x.p/ng"), None);
        assert_eq!(safe_extension("x.tar.gz").as_deref(), Some("gz"));
        assert_eq!(safe_extension("x.a b"), None);
        assert_eq!(safe_extension("noext"), None);
    }

    #[test]
    fn display_name_drops_directories_and_controls() {
        assert_eq!(display_name(Some("/tmp/x/photo.png")), "photo.png");
        assert_eq!(display_name(Some("C:\\a\\b.jpg")), "b.jpg");
        assert_eq!(display_name(Some("a\nb")), "ab");
        assert_eq!(display_name(None), "upload");
        assert_eq!(display_name(Some("dir/")), "upload");
    }
}
