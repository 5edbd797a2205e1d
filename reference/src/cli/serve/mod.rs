//! `aigc-label serve --listen ADDR`: the reference as an HTTP service, and a web page at `/`.
//!
//! Every endpoint takes the file as the raw request body (any content type) and its original
//! name in the `name` query parameter (the extension helps detect formats without magic bytes):
//!
//! - `POST /v1/read?name=photo.png`: the implicit labels and the verdict (the `read --json`
//!   object).
//! - `POST /v1/check?name=photo.png[&media=image][&ocr=false][&voice_text=...]`: the explicit
//!   label measured and judged per requirement (the `check --json` object, without an original).
//! - `POST /v1/embed?name=...&label=1&producer=...&produce_id=...` (or `&fields=JSON`): the
//!   file with the label written; the format in the `AIGC-Format` header.
//! - `POST /v1/propagate?name=...&propagator=...&propagate_id=...[&user_declared=true]`: the
//!   published file with the platform's fields; the decision (JSON, ASCII-escaped) in the
//!   `AIGC-Decision` header.
//! - `GET /healthz`; `GET /` the page.
//!
//! Uploads are spooled to a private temporary directory that is removed after the request
//! (see [`spool`]); the library's blocking work runs on tokio's blocking pool behind a
//! semaphore of `--workers` permits; each request has a deadline (`--time-limit`). Errors are
//! JSON, 4xx for anything the client sent. One log line per request goes to stderr.

mod error;
mod page;
mod spool;

use crate::common::FieldArgs;
use aigc_label::implicit::{embed_path, read_path, EmbedOptions};
use aigc_label::io::{Durability, Overwrite};
use aigc_label::platform::{propagate_path, PlatformInfo};
use aigc_label::Profile;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use error::{ApiError, ErrorCode};
use serde::Deserialize;
use serde_json::json;
use spool::Upload;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::{timeout_at, Instant};

/// Arguments of `serve`.
#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on (port 0: any free port; the chosen address is printed to stderr).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Largest accepted upload, in bytes (413 above it).
    #[arg(long, value_name = "BYTES", default_value_t = 256 * 1024 * 1024)]
    max_body: u64,
    /// Time limit of one request, upload included, in seconds (408 while uploading, 422 when
    /// the file takes longer to process, 503 when no worker became free).
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    time_limit: u64,
    /// Uploads on disk at the same time (receiving or being processed); above it, 503 at once.
    /// Bounds the disk the spool can take to about MAX_UPLOADS x MAX_BODY.
    #[arg(long, value_name = "N", default_value_t = 64)]
    max_uploads: usize,
    /// Files processed at the same time (default: one per core).
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// Where the per-request private directories are made (default: the system's temp dir).
    #[arg(long, value_name = "DIR")]
    temp_dir: Option<PathBuf>,
}

/// What every handler shares.
struct Service {
    profile: Arc<Profile>,
    max_body: u64,
    time_limit: Duration,
    temp_dir: PathBuf,
    /// Permits to run library work: bounds the CPU and memory the blocking work takes.
    workers: Arc<Semaphore>,
    /// Permits to have an upload on disk.
    uploads: Arc<Semaphore>,
}

type Shared = State<Arc<Service>>;

impl Service {
    fn deadline(&self) -> Instant {
        Instant::now() + self.time_limit
    }

    async fn receive(
        &self,
        headers: &HeaderMap,
        body: Body,
        name: Option<&str>,
        deadline: Instant,
    ) -> Result<Upload, ApiError> {
        let slot = self.uploads.clone().try_acquire_owned().map_err(|_| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "too many uploads in progress; retry later",
            )
        })?;
        spool::receive(
            slot,
            &self.temp_dir,
            headers,
            body,
            name,
            self.max_body,
            deadline,
        )
        .await
    }

    /// Run blocking library work `f` on the blocking pool once a worker permit is free, by
    /// `deadline`. `f` owns the upload, so its directory is removed when `f` ends, even if the
    /// request has timed out and answered already.
    async fn work<T: Send + 'static>(
        &self,
        deadline: Instant,
        name: &str,
        f: impl FnOnce(&Profile) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit = match timeout_at(deadline, self.workers.clone().acquire_owned()).await {
            Ok(Ok(p)) => p,
            _ => {
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "no worker became free within the time limit; retry later",
                ))
            }
        };
        let profile = self.profile.clone();
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            f(&profile)
        });
        match timeout_at(deadline, task).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(_)) => Err(ApiError::internal(format!(
                "{name}: the worker failed (a bug in the reference; please report it)"
            ))),
            Err(_) => Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "time_limit",
                format!(
                    "{name}: processing took longer than the time limit of {} s",
                    self.time_limit.as_secs()
                ),
            )),
        }
    }
}

