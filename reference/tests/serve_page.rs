//! The web page of `aigc-label serve` in headless Chromium, driven over the W3C WebDriver
//! protocol by chromedriver (Debian `chromium` and `chromium-driver`; a panic names them when
//! they are missing). A labelled PNG (made here with the reference's embed, over an explicit-
//! label vector) and an unlabelled MP4 vector are given to the page's file input, and what the
//! page shows is read back from the DOM.
#![cfg(feature = "serve")]

use crate::serve_support;

use aigc_label::implicit::{embed_path, EmbedOptions};
use aigc_label::io::Overwrite;
use serde_json::{json, Value};
use serve_support::{request, Server};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PRODUCER: &str = "001191110102MACQD9K64010000";
/// The W3C WebDriver key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// chromedriver on a free loopback port, killed on drop.
struct Driver {
    child: Child,
    addr: SocketAddr,
    session: Option<String>,
    _profile: tempfile::TempDir,
}

impl Driver {
    fn start() -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run chromedriver ({e}): install the Debian package chromium-driver (scripts/install-deps.sh)")
            });
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let mut driver = Driver {
            child,
            addr,
            session: None,
            _profile: tempfile::tempdir().unwrap(),
        };
        let until = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < until, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let chromium = ["/usr/bin/chromium", "/usr/lib/chromium/chromium"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("chromium not found: install the Debian package chromium");
        let user_data = format!("--user-data-dir={}", driver._profile.path().display());
        let session = driver.call(
            "POST",
            "/session",
            json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": chromium,
                    "args": ["--headless", "--no-sandbox", "--disable-gpu",
                             "--disable-dev-shm-usage", "--no-first-run",
                             "--disable-background-networking", "--disable-component-update",
                             "--disable-sync", user_data, "--window-size=1200,900"],
                },
            }}}),
        );
        driver.session = Some(
            session["sessionId"]
                .as_str()
                .unwrap_or_else(|| panic!("no session: {session}"))
                .to_string(),
        );
        driver
    }

    /// One WebDriver command; the answer's `value`, or panic with the driver's error.
    fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let text = body.to_string();
        let a = request(
            self.addr,
            method,
            path,
            &[("Content-Type", "application/json")],
            (method == "POST").then_some(text.as_bytes()),
        );
        let v: Value = serde_json::from_slice(&a.body)
            .unwrap_or_else(|e| panic!("webdriver {path}: {e}: HTTP {}", a.status));
        assert_eq!(a.status, 200, "webdriver {method} {path}: {v}");
        v["value"].clone()
    }

    fn session_path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session.as_deref().unwrap())
    }

    fn goto(&self, url: &str) {
        self.call("POST", &self.session_path("/url"), json!({ "url": url }));
    }

    fn script(&self, script: &str) -> Value {
        self.call(
            "POST",
            &self.session_path("/execute/sync"),
            json!({ "script": script, "args": [] }),
        )
    }

    /// Give `file` to the page's file input, as a user choosing it would.
    fn choose_file(&self, file: &Path) {
        let e = self.call(
            "POST",
            &self.session_path("/element"),
            json!({"using": "css selector", "value": "#file"}),
        );
        let id = e[ELEMENT].as_str().expect("element id").to_string();
        self.call(
            "POST",
            &self.session_path(&format!("/element/{id}/value")),
            json!({ "text": file.display().to_string() }),
        );
    }

    /// Wait (generously) until `script` returns true.
    fn wait_for(&self, script: &str, what: &str) {
        let until = Instant::now() + Duration::from_secs(90);
        loop {
            if self.script(script) == Value::Bool(true) {
                return;
            }
            assert!(
                Instant::now() < until,
                "page never showed {what}: status {}",
                self.script("return document.getElementById('status').textContent")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if self.session.is_some() {
            let _ = request(self.addr, "DELETE", &self.session_path(""), &[], None);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the page shows, read from the DOM.
const SHOWN: &str = r#"
const t = (id) => document.getElementById(id).textContent;
const fields = {};
for (const td of document.querySelectorAll('td[data-field]')) fields[td.dataset.field] = td.querySelector('code').textContent;
const canvas = document.getElementById('overlay');
return {
  format: t('format'), verdict: t('verdict'), verdictCode: document.getElementById('verdict').dataset.verdict,
  verdictText: t('verdict-text'), fields, labelsText: t('labels'), problems: t('problems'),
  drawn: canvas.dataset.drawn || null, region: canvas.dataset.region || null,
  canvasWidth: canvas.width, checkVerdict: t('check-verdict'), findings: t('findings'),
  pictureHidden: document.getElementById('picture').hidden,
  checkButtonHidden: document.getElementById('check-button').hidden,
};"#;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

#[test]
fn page_shows_labels_verdict_and_measurement() {
    let work = tempfile::tempdir().unwrap();
    // A labelled PNG: the explicit-label vector (a 5 % label in a corner) plus an implicit label.
    let png = work.path().join("labelled.png");
    embed_path(
        &repo("vectors/explicit/img-corner-5.0pct.png"),
        &png,
        &format!(
            r#"{{"Label":"1","ContentProducer":"{PRODUCER}","ProduceID":"page-7","ReservedCode1":"","ContentPropagator":"{PRODUCER}","PropagateID":"page-7","ReservedCode2":""}}"#
        ),
        EmbedOptions {
            overwrite: Overwrite::Refuse,
            durability: Default::default(),
        },
    )
    .expect("embed");
    let mp4 = work.path().join("clip.mp4");
    std::fs::copy(repo("vectors/explicit/video-original.mp4"), &mp4).unwrap();

    let server = Server::start(&[]);
    let driver = Driver::start();
    driver.goto(&format!("http://{}/", server.addr));
    driver.wait_for("return document.body.dataset.ready === 'true'", "the page");

    driver.choose_file(&png);
    driver.wait_for(
        "return document.body.dataset.done === '1'",
        "the PNG's answer",
    );
    driver.wait_for(
        "return document.getElementById('overlay').dataset.drawn === 'true'",
        "the measurement drawing",
    );
    let shown = driver.script(SHOWN);
    assert!(
        shown["format"].as_str().unwrap().starts_with("png"),
        "{shown}"
    );
    assert_eq!(shown["verdictCode"], "valid", "{shown}");
    assert_eq!(shown["verdict"], "有效 Valid", "{shown}");
    assert!(
        shown["verdictText"].as_str().unwrap().contains("Annex E"),
        "{shown}"
    );
    assert_eq!(shown["fields"]["Label"], "1", "{shown}");
    assert_eq!(shown["fields"]["ContentProducer"], PRODUCER, "{shown}");
    assert_eq!(shown["fields"]["ProduceID"], "page-7", "{shown}");
    let labels = shown["labelsText"].as_str().unwrap();
    assert!(
        labels.contains("属于AI生成合成内容") && labels.contains("is AI-generated"),
        "{labels}"
    );
    assert!(labels.contains("生成合成服务提供者要素"), "{labels}");
    // The explicit label's measured region, drawn over the image at its natural size.
    assert_eq!(shown["pictureHidden"], false, "{shown}");
    assert_eq!(shown["canvasWidth"], 1600, "{shown}");
    let region: Vec<u64> = shown["region"]
        .as_str()
        .expect("region drawn")
        .split(',')
        .map(|n| n.parse().unwrap())
        .collect();
    assert!(
        region[0] > 1300 && region[1] > 850,
        "bottom-right corner: {region:?}"
    );
    let findings = shown["findings"].as_str().unwrap();
    assert!(findings.contains("GB-5.2-a"), "{findings}");
    assert!(
        !shown["checkVerdict"].as_str().unwrap().is_empty(),
        "{shown}"
    );

    driver.choose_file(&mp4);
    driver.wait_for(
        "return document.body.dataset.done === '2'",
        "the MP4's answer",
    );
    let shown = driver.script(SHOWN);
    assert!(
        shown["format"].as_str().unwrap().starts_with("mp4"),
        "{shown}"
    );
    assert_eq!(shown["verdictCode"], "unlabeled", "{shown}");
    assert_eq!(shown["verdict"], "未标识 Unlabeled", "{shown}");
    assert!(
        shown["verdictText"]
            .as_str()
            .unwrap()
            .contains("未找到隐式标识"),
        "{shown}"
    );
    assert_eq!(shown["fields"], json!({}), "{shown}");
    assert_eq!(shown["pictureHidden"], true, "no image to draw on: {shown}");
    assert_eq!(
        shown["checkButtonHidden"], false,
        "video check offered: {shown}"
    );

    drop(driver);
    assert_eq!(server.leftovers(), Vec::<String>::new());
}
