//! Helpers of the `serve` tests: start `aigc-label serve` on 127.0.0.1:0 with a private temp
//! folder, and a small HTTP/1.1 client over a plain socket (so the tests can also send what a
//! polite client never would: lying lengths, endless chunked bodies, half uploads).
#![allow(dead_code)] // not every test file uses every helper

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `aigc-label serve`, killed on drop.
pub struct Server {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its `--temp-dir`.
    pub temp: tempfile::TempDir,
    /// Every stderr line so far.
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Start the server with extra arguments; wait for its "listening on" line.
    pub fn start(extra: &[&str]) -> Server {
        let temp = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new(env!("CARGO_BIN_EXE_aigc-label"))
            .args(["serve", "--listen", "127.0.0.1:0", "--temp-dir"])
            .arg(temp.path())
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start aigc-label serve");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or("").to_string();
                    let _ = tx.send(addr);
                }
                lines.lock().unwrap().push(line);
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("serve did not start: {:?}", log.lock().unwrap()));
        Server {
            child,
            addr: addr.parse().expect("address"),
            temp,
            log,
        }
    }

    /// A request with a body (Content-Length).
    pub fn post(&self, path: &str, body: &[u8]) -> Answer {
        request(self.addr, "POST", path, &[], Some(body))
    }

    /// A GET.
    pub fn get(&self, path: &str) -> Answer {
        request(self.addr, "GET", path, &[], None)
    }

    /// The files left in the temp folder (waits up to 20 s for them to go, since a request
    /// whose client went away is cleaned up when the server notices).
    pub fn leftovers(&self) -> Vec<String> {
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            let left: Vec<String> = walk(self.temp.path());
            if left.is_empty() || Instant::now() > until {
                return left;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The files in the temp folder now.
    pub fn leftovers_now(&self) -> Vec<String> {
        walk(self.temp.path())
    }

    /// The log lines so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// The log lines once one of them contains each of `needles`, or, after a generous 60 s,
    /// whatever has arrived. The server writes a request's line before it answers, but the
    /// thread here that collects stderr may run later on a busy machine, so a test that has its
    /// answer must still wait for the line.
    pub fn log_lines_with(&self, needles: &[&str]) -> Vec<String> {
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            let lines = self.log_lines();
            let all_there = needles.iter().all(|n| lines.iter().any(|l| l.contains(n)));
            if all_there || Instant::now() > until {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            out.push(e.path().display().to_string());
            if e.path().is_dir() {
                out.extend(walk(&e.path()));
            }
        }
    }
    out
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

impl Answer {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON, or panic showing it.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): HTTP {} {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The structured error's code, or panic if the body is not one.
    pub fn error_code(&self) -> String {
        let j = self.json();
        let code = j["error"]["code"].as_str().unwrap_or_else(|| {
            panic!("no error.code in HTTP {} {j}", self.status);
        });
        assert!(
            j["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "no message: {j}"
        );
        code.to_string()
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(120))).unwrap();
    s
}

/// Send one request (Connection: close) and read the whole answer. Write errors are ignored:
/// a server may answer (413) and close before the body is all sent.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Answer {
    let mut s = connect(addr);
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        {
            head.push_str(&format!("Content-Length: {}\r\n", b.len()));
        }
    }
    head.push_str("\r\n");
    let _ = s.write_all(head.as_bytes());
    if let Some(b) = body {
        let _ = s.write_all(b);
    }
    read_answer(s)
}

/// Send `total` bytes as a chunked body in 8 KiB chunks (no Content-Length).
pub fn post_chunked(addr: SocketAddr, path: &str, total: usize) -> Answer {
    let mut s = connect(addr);
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let _ = s.write_all(head.as_bytes());
    let chunk = vec![0x5au8; 8192];
    let mut sent = 0;
    while sent < total {
        let n = chunk.len().min(total - sent);
        if s.write_all(format!("{n:x}\r\n").as_bytes()).is_err()
            || s.write_all(&chunk[..n]).is_err()
            || s.write_all(b"\r\n").is_err()
        {
            break;
        }
        sent += n;
    }
    let _ = s.write_all(b"0\r\n\r\n");
    read_answer(s)
}

/// Open a request announcing `length` body bytes and send only `sent` of them; the caller
/// decides whether to wait for an answer or to drop the connection.
pub fn post_partial(addr: SocketAddr, path: &str, length: usize, sent: usize) -> TcpStream {
    let mut s = connect(addr);
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {length}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&vec![0x89u8; sent]).unwrap();
    s.flush().unwrap();
    s
}

/// Read an answer: up to its Content-Length when it has one (some servers, chromedriver among
/// them, keep the connection open despite `Connection: close`), else to the end.
pub fn read_answer(mut s: TcpStream) -> Answer {
    let mut raw = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        if let Some(want) = complete_length(&raw) {
            if raw.len() >= want {
                break;
            }
        }
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            // A reset after a complete answer (the server closed with unread body) is fine.
            Err(e) if raw.is_empty() => panic!("no answer: {e}"),
            Err(_) => break,
        }
    }
    parse_answer(&raw)
}

/// The total length of the answer in `raw` once its head is in and it has a Content-Length.
fn complete_length(raw: &[u8]) -> Option<usize> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let len = head
        .split("\r\n")
        .find_map(|l| l.strip_prefix("content-length:"))?
        .trim()
        .parse::<usize>()
        .ok()?;
    Some(end + 4 + len)
}

fn parse_answer(raw: &[u8]) -> Answer {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &raw[end + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    Answer {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(nl) = data.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&data[..nl]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
            .expect("chunk size");
        if size == 0 {
            break;
        }
        let start = nl + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
    out
}
