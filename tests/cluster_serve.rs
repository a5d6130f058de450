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

/// Node `id` of the cluster under `prefix`, and its data folder's parent.
fn start(prefix: &str, id: &str) -> (Server, tempfile::TempDir) {
    let (tmp, data) = data_dir();
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
