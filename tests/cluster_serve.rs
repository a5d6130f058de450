//! `pql serve --node-id`: real server processes joining a cluster through
//! the shared S3 server (tests/common/s3.rs), and the refusals at start.

#![cfg(all(feature = "server", feature = "s3"))]

mod common;
mod http_common;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::s3::{block_on, bucket, server, unique_prefix};
use http_common::{data_dir, Server, ADMIN};
use pql::cluster::{Acquired, ClusterStore, Node};
use pql::ObjectStoreConfig;

/// Runs `pql serve EXTRA...` expecting it to refuse to start: its stderr.
fn refused(extra: &[&str]) -> String {
    let (_tmp, data) = data_dir();
    let out = Command::new(env!("CARGO_BIN_EXE_pql"))
        .arg("--data")
        .arg(&data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .env_remove("PQL_OBJECT_STORE")
        .env("PQL_ADMIN_KEY", ADMIN)
        .output()
        .expect("run pql serve");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn node_id_is_refused_without_a_store_that_can_fence() {
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("file://{}", tmp.path().display());
    let err = refused(&["--object-store", &url, "--node-id", "n1"]);
    assert!(err.contains("PutMode::Update"), "{err}");
    assert!(err.contains("s3://"), "{err}");
    let err = refused(&["--node-id", "n1"]);
    assert!(err.contains("needs an s3:// object store"), "{err}");
    let err = refused(&["--advertise", "http://127.0.0.1:1"]);
    assert!(err.contains("--node-id"), "{err}");
    let store = format!("s3://{}/x", bucket());
    let err = refused(&[
        "--object-store",
        &store,
        "--node-id",
        "n1",
        "--advertise",
        "ftp://x",
    ]);
    assert!(err.contains("expected http://HOST:PORT"), "{err}");
    let err = refused(&[
        "--object-store",
        &store,
        "--node-id",
        "n1",
        "--lease-ms",
        "5",
    ]);
    assert!(err.contains("--lease-ms"), "{err}");
}

/// The secret the test clusters share.
const SECRET: &str = "cluster-secret-0123456789";

/// Node `id` of the cluster under `prefix`, and its data folder's parent
/// (which holds the secret file too).
fn start(prefix: &str, id: &str) -> (Server, tempfile::TempDir) {
    let (tmp, data) = data_dir();
    let secret = tmp.path().join("secret");
    std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
    let store = format!("s3://{}/{prefix}", bucket());
    let server = Server::start(
        &data,
        Some(ADMIN),
        &[
            "--object-store",
            &store,
            "--node-id",
            id,
            "--lease-ms",
            "2000",
            "--cluster-secret-file",
            secret.to_str().unwrap(),
        ],
    );
    (server, tmp)
}

#[test]
fn nodes_join_and_list_each_other_with_their_tenants() {
    let Some(endpoint) = server() else { return };
    let prefix = unique_prefix("serve-join");
    let (n1, _d1) = start(&prefix, "n1");
    let (n2, _d2) = start(&prefix, "n2");

    // A lease recorded for n1 shows as one of its tenants.
    let mut c = ObjectStoreConfig::parse(&format!("s3://{}/{prefix}", bucket())).unwrap();
    c.endpoint = Some(endpoint);
    let store = Arc::new(ClusterStore::open(&c).unwrap());
    let as_n1 = Node::new(store, "n1", &n1.url(""), Duration::from_secs(30)).unwrap();
    let lease = block_on(as_n1.acquire("acme")).unwrap();
    assert!(matches!(lease, Acquired::Held(_)));

    for (me, server) in [("n1", &n1), ("n2", &n2)] {
        let r = server.bare("GET", "/v1/cluster", Some(ADMIN));
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["node"], me);
        assert_eq!(r.body["lease_ms"], 2000);
        let nodes = r.body["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), 2, "{}", r.text);
        assert_eq!(nodes[0]["node"], "n1");
        assert_eq!(nodes[0]["address"], n1.url(""));
        assert_eq!(nodes[0]["tenants"], serde_json::json!(["acme"]));
        assert_eq!(nodes[1]["node"], "n2");
        assert_eq!(nodes[1]["address"], n2.url(""));
        assert_eq!(nodes[1]["tenants"], serde_json::json!([]));
        for n in nodes {
            assert_eq!(n["live"], true, "{n}");
            assert!(n["heartbeat_age_ms"].as_u64().is_some(), "{n}");
        }
    }
    // Admin only: a tenant's view must not list other tenants.
    assert_eq!(n1.bare("GET", "/v1/cluster", None).status, 401);

    // A second process with a live node's id is refused at start.
    let (_tmp, data) = data_dir();
    let out = Command::new(env!("CARGO_BIN_EXE_pql"))
        .arg("--data")
        .arg(&data)
        .args(["serve", "--listen", "127.0.0.1:0", "--node-id", "n2"])
        .arg("--cluster-secret-file")
        .arg(_d2.path().join("secret"))
        .args(["--object-store", &format!("s3://{}/{prefix}", bucket())])
        .env("PQL_ADMIN_KEY", ADMIN)
        .output()
        .expect("run pql serve");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in use by a live node"), "{err}");
}

#[test]
fn a_single_node_server_says_it_is_not_clustered() {
    let (_tmp, data) = data_dir();
    let server = Server::start(&data, Some(ADMIN), &[]);
    let r = server.bare("GET", "/v1/cluster", Some(ADMIN));
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.body["error"]["code"], "cluster.disabled");
}

#[test]
fn a_node_forwards_a_tenants_requests_to_its_owner() {
    if server().is_none() {
        return;
    }
    let prefix = unique_prefix("serve-route");
    let (n1, _d1) = start(&prefix, "n1");
    let (n2, _d2) = start(&prefix, "n2");
    // acme's data is on n1: created there (no tenant in the path, so no
    // routing), then written with X-Tenant-ID, which takes its lease.
    let r = n1.json(
        "POST",
        "/v1/tenants",
        Some(ADMIN),
        &serde_json::json!({"name": "acme"}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let r = n1.query_as(
        Some(ADMIN),
        "acme",
        "CREATE COLLECTION docs WITH (dimension: 2); \
         QUERY docs CREATE NODE { id: 'p1', embedding: [1, 0] };",
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.owner.as_deref(), Some(n1.url("").as_str()));

    // Through n2: forwarded to n1, n1's answer, and the owner named.
    let r = n2.query_as(Some(ADMIN), "acme", "QUERY docs RETURN COUNT(*);");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["results"][0]["rows"][0][0], 1, "{}", r.text);
    assert_eq!(r.owner.as_deref(), Some(n1.url("").as_str()));
    let r = n2.query_as(
        Some(ADMIN),
        "acme",
        "QUERY docs CREATE NODE { id: 'p2', embedding: [0, 1] };",
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = n2.bare("GET", "/v1/tenants/acme", Some(ADMIN));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.owner.as_deref(), Some(n1.url("").as_str()));
    let r = n1.query_as(Some(ADMIN), "acme", "QUERY docs RETURN COUNT(*);");
    assert_eq!(r.body["results"][0]["rows"][0][0], 2, "{}", r.text);
    // An error comes back as the owner gave it.
    let r = n2.query_as(Some(ADMIN), "acme", "QUERY nope RETURN COUNT(*);");
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.body["error"]["kind"], "CollectionNotFound", "{}", r.text);

    let r = n2.bare("GET", "/v1/cluster", Some(ADMIN));
    assert_eq!(r.body["nodes"][0]["tenants"], serde_json::json!(["acme"]));

    // A forwarded request must carry the secret; and it is never forwarded
    // twice: a node that does not own the tenant refuses it.
    let forged = [("X-PQL-Forwarded-By", "n2")];
    let r = n1.call("GET", "/v1/tenants/acme", Some(ADMIN), &forged, None);
    assert_eq!(r.status, 403, "{}", r.text);
    let wrong = [
        ("X-PQL-Forwarded-By", "n2"),
        ("X-PQL-Cluster-Secret", "not-the-secret-at-all"),
    ];
    let r = n1.call("GET", "/v1/tenants/acme", Some(ADMIN), &wrong, None);
    assert_eq!(r.status, 403, "{}", r.text);
    let hop = [
        ("X-PQL-Forwarded-By", "n1"),
        ("X-PQL-Cluster-Secret", SECRET),
    ];
    let r = n2.call("GET", "/v1/tenants/acme", Some(ADMIN), &hop, None);
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.body["error"]["code"], "cluster.not_owner", "{}", r.text);

    // Without a key nothing is routed: the node answers 401 itself.
    let r = n2.query_as(None, "acme", "QUERY docs RETURN COUNT(*);");
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.owner, None);
}
