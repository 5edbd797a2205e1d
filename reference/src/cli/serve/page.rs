//! The web page at `/`: static HTML, JavaScript and CSS compiled into the binary (no CDN, no
//! build step). The page posts the dropped file to `/v1/read` (and `/v1/check` for images) and
//! shows the answer in Chinese and English.

use super::error::ApiError;
use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

const INDEX_HTML: &str = include_str!("../../../assets/web/index.html");
const APP_JS: &str = include_str!("../../../assets/web/app.js");
const APP_CSS: &str = include_str!("../../../assets/web/app.css");

/// Only this server's own files; images are shown from the dropped file (`blob:`).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn asset_response(content_type: &'static str, body: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// `GET /`.
pub async fn index() -> Response {
    asset_response("text/html; charset=utf-8", INDEX_HTML)
}

/// `GET /assets/{file}`.
pub async fn asset(Path(file): Path<String>) -> Response {
    match file.as_str() {
        "app.js" => asset_response("text/javascript; charset=utf-8", APP_JS),
        "app.css" => asset_response("text/css; charset=utf-8", APP_CSS),
        _ => ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such asset").into_response(),
    }
}
