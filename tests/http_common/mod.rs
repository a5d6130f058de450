//! A `pql serve` child process on 127.0.0.1 and a client for it (ureq),
//! shared by the HTTP tests.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

/// The admin key the tests start servers with.
pub const ADMIN: &str = "test-admin-key-0123456789";

/// A running `pql serve`; killed when dropped.
pub struct Server {
    child: Mutex<Option<Child>>,
    /// `127.0.0.1:PORT`
    pub addr: String,
    agent: ureq::Agent,
}

/// A response: status and JSON body (`Null` if the body is not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Json,
    pub text: String,
    pub retry_after: Option<String>,
    /// `X-PQL-Owner` (cluster mode): the address of the tenant's owner.
    pub owner: Option<String>,
}

impl Server {
    /// Starts `pql --data DIR serve --listen 127.0.0.1:0 EXTRA...` with
    /// the admin key `admin` (none: local development mode).
    pub fn start(data: &Path, admin: Option<&str>, extra: &[&str]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pql"));
        cmd.arg("--data")
            .arg(data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env_remove("PQL_DATA")
            .env_remove("PQL_EMBED_MODEL")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        match admin {
            Some(key) => cmd.env("PQL_ADMIN_KEY", key),
            None => cmd.env_remove("PQL_ADMIN_KEY"),
        };
        let mut child = cmd.spawn().expect("start pql serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("first line");
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("first line: {line:?}"))
            .to_string();
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            // A fresh connection per request: a pooled connection the server
            // has just closed (after refusing a request early) must not
            // fail the next request of the test.
            .max_idle_connections_per_host(0)
            .build()
            .into();
        Server {
            child: Mutex::new(Some(child)),
            addr,
            agent,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `METHOD path` with `key` (if any), extra headers, and a body of
    /// `content_type` (if any).
    pub fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
    ) -> Reply {
        let url = self.url(path);
        let mut req = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(k) = key {
            req = req.header("Authorization", format!("Bearer {k}"));
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let result = match body {
            Some((content_type, bytes)) => {
                let req = req
                    .header("Content-Type", content_type)
                    .body(bytes.to_vec())
                    .expect("request");
                self.agent.run(req)
            }
            None => self.agent.run(req.body(()).expect("request")),
        };
        let mut resp = result.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let owner = resp
            .headers()
            .get("x-pql-owner")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Json::Null);
        Reply {
            status,
            body,
            text,
            retry_after,
            owner,
        }
    }

    /// `POST path` with a JSON body; the status, or `None` when the
    /// server could not be reached or went away.
    pub fn try_post_json(&self, path: &str, key: &str, body: &str) -> Option<u16> {
        let resp = self
            .agent
            .post(&self.url(path))
            .header("Authorization", &format!("Bearer {key}"))
            .content_type("application/json")
            .send(body)
            .ok()?;
        Some(resp.status().as_u16())
    }

    /// `POST /v1/query` with PQL text.
    pub fn query(&self, key: Option<&str>, pql: &str) -> Reply {
        self.call(
            "POST",
            "/v1/query",
            key,
            &[],
            Some(("text/plain", pql.as_bytes())),
        )
    }

    /// `POST /v1/query` with `X-Tenant-ID`.
    pub fn query_as(&self, key: Option<&str>, tenant: &str, pql: &str) -> Reply {
        self.call(
            "POST",
            "/v1/query",
            key,
            &[("X-Tenant-ID", tenant)],
            Some(("text/plain", pql.as_bytes())),
        )
    }

    /// `METHOD path` with a JSON body.
    pub fn json(&self, method: &str, path: &str, key: Option<&str>, body: &Json) -> Reply {
        let bytes = body.to_string();
        self.call(
            method,
            path,
            key,
            &[],
            Some(("application/json", bytes.as_bytes())),
        )
    }

    /// `METHOD path` without a body.
    pub fn bare(&self, method: &str, path: &str, key: Option<&str>) -> Reply {
        self.call(method, path, key, &[], None)
    }

    /// Sends `raw` bytes on a new connection and returns the status and
    /// the response text (for requests a client library will not send).
    pub fn raw(&self, raw: &[u8]) -> (u16, String) {
        let mut s = TcpStream::connect(&self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(raw).expect("send");
        read_response(&mut s)
    }

    /// A new tenant key (admin API).
    pub fn new_key(&self, tenant: &str) -> (String, String) {
        let r = self.bare("POST", &format!("/v1/tenants/{tenant}/keys"), Some(ADMIN));
        assert_eq!(r.status, 201, "{}", r.text);
        (
            r.body["id"].as_str().unwrap().to_string(),
            r.body["key"].as_str().unwrap().to_string(),
        )
    }

    /// Sends `signal` to the server (`STOP`, `CONT`, ...), without waiting.
    pub fn signal(&self, signal: &str) {
        let child = self.child.lock().unwrap();
        let pid = child.as_ref().expect("running").id().to_string();
        let ok = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .expect("kill");
        assert!(ok.success());
    }

    /// Sends `signal` to the server and waits for it to exit.
    pub fn signal_and_wait(&self, signal: &str) -> ExitStatus {
        let mut child = self.child.lock().unwrap().take().expect("running");
        let ok = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(ok.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("server did not exit after SIG{signal}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Reads one HTTP/1.1 response: the status and everything after the head
/// (up to Content-Length, or until the peer closes).
pub fn read_response(s: &mut TcpStream) -> (u16, String) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some(end) = text.find("\r\n\r\n") {
            let head = &text[..end];
            let len = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

/// A fresh temporary folder; the data folder is `data` inside it.
pub fn data_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    (dir, data)
}
