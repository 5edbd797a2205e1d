//! Structured JSON errors of the service: `{"error": {"code", "message", "offset"?}}` with a
//! 4xx status for anything the client sent, 5xx only for the server's own failures (a full
//! disk, a worker that panicked, no worker free in time).

use aigc_label::error::CodecError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::io::ErrorKind;

/// The error code, kept in the response extensions so the request log can print it.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

/// One error answer.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code (`corrupt`, `too_large`, ...).
    pub code: &'static str,
    /// What was wrong, in words, naming the upload and never a server path.
    pub message: String,
    /// Byte offset in the upload, for errors about its content.
    pub offset: Option<u64>,
}

impl ApiError {
    /// An error without an offset.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            offset: None,
        }
    }

    /// 400: the request itself is malformed (parameters, empty body).
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 500: the server failed (never used for anything the client sent).
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// Map a codec error about the upload `name` to a client error, or to a server error when
    /// it is the operating system failing on the server's own files.
    pub fn from_codec(name: &str, error: &CodecError) -> ApiError {
        let (status, code, offset) = match error {
            CodecError::Corrupt { offset, .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "corrupt", Some(*offset))
            }
            CodecError::Limit { offset, .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "limit", Some(*offset))
            }
            CodecError::Unsupported(what) if what.starts_with("not a format") => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_format",
                None,
            ),
            CodecError::Unsupported(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unsupported", None),
            // Errors the decoders raise on the content itself.
            CodecError::Io(e)
                if matches!(
                    e.kind(),
                    ErrorKind::UnexpectedEof | ErrorKind::InvalidData | ErrorKind::InvalidInput
                ) =>
            {
                (StatusCode::UNPROCESSABLE_ENTITY, "corrupt", None)
            }
            CodecError::Io(_) => (StatusCode::INTERNAL_SERVER_ERROR, "io", None),
        };
        ApiError {
            status,
            code,
            message: format!("{name}: {error}"),
            offset,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "code": self.code, "message": self.message });
        if let Some(offset) = self.offset {
            body["offset"] = json!(offset);
        }
        let mut response = (self.status, Json(json!({ "error": body }))).into_response();
        response.extensions_mut().insert(ErrorCode(self.code));
        response
    }
}