/// Run the service until Ctrl-C or SIGTERM.
pub fn run(args: Args, profile: &Profile) -> ExitCode {
    let workers = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1);
    let service = Arc::new(Service {
        profile: Arc::new(profile.clone()),
        max_body: args.max_body,
        time_limit: Duration::from_secs(args.time_limit.max(1)),
        temp_dir: args.temp_dir.clone().unwrap_or_else(std::env::temp_dir),
        workers: Arc::new(Semaphore::new(workers)),
        uploads: Arc::new(Semaphore::new(args.max_uploads.max(1))),
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("aigc-label: serve: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        eprintln!("aigc-label serve: listening on http://{addr} ({workers} workers)");
        axum::serve(
            listener,
            router(service).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| e.to_string())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aigc-label: serve: {e}");
            ExitCode::from(2)
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

fn router(service: Arc<Service>) -> Router {
    Router::new()
        .route("/", get(page::index))
        .route("/assets/{file}", get(page::asset))
        .route("/healthz", get(healthz))
        .route("/v1/read", post(read))
        .route("/v1/check", post(check))
        .route("/v1/embed", post(embed))
        .route("/v1/propagate", post(propagate))
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "wrong method: the /v1 endpoints take POST with the file as the body",
            )
        })
        .layer(axum::middleware::from_fn(log_request))
        .with_state(service)
}

/// One line per request on stderr: peer, method, path, status, error code, time to answer.
async fn log_request(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let start = std::time::Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let code = response
        .extensions()
        .get::<ErrorCode>()
        .map(|c| format!(" {}", c.0))
        .unwrap_or_default();
    eprintln!(
        "aigc-label serve: {peer} {method} {path} {}{code} {:.1} ms",
        response.status().as_u16(),
        start.elapsed().as_secs_f64() * 1000.0
    );
    response
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

/// The query parameters as given, or a 400 naming what was wrong with them.
fn params<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(t)| t)
        .map_err(|e| ApiError::bad_request("bad_query", e.body_text()))
}

#[derive(Deserialize)]
struct ReadQuery {
    name: Option<String>,
}

async fn read(
    State(s): Shared,
    q: Result<Query<ReadQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let q = params(q)?;
    let deadline = s.deadline();
    let upload = s
        .receive(&headers, body, q.name.as_deref(), deadline)
        .await?;
    let name = upload.name.clone();
    s.work(deadline, &name, move |profile| {
        match read_path(upload.path(), profile) {
            Ok(mut report) => {
                report.file = upload.name.clone();
                Ok(Json(report).into_response())
            }
            Err(e) => Err(ApiError::from_codec(&upload.name, &e.error)),
        }
    })
    .await?
}

#[derive(Deserialize)]
struct CheckQuery {
    name: Option<String>,
    /// text | image | audio | video (default: detected).
    media: Option<String>,
    /// Run tesseract on visual labels (default true).
    ocr: Option<bool>,
    /// The voice prompt's text, for audio.
    voice_text: Option<String>,
}

async fn check(
    State(s): Shared,
    q: Result<Query<CheckQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let q = params(q)?;
    let deadline = s.deadline();
    let upload = s
        .receive(&headers, body, q.name.as_deref(), deadline)
        .await?;
    let name = upload.name.clone();
    s.work(deadline, &name, move |profile| {
        let checked = aigc_label::explicit::check_file(
            upload.path(),
            None,
            q.voice_text.as_deref(),
            // Rounds are located against the original, which /check does not take.
            &[],
            q.ocr.unwrap_or(true),
            q.media.as_deref(),
            profile,
        );
        match checked {
            Ok((modality, measurements, findings)) => {
                let failed = findings
                    .iter()
                    .any(|f| f.outcome == aigc_label::explicit::Outcome::Fail);
                Ok(Json(json!({
                    "file": upload.name,
                    "modality": modality,
                    "profile": profile.id,
                    "measurements": measurements,
                    "findings": findings,
                    "verdict": if failed { "fail" } else { "pass" },
                }))
                .into_response())
            }
            Err(e) => Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unmeasurable",
                format!("{}: {}", upload.name, upload.scrub(&e.to_string())),
            )),
        }
    })
    .await?
}

#[derive(Deserialize)]
struct EmbedQuery {
    name: Option<String>,
    fields: Option<String>,
    label: Option<String>,
    producer: Option<String>,
    produce_id: Option<String>,
    reserved1: Option<String>,
    propagator: Option<String>,
    propagate_id: Option<String>,
    reserved2: Option<String>,
}

