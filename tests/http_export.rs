//! `GET /v1/tenants/{t}/export` and `POST /v1/imports` against the real
//! `pql serve`: admin only, the streamed file imports as an identical
//! tenant, a damaged upload is refused, an upload past
//! `--max-import-bytes` gets 413, a stalled one 408, and no temporary file
//! stays (not after a refusal, nor after a client that goes away
//! mid-upload).

mod http_common;

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use http_common::{data_dir, read_response, Server, ADMIN};
use serde_json::json;

/// The files in the data folder's `exports/` (none if it does not exist).
fn exports(data: &Path) -> Vec<String> {
    match std::fs::read_dir(data.join("exports")) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Waits (at most 20 s) for `exports/` to be empty: a temporary is removed
/// on the server's blocking pool once the request is over.
fn exports_emptied(data: &Path) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = exports(data);
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn count(server: &Server, tenant: &str) -> i64 {
    let r = server.query(
        Some(ADMIN),
        &format!("QUERY docs TENANT {tenant} RETURN COUNT(*);"),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["results"][0]["rows"][0][0].as_i64().unwrap()
}

#[test]
fn export_streams_the_file_and_import_takes_it_back() {
    let (_dir, data) = data_dir();
    let server = Server::start(&data, Some(ADMIN), &[]);
    let r = server.json("POST", "/v1/tenants", Some(ADMIN), &json!({"name": "acme"}));
    assert_eq!(r.status, 201, "{}", r.text);
    let nodes: Vec<String> = (0..200)
        .map(|i| format!("{{ id: \"n{i}\", k: {i}, embedding: [{i}, 1] }}"))
        .collect();
    let r = server.query(
        Some(ADMIN),
        &format!(
            "QUERY docs TENANT acme CREATE NODES [{}];",
            nodes.join(", ")
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let probe = "QUERY docs TENANT acme SIMILAR TO [3, 1] TOP 5;";
    let before = server.query(Some(ADMIN), probe).body["results"][0]["rows"].clone();

    // A tenant key may not export, not even its own tenant.
    let (_, acme_key) = server.new_key("acme");
    let r = server.bare("GET", "/v1/tenants/acme/export", Some(&acme_key));
    assert_eq!(r.status, 403, "{}", r.text);

    let mut resp = ureq::get(server.url("/v1/tenants/acme/export?usage=true"))
        .header("Authorization", format!("Bearer {ADMIN}"))
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let file = resp
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_vec()
        .unwrap();
    assert_eq!(&file[..4], b"PQLT");

    let r = server.call(
        "POST",
        "/v1/imports?as=copy&status=read_only",
        Some(ADMIN),
        &[],
        Some(("application/octet-stream", &file)),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(count(&server, "copy"), 200);
    let after = server
        .query(Some(ADMIN), &probe.replace("acme", "copy"))
        .body["results"][0]["rows"]
        .clone();
    assert_eq!(after, before);

    // Without REPLACE an existing name is refused; a damaged file too.
    let r = server.call(
        "POST",
        "/v1/imports?as=copy",
        Some(ADMIN),
        &[],
        Some(("application/octet-stream", &file)),
    );
    assert_eq!(r.status, 409, "{}", r.text);
    let mut damaged = file.clone();
    let mid = damaged.len() / 2;
    damaged[mid] ^= 1;
    let r = server.call(
        "POST",
        "/v1/imports?as=other",
        Some(ADMIN),
        &[],
        Some(("application/octet-stream", &damaged)),
    );
    assert!(r.status >= 400, "{}", r.text);
    let r = server.bare("GET", "/v1/tenants/other", Some(ADMIN));
    assert_eq!(r.status, 404, "{}", r.text);
    let r = server.call(
        "POST",
        "/v1/imports?as=other",
        Some(&acme_key),
        &[],
        Some(("application/octet-stream", &file)),
    );
    assert_eq!(r.status, 403, "{}", r.text);

    let leftovers = exports_emptied(&data);
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// The head of a raw `POST /v1/imports` as the admin.
fn import_head(server: &Server, framing: &str) -> String {
    format!(
        "POST /v1/imports?as=big HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {ADMIN}\r\n\
         Content-Type: application/octet-stream\r\n{framing}\r\n",
        server.addr
    )
}

/// `POST /v1/imports?as=big` of `len` bytes that are no `.pqlt` file.
fn upload_big(server: &Server, len: usize) -> http_common::Reply {
    server.call(
        "POST",
        "/v1/imports?as=big",
        Some(ADMIN),
        &[],
        Some(("application/octet-stream", &vec![7u8; len])),
    )
}

#[test]
fn an_upload_past_the_limit_gets_413_and_leaves_no_file() {
    let (_dir, data) = data_dir();
    let server = Server::start(&data, Some(ADMIN), &["--max-import-bytes", "1000"]);

    // A declared length past the limit is refused before any byte is read.
    let r = upload_big(&server, 1001);
    assert_eq!(r.status, 413, "{}", r.text);
    assert_eq!(r.body["error"]["code"], "http.body_too_large");
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("--max-import-bytes"), "{message}");
    assert!(message.contains("1000"), "{message}");

    // A chunked body declares no length: refused once it passes the limit.
    let chunk = format!("258\r\n{}\r\n", "x".repeat(600));
    let raw = format!(
        "{}{chunk}{chunk}{chunk}0\r\n\r\n",
        import_head(&server, "Transfer-Encoding: chunked\r\n")
    );
    let (status, body) = server.raw(raw.as_bytes());
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("http.body_too_large"), "{body}");

    // Within the limit the upload reaches IMPORT, which refuses a file that
    // is no .pqlt (and changes nothing).
    let r = upload_big(&server, 1000);
    assert!(r.status >= 400 && r.status != 413, "{}", r.text);
    let r = server.bare("GET", "/v1/tenants/big", Some(ADMIN));
    assert_eq!(r.status, 404, "{}", r.text);

    let leftovers = exports_emptied(&data);
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_client_gone_mid_upload_leaves_no_file() {
    let (_dir, data) = data_dir();
    let server = Server::start(&data, Some(ADMIN), &[]);
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.write_all(import_head(&server, "Content-Length: 1000000\r\n").as_bytes())
        .unwrap();
    s.write_all(&[7u8; 64 << 10]).unwrap();
    s.flush().unwrap();
    // The server has begun to store the upload.
    let deadline = Instant::now() + Duration::from_secs(20);
    while exports(&data).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(exports(&data).len(), 1, "the upload was not being stored");
    drop(s);
    let leftovers = exports_emptied(&data);
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let r = server.bare("GET", "/v1/tenants/big", Some(ADMIN));
    assert_eq!(r.status, 404, "{}", r.text);
    // The server goes on serving.
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.write_all(
        format!(
            "GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            server.addr
        )
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(read_response(&mut s).0, 200);
}

#[test]
fn a_stalled_upload_gets_408_and_leaves_no_file() {
    let (_dir, data) = data_dir();
    let server = Server::start(&data, Some(ADMIN), &["--body-timeout", "0.5"]);
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(import_head(&server, "Content-Length: 1000\r\n").as_bytes())
        .unwrap();
    s.write_all(&[7u8; 10]).unwrap();
    // The rest never comes: the server answers without waiting for it.
    let (status, body) = read_response(&mut s);
    assert_eq!(status, 408, "{body}");
    assert!(body.contains("http.timeout"), "{body}");
    let leftovers = exports_emptied(&data);
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
