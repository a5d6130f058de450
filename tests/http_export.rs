//! `GET /v1/tenants/{t}/export` and `POST /v1/imports` against the real
//! `pql serve`: admin only, the streamed file imports as an identical
//! tenant, a damaged upload is refused, and no temporary file stays.

mod http_common;

use http_common::{data_dir, Server, ADMIN};
use serde_json::json;

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

    let leftovers: Vec<_> = std::fs::read_dir(data.join("exports"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