async fn embed(
    State(s): Shared,
    q: Result<Query<EmbedQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let q = params(q)?;
    let fields = FieldArgs {
        fields: q.fields,
        label: q.label,
        producer: q.producer,
        produce_id: q.produce_id,
        reserved1: q.reserved1,
        propagator: q.propagator,
        propagate_id: q.propagate_id,
        reserved2: q.reserved2,
    };
    // Validate the label before taking the upload: a bad request costs no disk.
    let label = fields
        .to_label(|| &s.profile, false)
        .map_err(|e| ApiError::bad_request("bad_fields", e))?;
    let deadline = s.deadline();
    let upload = s
        .receive(&headers, body, q.name.as_deref(), deadline)
        .await?;
    let name = upload.name.clone();
    let (file, len, format) = s
        .work(deadline, &name, move |_| {
            let out = upload.output_path();
            let format = embed_path(
                upload.path(),
                &out,
                &label.to_bare_json(),
                EmbedOptions {
                    overwrite: Overwrite::Refuse,
                    durability: Durability::OsCache,
                },
            )
            .map_err(|e| ApiError::from_codec(&upload.name, &e.error))?;
            let (file, len) = open_output(&out)?;
            Ok::<_, ApiError>((file, len, format))
        })
        .await??;
    Ok(file_response(
        file,
        len,
        &name,
        format.id(),
        format.media_types()[0],
        None,
    ))
}

#[derive(Deserialize)]
struct PropagateQuery {
    name: Option<String>,
    propagator: String,
    propagate_id: String,
    reserved2: Option<String>,
    #[serde(default)]
    user_declared: bool,
    /// An explicit label or other trace the platform detected, in words; without it the
    /// reference looks for an explicit label itself where it can.
    trace: Option<String>,
}

async fn propagate(
    State(s): Shared,
    q: Result<Query<PropagateQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let q = params(q)?;
    let deadline = s.deadline();
    let upload = s
        .receive(&headers, body, q.name.as_deref(), deadline)
        .await?;
    let name = upload.name.clone();
    let (file, len, decision, format) = s
        .work(deadline, &name, move |profile| {
            let platform = PlatformInfo {
                content_propagator: q.propagator,
                propagate_id: q.propagate_id,
                reserved_code2: q.reserved2,
            };
            let trace = q
                .trace
                .or_else(|| aigc_label::explicit::detect_trace(upload.path(), profile));
            let out = upload.output_path();
            let decision = propagate_path(
                upload.path(),
                &out,
                &platform,
                q.user_declared,
                trace.as_deref(),
                Overwrite::Refuse,
                profile,
            )
            .map_err(|e| ApiError::from_codec(&upload.name, &e.error))?;
            // The format, for the response's content type (the read above succeeded).
            let format = read_path(&out, profile).ok().map(|r| (r.format, r.media));
            let (file, len) = open_output(&out)?;
            Ok::<_, ApiError>((file, len, decision, format))
        })
        .await??;
    let decision = serde_json::to_string(&decision).unwrap_or_default();
    let (id, media) =
        format.unwrap_or_else(|| ("unknown".into(), "application/octet-stream".into()));
    Ok(file_response(
        file,
        len,
        &name,
        &id,
        &media,
        Some(("aigc-decision", ascii_json(&decision))),
    ))
}

/// Open the output before its directory is removed: on Unix the open file stays readable after
/// the directory entry is gone, so nothing is left on disk while the answer streams out.
fn open_output(path: &std::path::Path) -> Result<(std::fs::File, u64), ApiError> {
    let file = std::fs::File::open(path)
        .map_err(|e| ApiError::internal(format!("could not reopen the output: {e}")))?;
    let len = file
        .metadata()
        .map_err(|e| ApiError::internal(format!("could not stat the output: {e}")))?
        .len();
    Ok((file, len))
}

/// A labelled file as the answer, streamed from the open (already unlinked) file.
fn file_response(
    file: std::fs::File,
    len: u64,
    name: &str,
    format: &str,
    media: &str,
    extra: Option<(&'static str, String)>,
) -> Response {
    let stream =
        tokio_util::io::ReaderStream::with_capacity(tokio::fs::File::from_std(file), 64 * 1024);
    let mut response = Response::new(Body::from_stream(stream));
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(media)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    let ascii_name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{ascii_name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(format) {
        h.insert("aigc-format", v);
    }
    if let Some((key, value)) = extra {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(key, v);
        }
    }
    response
}

/// JSON text with every non-ASCII character written as a `\uXXXX` escape (surrogate pairs
/// above U+FFFF): still the same JSON value, and a valid HTTP header value.
fn ascii_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() && !c.is_ascii_control() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::ascii_json;

    #[test]
    fn ascii_json_is_the_same_value() {
        let original = serde_json::json!({"notice_text": "含AI生成内容 😀", "n": 1});
        let text = ascii_json(&original.to_string());
        assert!(text.is_ascii(), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, original);
    }
}
