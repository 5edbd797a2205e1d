//! `aigc-label serve`: every endpoint over real HTTP on 127.0.0.1:0, hostile uploads (4xx,
//! never 5xx), size and time limits, and no file left in the temp folder afterwards.
#![cfg(feature = "serve")]

use crate::serve_support;

use aigc_label::implicit::{read_bytes, Verdict};
use aigc_label::Profile;
use serve_support::{post_chunked, post_partial, read_answer, request, Server};
use std::path::Path;

const PRODUCER: &str = "001191110102MACQD9K64010000";
const PLATFORM: &str = "00119144030008867405X220001";

/// A small unlabelled PNG made here (so the test does not depend on a vector's bytes).
fn png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(48, 32, |x, y| image::Rgb([x as u8 * 5, y as u8 * 7, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encode png");
    out.into_inner()
}

fn embed_query(name: &str) -> String {
    format!("/v1/embed?name={name}&label=1&producer={PRODUCER}&produce_id=serve-42")
}

fn vector(path: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn health_page_and_unknown_routes() {
    let server = Server::start(&[]);
    let h = server.get("/healthz");
    assert_eq!(h.status, 200);
    assert_eq!(h.json()["status"], "ok");

    let page = server.get("/");
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    let csp = page.header("content-security-policy").expect("CSP");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let html = String::from_utf8(page.body.clone()).unwrap();
    assert!(html.contains("/assets/app.js") && html.contains("AIGC"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no CDN"
    );
    for asset in ["/assets/app.js", "/assets/app.css"] {
        let a = server.get(asset);
        assert_eq!(a.status, 200, "{asset}");
        assert!(!a.body.is_empty());
    }

    for (method, path, status, code) in [
        ("GET", "/nowhere", 404, "not_found"),
        ("GET", "/assets/../Cargo.toml", 404, "not_found"),
        ("GET", "/assets/secret.js", 404, "not_found"),
        ("GET", "/v1/read", 405, "method_not_allowed"),
        ("PUT", "/healthz", 405, "method_not_allowed"),
    ] {
        let a = request(server.addr, method, path, &[], None);
        assert_eq!(a.status, status, "{method} {path}");
        assert_eq!(a.error_code(), code, "{method} {path}");
    }
    // One log line per request, with the status.
    let log = server.log_lines_with(&["GET /healthz 200", "GET /nowhere 404 not_found"]);
    assert!(
        log.iter().any(|l| l.contains("GET /healthz 200")),
        "{log:?}"
    );
    assert!(
        log.iter().any(|l| l.contains("GET /nowhere 404 not_found")),
        "{log:?}"
    );
}

#[test]
fn embed_then_read_then_propagate() {
    let server = Server::start(&[]);
    let original = png();

    let unlabeled = server.post("/v1/read?name=plain.png", &original);
    assert_eq!(unlabeled.status, 200);
    let j = unlabeled.json();
    assert_eq!(
        j["file"], "plain.png",
        "the client's name, not a server path"
    );
    assert_eq!(j["format"], "png");
    assert_eq!(j["verdict"], "unlabeled");

    let embedded = server.post(&embed_query("photo.png"), &original);
    assert_eq!(
        embedded.status,
        200,
        "{:?}",
        String::from_utf8_lossy(&embedded.body)
    );
    assert_eq!(embedded.header("aigc-format"), Some("png"));
    assert_eq!(embedded.header("content-type"), Some("image/png"));
    assert_eq!(
        embedded.header("content-length"),
        Some(embedded.body.len().to_string().as_str())
    );
    // The library, independently of the service, reads the label written.
    let report = read_bytes(embedded.body.clone(), "out.png", &Profile::builtin()).unwrap();
    assert_eq!(report.verdict, Verdict::Valid);
    let label = report.label().unwrap();
    assert_eq!(label.content_producer, PRODUCER);
    assert_eq!(label.produce_id, "serve-42");
    // And so does the service.
    let read = server
        .post("/v1/read?name=photo.png", &embedded.body)
        .json();
    assert_eq!(read["verdict"], "valid");
    assert_eq!(read["labels"][0]["fields"]["ProduceID"], "serve-42");

    let published = server.post(
        &format!("/v1/propagate?name=photo.png&propagator={PLATFORM}&propagate_id=77"),
        &embedded.body,
    );
    assert_eq!(published.status, 200);
    let decision: serde_json::Value =
        serde_json::from_str(published.header("aigc-decision").expect("decision header"))
            .expect("decision is JSON");
    assert_eq!(decision["notice"], "is");
    assert_eq!(decision["input_verdict"], "valid");
    let report = read_bytes(published.body.clone(), "pub.png", &Profile::builtin()).unwrap();
    assert_eq!(report.verdict, Verdict::Valid);
    let label = report.label().unwrap();
    assert_eq!(label.content_producer, PRODUCER, "producer elements kept");
    assert_eq!(label.content_propagator, PLATFORM);
    assert_eq!(label.propagate_id, "77");

    // A user declaration on an unlabelled upload: Art. 6(2), Label "2".
    let declared = server.post(
        &format!(
            "/v1/propagate?name=plain.png&propagator={PLATFORM}&propagate_id=78&user_declared=true"
        ),
        &original,
    );
    assert_eq!(declared.status, 200);
    let report = read_bytes(declared.body, "pub.png", &Profile::builtin()).unwrap();
    assert_eq!(report.label().map(|l| l.label.as_str()), Some("2"));

    assert_eq!(server.leftovers(), Vec::<String>::new());
}

#[test]
fn check_measures_an_explicit_label() {
    let server = Server::start(&[]);
    let labelled = vector("vectors/explicit/img-corner-5.0pct.png");
    let a = server.post("/v1/check?name=corner.png&ocr=false", &labelled);
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let j = a.json();
    assert_eq!(j["modality"], "image");
    let region = &j["measurements"]["region"];
    assert!(region["w"].as_u64().unwrap() > 0, "{j}");
    // The vector's label sits in the bottom-right corner at 5.0 % of the short side.
    assert_eq!(j["measurements"]["in_corner"], true, "{j}");
    let ratio = j["measurements"]["height_ratio"].as_f64().unwrap();
    assert!((0.045..0.055).contains(&ratio), "{ratio}");
    assert!(j["findings"].as_array().is_some_and(|f| !f.is_empty()));

    // An unknown modality is the client's mistake.
    let bad = server.post("/v1/check?name=corner.png&media=smell", &labelled);
    assert_eq!(bad.status, 422);
    assert_eq!(bad.error_code(), "unmeasurable");
    let bad = server.post("/v1/check?name=corner.png&ocr=maybe", &labelled);
    assert_eq!(bad.status, 400);
    assert_eq!(bad.error_code(), "bad_query");
    assert_eq!(server.leftovers(), Vec::<String>::new());
}

#[test]
fn bad_requests_are_4xx_json() {
    let server = Server::start(&[]);
    let original = png();
    // Fields the label cannot have: refused before the upload is stored.
    for query in [
        "/v1/embed?name=a.png",
        "/v1/embed?name=a.png&label=7&producer=x&produce_id=1",
        "/v1/embed?name=a.png&fields=%7Bnot-json",
    ] {
        let a = server.post(query, &original);
        assert_eq!(a.status, 400, "{query}");
        assert_eq!(a.error_code(), "bad_fields", "{query}");
    }
    let a = server.post("/v1/propagate?name=a.png", &original);
    assert_eq!(a.status, 400);
    assert_eq!(a.error_code(), "bad_query");
    let a = server.post("/v1/read?name=a.png", b"");
    assert_eq!(a.status, 400);
    assert_eq!(a.error_code(), "empty_body");
    // Messages name the upload, never a server path.
    let a = server.post("/v1/read?name=../../etc/x.png", b"\x89PNG\r\n\x1a\nshort");
    assert!((400..500).contains(&a.status), "{a:?}");
    let message = a.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.starts_with("x.png: "), "{message}");
    assert!(
        !message.contains(server.temp.path().to_str().unwrap()),
        "{message}"
    );
    assert_eq!(server.leftovers(), Vec::<String>::new());
}

/// Every robustness vector, garbage and truncations, through every endpoint: an answer below
/// 500, and an error answer is structured JSON.
#[test]
fn hostile_uploads_never_give_5xx() {
    let server = Server::start(&[]);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/robustness");
    let mut uploads: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| !matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "sh")))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().to_string(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    assert!(uploads.len() >= 10, "robustness vectors missing");
    let good = png();
    uploads.push(("cut.png".into(), good[..good.len() / 2].to_vec()));
    uploads.push(("one.png".into(), vec![0x89]));
    uploads.push((
        "noise.bin".into(),
        (0..4096u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
            .collect(),
    ));
    uploads.push((
        "text.txt".into(),
        "\u{feff}\0\0\0 not really text".as_bytes().to_vec(),
    ));
    let mut client_errors = 0;
    for (name, bytes) in &uploads {
        for endpoint in [
            format!("/v1/read?name={name}"),
            format!("/v1/check?name={name}&ocr=false"),
            embed_query(name),
            format!("/v1/propagate?name={name}&propagator={PLATFORM}&propagate_id=1"),
        ] {
            let a = server.post(&endpoint, bytes);
            assert!(
                a.status < 500,
                "{endpoint}: HTTP {} {}",
                a.status,
                String::from_utf8_lossy(&a.body)
            );
            if a.status >= 400 {
                a.error_code();
                client_errors += 1;
            }
        }
    }
    // Most of these must be refused (a few can be read: a truncated file may still yield
    // "unlabeled").
    assert!(
        client_errors > uploads.len() * 2,
        "{client_errors} refusals"
    );
    for (name, code) in [("cut.png", "corrupt"), ("noise.bin", "unsupported_format")] {
        let bytes = &uploads.iter().find(|(n, _)| n == name).unwrap().1;
        let a = server.post(&format!("/v1/read?name={name}"), bytes);
        assert_eq!(a.error_code(), code, "{name}");
    }
    assert_eq!(server.leftovers(), Vec::<String>::new());
}

#[test]
fn oversize_bodies_get_413() {
    let server = Server::start(&["--max-body", "65536"]);
    let big = vec![0u8; 100_000];
    // Announced by Content-Length: refused before reading.
    let a = server.post("/v1/read?name=big.png", &big);
    assert_eq!(a.status, 413);
    assert_eq!(a.error_code(), "too_large");
    // Chunked, no length: refused while streaming, once past the limit.
    let a = post_chunked(server.addr, "/v1/read?name=big.png", 200_000);
    assert_eq!(a.status, 413);
    assert_eq!(a.error_code(), "too_large");
    // At the limit exactly: accepted (and then judged on content).
    let a = server.post("/v1/read?name=limit.bin", &vec![0u8; 65536]);
    assert_eq!(a.status, 415);
    assert_eq!(server.leftovers(), Vec::<String>::new());
}

#[test]
fn slow_and_abandoned_uploads_are_cleaned_up() {
    let server = Server::start(&["--time-limit", "2"]);
    // A body that never completes: 408 at the deadline (generous wait; the time is not asserted).
    let s = post_partial(server.addr, "/v1/read?name=slow.png", 10_000, 100);
    let a = read_answer(s);
    assert_eq!(a.status, 408);
    assert_eq!(a.error_code(), "time_limit");
    // A client that goes away mid-upload.
    let s = post_partial(server.addr, "/v1/read?name=gone.png", 1_000_000, 50_000);
    std::thread::sleep(std::time::Duration::from_millis(300));
    drop(s);
    assert_eq!(server.leftovers(), Vec::<String>::new());
    // The server still answers.
    assert_eq!(server.get("/healthz").status, 200);
}

#[test]
fn concurrent_requests_are_all_answered() {
    let server = Server::start(&["--workers", "2"]);
    let original = png();
    let addr = server.addr;
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let body = original.clone();
            std::thread::spawn(move || {
                let path = if i % 2 == 0 {
                    "/v1/read?name=a.png".to_string()
                } else {
                    embed_query("a.png")
                };
                request(addr, "POST", &path, &[], Some(&body)).status
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), 200);
    }
    assert_eq!(server.leftovers(), Vec::<String>::new());
}

#[test]
fn uploads_on_disk_are_bounded() {
    let server = Server::start(&["--max-uploads", "1"]);
    // One upload in progress holds the only slot...
    let first = post_partial(server.addr, "/v1/read?name=slow.png", 10_000, 100);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while server.leftovers_now().is_empty() {
        assert!(
            std::time::Instant::now() < until,
            "the first upload never reached the disk"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // ...so a second one is turned away at once, by the server's capacity, not as bad input.
    let a = server.post("/v1/read?name=b.png", &png());
    assert_eq!(a.status, 503);
    assert_eq!(a.error_code(), "busy");
    drop(first);
    assert_eq!(server.leftovers(), Vec::<String>::new());
    // The slot is free again. It is given back just after the directory is removed, so a
    // busy machine may still answer 503 for a moment after the folder looks empty.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut a = server.post("/v1/read?name=c.png", &png());
    while a.status == 503 && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(50));
        a = server.post("/v1/read?name=c.png", &png());
    }
    assert_eq!(a.status, 200);
}
