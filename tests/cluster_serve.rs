//! `pql serve --node-id`: real server processes joining a cluster through
//! the shared S3 server (tests/common/s3.rs), and the refusals at start.

#![cfg(all(feature = "server", feature = "s3"))]

mod common;
mod http_common;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    let err = refused(&[
        "--object-store",
        &store,
        "--node-id",
        "n1",
        "--offload-idle",
        "60",
    ]);
    assert!(err.contains("not available in cluster mode"), "{err}");
}

/// The secret the test clusters share.
const SECRET: &str = "cluster-secret-0123456789";

/// Node `id` of the cluster under `prefix`, and its data folder's parent
/// (which holds the secret file too).
fn start(prefix: &str, id: &str) -> (Server, tempfile::TempDir) {
    let (tmp, _) = data_dir();
    let server = start_in(prefix, id, tmp.path());
    (server, tmp)
}

/// Node `id` of the cluster under `prefix`, on the data folder `dir/data`
/// (a restart, if it was used before).
fn start_in(prefix: &str, id: &str, dir: &Path) -> Server {
    start_with(prefix, id, dir, &[])
}

/// [`start_in`] with `extra` flags.
fn start_with(prefix: &str, id: &str, dir: &Path, extra: &[&str]) -> Server {
    let secret = dir.join("secret");
    std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
    let store = format!("s3://{}/{prefix}", bucket());
    let mut args = vec![
        "--object-store",
        &store,
        "--node-id",
        id,
        "--lease-ms",
        "2000",
        "--cluster-secret-file",
        secret.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    Server::start(&dir.join("data"), Some(ADMIN), &args)
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
            assert_eq!(n["ready"], true, "{n}");
            assert!(n["heartbeat_age_ms"].as_u64().is_some(), "{n}");
        }
    }
    // Admin only: a tenant's view must not list other tenants.
    assert_eq!(n1.bare("GET", "/v1/cluster", None).status, 401);
    // A node that stops answering is not ready, before it stops being live.
    n2.signal("STOP");
    let r = n1.bare("GET", "/v1/cluster", Some(ADMIN));
    n2.signal("CONT");
    assert_eq!(r.body["nodes"][1]["ready"], false, "{}", r.text);
    assert_eq!(r.body["nodes"][0]["ready"], true, "{}", r.text);

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

/// The names in column `column` of the rows of the first result of `r`.
fn names(r: &http_common::Reply, column: usize) -> Vec<String> {
    r.body["results"][0]["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", r.text))
        .iter()
        .map(|row| row[column].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Retries `attempt` (bounded) until it is true; false if it never was.
fn eventually(mut attempt: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if attempt() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn every_node_lists_every_tenant_and_resolves_every_tier_through_the_registry() {
    if server().is_none() {
        return;
    }
    let prefix = unique_prefix("serve-registry");
    let (n1, _d1) = start(&prefix, "n1");
    let (n2, _d2) = start(&prefix, "n2");

    // A tier made on n2 is known on n1 as soon as a statement names it.
    let r = n2.query(Some(ADMIN), "CREATE TIER gold WITH (max_vectors: 3);");
    assert_eq!(r.status, 200, "{}", r.text);
    let r = n1.query(Some(ADMIN), "CREATE TIER gold WITH (max_vectors: 9);");
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.body["error"]["kind"], "TierExists", "{}", r.text);
    let r = n1.json(
        "POST",
        "/v1/tenants",
        Some(ADMIN),
        &serde_json::json!({"name": "acme", "options": {"tier": "gold"}}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    // Created on the node that took its lease, the one it was sent to.
    assert_eq!(r.owner.as_deref(), Some(n1.url("").as_str()));
    let r = n2.query(Some(ADMIN), "CREATE TENANT beta;");
    assert_eq!(r.status, 200, "{}", r.text);

    // One name per tenant in the whole cluster, in any case: refused on
    // the node that does not own it, changing nothing.
    let r = n2.json(
        "POST",
        "/v1/tenants",
        Some(ADMIN),
        &serde_json::json!({"name": "ACME"}),
    );
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.body["error"]["kind"], "TenantExists", "{}", r.text);
    let r = n2.query(Some(ADMIN), "CREATE TENANT IF NOT EXISTS Beta;");
    assert_eq!(r.status, 409, "{}", r.text);

    // Every node lists both, with their tiers.
    for node in [&n1, &n2] {
        let r = node.query(Some(ADMIN), "SHOW TENANTS;");
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(names(&r, 0), ["acme", "beta"], "{}", r.text);
        assert_eq!(r.body["results"][0]["rows"][0][2], "gold", "{}", r.text);
        let r = node.bare("GET", "/v1/tenants?limit=1&after=acme", Some(ADMIN));
        assert_eq!(r.body["tenants"][0]["name"], "beta", "{}", r.text);
        let r = node.query(Some(ADMIN), "SHOW TIERS;");
        let gold = r.body["results"][0]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row[0] == "gold")
            .cloned();
        assert_eq!(gold.map(|g| g[2].clone()), Some(1.into()), "{}", r.text);
    }

    // acme lives on n1 with gold's limit of 3 vectors...
    let insert = |via: &Server, id: &str| {
        via.query_as(
            Some(ADMIN),
            "acme",
            &format!("QUERY docs CREATE NODE {{ id: '{id}', embedding: [1, 0] }};"),
        )
    };
    let r = n1.query_as(
        Some(ADMIN),
        "acme",
        "CREATE COLLECTION docs WITH (dimension: 2);",
    );
    assert_eq!(r.status, 200, "{}", r.text);
    for id in ["a", "b", "c"] {
        assert_eq!(insert(&n2, id).status, 200);
    }
    let r = insert(&n2, "d");
    assert_eq!(r.status, 422, "{}", r.text);
    // ...and a change of gold made on n2 reaches it on n1 (at n1's next
    // sync of the registry's tiers).
    let r = n2.query(Some(ADMIN), "ALTER TIER gold SET max_vectors = 10;");
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(eventually(|| insert(&n2, "d").status == 200));

    // A tier in use on another node cannot be dropped.
    let r = n2.query(Some(ADMIN), "DROP TIER gold;");
    assert_eq!(r.status, 409, "{}", r.text);
    assert!(r.text.contains("acme"), "{}", r.text);

    // Dropped through n2 (it runs on n1, the owner): gone from every list,
    // and then its tier can go, on every node.
    let r = n2.query(Some(ADMIN), "DROP TENANT acme;");
    assert_eq!(r.status, 200, "{}", r.text);
    for node in [&n1, &n2] {
        let r = node.query(Some(ADMIN), "SHOW TENANTS;");
        assert_eq!(names(&r, 0), ["beta"], "{}", r.text);
    }
    let r = n2.query(Some(ADMIN), "DROP TIER gold;");
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(eventually(|| {
        let r = n1.query(Some(ADMIN), "SHOW TIERS;");
        !names(&r, 0).contains(&"gold".to_string())
    }));
    // The name is free again, on any node.
    let r = n2.query(Some(ADMIN), "CREATE TENANT acme;");
    assert_eq!(r.status, 200, "{}", r.text);
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
    // acme's data is on n1: created there (a free lease is taken by the
    // node a request reaches), then written with X-Tenant-ID.
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

/// `QUERY docs RETURN COUNT(*)` of `tenant` through `node`: the count and
/// the owner that answered.
fn count(node: &Server, tenant: &str) -> (i64, Option<String>) {
    let r = node.query_as(Some(ADMIN), tenant, "QUERY docs RETURN COUNT(*);");
    assert_eq!(r.status, 200, "{}", r.text);
    let n = r.body["results"][0]["rows"][0][0].as_i64().unwrap();
    (n, r.owner)
}

/// The points of `tenant`'s `docs`, asked through `node` until it is
/// served (a take-over waits for the dead owner's lease to expire).
fn count_once_served(node: &Server, tenant: &str) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = node.query_as(Some(ADMIN), tenant, "QUERY docs RETURN COUNT(*);");
        if r.status == 200 {
            return r.body["results"][0]["rows"][0][0].as_i64().unwrap();
        }
        assert!(Instant::now() < deadline, "{}", r.text);
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Creates `tenant` on `node` with a collection `docs` of dimension 2, and
/// writes `points` points `p0`, `p1`, ... one request each (all through
/// `via`, routed to the owner).
fn tenant_with_points(node: &Server, via: &Server, tenant: &str, points: usize) {
    let r = node.json(
        "POST",
        "/v1/tenants",
        Some(ADMIN),
        &serde_json::json!({ "name": tenant }),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let r = node.query_as(
        Some(ADMIN),
        tenant,
        "CREATE COLLECTION docs WITH (dimension: 2);",
    );
    assert_eq!(r.status, 200, "{}", r.text);
    for i in 0..points {
        let r = via.query_as(
            Some(ADMIN),
            tenant,
            &format!("QUERY docs CREATE NODE {{ id: 'p{i}', embedding: [1, {i}] }};"),
        );
        assert_eq!(r.status, 200, "{}", r.text);
    }
}

/// True if point `id` of `tenant` is found through `node`.
fn has_point(node: &Server, tenant: &str, id: &str) -> bool {
    let r = node.query_as(
        Some(ADMIN),
        tenant,
        &format!("QUERY docs WHERE id = '{id}' RETURN COUNT(*);"),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["results"][0]["rows"][0][0] == 1
}

#[test]
fn a_node_stopped_by_sigterm_hands_its_tenants_over_through_the_bucket() {
    if server().is_none() {
        return;
    }
    let prefix = unique_prefix("serve-sigterm");
    let (n1, _d1) = start(&prefix, "n1");
    let (n2, _d2) = start(&prefix, "n2");
    // Both tenants live on n1 (created there, their leases taken there);
    // half of the writes come through n2 and are forwarded.
    tenant_with_points(&n1, &n1, "acme", 10);
    tenant_with_points(&n1, &n2, "beta", 10);
    for i in 10..20 {
        let r = n2.query_as(
            Some(ADMIN),
            "acme",
            &format!("QUERY docs CREATE NODE {{ id: 'p{i}', embedding: [0, {i}] }};"),
        );
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.owner.as_deref(), Some(n1.url("").as_str()));
    }
    assert_eq!(n1.signal_and_wait("TERM").code(), Some(0));

    // n2 never had these tenants: it brings them in from the bucket, and
    // every acknowledged write is there.
    for (tenant, points) in [("acme", 20), ("beta", 10)] {
        let (n, owner) = count(&n2, tenant);
        assert_eq!(n, points, "{tenant}");
        assert_eq!(owner.as_deref(), Some(n2.url("").as_str()));
        for i in 0..points {
            assert!(has_point(&n2, tenant, &format!("p{i}")), "{tenant} p{i}");
        }
    }
    let r = n2.query_as(
        Some(ADMIN),
        "acme",
        "QUERY docs CREATE NODE { id: 'after', embedding: [1, 1] };",
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(count(&n2, "acme").0, 21);
    let r = n2.bare("GET", "/v1/cluster", Some(ADMIN));
    let nodes = r.body["nodes"].as_array().unwrap();
    let n2_entry = nodes.iter().find(|n| n["node"] == "n2").unwrap();
    assert_eq!(n2_entry["tenants"], serde_json::json!(["acme", "beta"]));
}

#[test]
fn a_planned_move_under_read_load_fails_no_request() {
    if server().is_none() {
        return;
    }
    let prefix = unique_prefix("serve-move");
    let (n1, _d1) = start(&prefix, "n1");
    let (n2, _d2) = start(&prefix, "n2");
    let n1 = Arc::new(n1);
    let n2 = Arc::new(n2);
    tenant_with_points(&n1, &n1, "acme", 5);

    // Refusals: a non-admin key, an unknown node, a malformed body.
    let move_path = "/v1/cluster/tenants/acme/move";
    let to = |node: &str| serde_json::json!({ "node": node });
    let r = n1.json("POST", move_path, Some("not-a-key-at-all-000"), &to("n2"));
    assert_eq!(r.status, 401, "{}", r.text);
    let r = n1.json("POST", move_path, Some(ADMIN), &to("n9"));
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.body["error"]["code"], "cluster.unknown_node");
    let r = n1.json("POST", move_path, Some(ADMIN), &to("../n2"));
    assert_eq!(r.status, 400, "{}", r.text);
    let r = n1.json(
        "POST",
        move_path,
        Some(ADMIN),
        &serde_json::json!({ "nod": "n2" }),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(count(&n1, "acme"), (5, Some(n1.url(""))));

    // A client reads through both nodes, all along.
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (n1, n2, stop) = (n1.clone(), n2.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut owners = Vec::new();
            let mut failures = Vec::new();
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) || i < 10 {
                let node = if i.is_multiple_of(2) { &n1 } else { &n2 };
                let r = node.query_as(Some(ADMIN), "acme", "QUERY docs RETURN COUNT(*);");
                if r.status == 200 && r.body["results"][0]["rows"][0][0] == 5 {
                    owners.push(r.owner);
                } else {
                    failures.push(r.text);
                }
                i += 1;
            }
            (owners, failures)
        })
    };
    // Sent to n2, which forwards it to the owner, n1.
    let r = n2.json("POST", move_path, Some(ADMIN), &to("n2"));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["moved"], true, "{}", r.text);
    assert_eq!(r.body["node"], "n2", "{}", r.text);
    stop.store(true, Ordering::Relaxed);
    let (owners, failures) = reader.join().unwrap();
    assert_eq!(failures, Vec::<String>::new());
    assert!(owners.len() >= 10);
    // The last reads were served by n2.
    assert_eq!(owners.last().unwrap().as_deref(), Some(n2.url("").as_str()));
    assert_eq!(count(&n1, "acme"), (5, Some(n2.url(""))));

    // A write on n2, then back to n1 (which had the tenant offloaded, with
    // the data n2 did not have yet): the write moves along.
    let r = n2.query_as(
        Some(ADMIN),
        "acme",
        "QUERY docs CREATE NODE { id: 'on-n2', embedding: [1, 1] };",
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let r = n1.json("POST", move_path, Some(ADMIN), &to("n1"));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(count(&n2, "acme"), (6, Some(n1.url(""))));
    assert!(has_point(&n1, "acme", "on-n2"));
    // Moving a tenant to the node that has it changes nothing.
    let r = n1.json("POST", move_path, Some(ADMIN), &to("n1"));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["moved"], false, "{}", r.text);
}

/// The one row of an `ALTER TENANT ... SET node` answered 200.
fn moved_row(r: &http_common::Reply) -> serde_json::Value {
    assert_eq!(r.status, 200, "{}", r.text);
    let result = &r.body["results"][0];
    assert_eq!(
        result["columns"],
        serde_json::json!(["tenant", "node", "address", "moved"]),
        "{}",
        r.text
    );
    result["rows"][0].clone()
}

#[test]
fn alter_tenant_set_node_moves_a_tenant_as_the_move_endpoint_does() {
    if server().is_none() {
        return;
    }
    let prefix = unique_prefix("serve-alter-node");
    let (n1, _d1) = start(&prefix, "n1");
    let (n2, _d2) = start(&prefix, "n2");
    tenant_with_points(&n1, &n1, "acme", 5);
    let (_, tenant_key) = n1.new_key("acme");

    // Refusals, through either node: nothing moves, nothing runs.
    for (via, key, body, status) in [
        (
            &n2,
            ADMIN,
            "ALTER TENANT acme SET node = 'n2', max_qps = 9;",
            400,
        ),
        (&n1, ADMIN, "ALTER TENANT acme SET node = '../n2';", 400),
        (&n2, ADMIN, "ALTER TENANT acme SET node = 2;", 400),
        (
            &n2,
            ADMIN,
            "QUERY docs TENANT acme CREATE NODE { id: 'x', embedding: [0, 1] }; \
             ALTER TENANT acme SET node = 'n2';",
            400,
        ),
        (
            &n2,
            tenant_key.as_str(),
            "ALTER TENANT acme SET node = 'n2';",
            403,
        ),
        (&n1, ADMIN, "ALTER TENANT acme SET node = 'n9';", 404),
    ] {
        let r = via.query(Some(key), body);
        assert_eq!(r.status, status, "{body}: {}", r.text);
        if status == 404 {
            assert_eq!(
                r.body["error"]["code"], "cluster.unknown_node",
                "{}",
                r.text
            );
        }
    }
    let r = n2.json(
        "PATCH",
        "/v1/tenants/acme",
        Some(ADMIN),
        &serde_json::json!({ "options": { "node": "n2" } }),
    );
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(r.text.contains("/move"), "{}", r.text);
    assert_eq!(count(&n2, "acme"), (5, Some(n1.url(""))));
    let r = n1.query(Some(ADMIN), "DESCRIBE TENANT acme;");
    let rows = r.body["results"][0]["rows"].as_array().unwrap().clone();
    let limit = rows.iter().find(|row| row[0] == "limit_qps").unwrap();
    assert_eq!(limit[1], serde_json::Value::Null, "{}", r.text);

    // Sent to n2, routed to the owner n1, which hands the tenant over.
    let r = n2.query(Some(ADMIN), "ALTER TENANT acme SET node = 'n2';");
    assert_eq!(
        moved_row(&r),
        serde_json::json!(["acme", "n2", n2.url(""), true]),
        "{}",
        r.text
    );
    let r = n1.bare("GET", "/v1/cluster", Some(ADMIN));
    let nodes = r.body["nodes"].as_array().unwrap();
    let holder = |id: &str| nodes.iter().find(|n| n["node"] == id).unwrap()["tenants"].clone();
    assert_eq!(holder("n2"), serde_json::json!(["acme"]), "{}", r.text);
    assert_eq!(holder("n1"), serde_json::json!([]), "{}", r.text);
    for via in [&n1, &n2] {
        assert_eq!(count(via, "acme"), (5, Some(n2.url(""))));
        for i in 0..5 {
            assert!(has_point(via, "acme", &format!("p{i}")), "p{i}");
        }
    }

    // A write on n2 moves back with the tenant, sent to n1 this time with
    // X-Tenant-ID (its USE TENANT).
    let r = write_point(&n2, "acme", "on-n2");
    assert_eq!(r.status, 200, "{}", r.text);
    let r = n1.query_as(Some(ADMIN), "acme", "ALTER TENANT acme SET NODE = 'n1';");
    assert_eq!(
        moved_row(&r),
        serde_json::json!(["acme", "n1", n1.url(""), true])
    );
    for via in [&n1, &n2] {
        assert_eq!(count(via, "acme"), (6, Some(n1.url(""))));
        assert!(has_point(via, "acme", "on-n2"));
    }
    // To the node that has it: nothing moves.
    let r = n2.query(Some(ADMIN), "ALTER TENANT acme SET node = 'n1';");
    assert_eq!(
        moved_row(&r),
        serde_json::json!(["acme", "n1", n1.url(""), false])
    );
}

#[test]
fn a_query_body_goes_to_the_owner_of_its_tenants() {
    if server().is_none() {
        return;
    }
    let prefix = unique_prefix("serve-body");
    let (n1, _d1) = start(&prefix, "n1");
    let (n2, _d2) = start(&prefix, "n2");
    tenant_with_points(&n1, &n1, "acme", 3);
    tenant_with_points(&n2, &n2, "beta", 2);

    // No X-Tenant-ID: the statements name the tenant.
    let r = n2.query(Some(ADMIN), "QUERY docs TENANT acme RETURN COUNT(*);");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["results"][0]["rows"][0][0], 3, "{}", r.text);
    assert_eq!(r.owner.as_deref(), Some(n1.url("").as_str()));
    let r = n1.query(
        Some(ADMIN),
        "USE TENANT beta; QUERY docs CREATE NODE { id: 'b9', embedding: [0, 1] }; \
         QUERY docs RETURN COUNT(*);",
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["results"][2]["rows"][0][0], 3, "{}", r.text);
    assert_eq!(r.owner.as_deref(), Some(n2.url("").as_str()));

    // Tenants of two owners in one body: refused, nothing runs.
    for node in [&n1, &n2] {
        let r = node.query(
            Some(ADMIN),
            "QUERY docs TENANT beta CREATE NODE { id: 'no', embedding: [1, 1] }; \
             QUERY docs TENANT acme RETURN COUNT(*);",
        );
        assert_eq!(r.status, 409, "{}", r.text);
        assert_eq!(
            r.body["error"]["code"], "cluster.mixed_owners",
            "{}",
            r.text
        );
    }
    assert_eq!(count(&n1, "beta").0, 3);
    assert!(!has_point(&n2, "beta", "no"));

    // No tenant: served where it lands, no owner named.
    let r = n2.query(Some(ADMIN), "SHOW TENANTS;");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.owner, None);
    // A body that does not parse is answered by the node it reached.
    let r = n2.query(Some(ADMIN), "QUERY docs TENANT acme RETURN;");
    assert_eq!(r.status, 400, "{}", r.text);
}

#[test]
fn a_killed_nodes_tenants_fail_over_after_an_offload_or_wait_for_it_without_a_checkpoint() {
    if server().is_none() {
        return;
    }
    let prefix = unique_prefix("serve-kill");
    // Without automatic checkpoints (none at a tenant's creation either).
    let (d1, _) = data_dir();
    let n1 = start_with(&prefix, "n1", d1.path(), &["--checkpoint-every", "0"]);
    let (n2, _d2) = start(&prefix, "n2");
    tenant_with_points(&n1, &n2, "acme", 5);
    // An OFFLOAD TENANT through the server records its copy as acme's
    // checkpoint; a write after it onloads acme and goes to the log.
    let r = n1.query(Some(ADMIN), "OFFLOAD TENANT acme;");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(write_point(&n2, "acme", "after").status, 200);
    // beta is created by the request that first writes it, and n1 takes
    // no checkpoint of it: the bucket has no copy its log continues.
    let r = n1.query(
        Some(ADMIN),
        "CREATE TENANT beta; CREATE COLLECTION docs TENANT beta WITH (dimension: 2); \
         QUERY docs TENANT beta CREATE NODE { id: 'b0', embedding: [1, 0] };",
    );
    assert_eq!(r.status, 200, "{}", r.text);
    n1.signal_and_wait("KILL");

    // n2 takes acme over from the OFFLOAD's copy plus the log.
    assert_eq!(count_once_served(&n2, "acme"), 6);
    assert!(has_point(&n2, "acme", "after"));
    // For beta, n2 learns that n1 served it from its disk and that the
    // bucket has no copy its log continues, gives the lease back and
    // refuses: no older copy, no empty tenant.
    let r = n2.query_as(Some(ADMIN), "beta", "QUERY docs RETURN COUNT(*);");
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(
        r.body["error"]["code"], "cluster.tenant_unavailable",
        "{}",
        r.text
    );
    let message = r.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("restart \"n1\""), "{message}");
    // n1 comes back on its data folder (once its old record is stale, so
    // that it may take its id again): n2 sends beta's requests to it, and
    // its acknowledged write is there.
    wait_until_silent(&n2, "n1");
    let n1 = start_in(&prefix, "n1", d1.path());
    assert_eq!(count(&n2, "beta"), (1, Some(n1.url(""))));
    assert!(has_point(&n2, "beta", "b0"));
}

/// The `inserts` that `SHOW USAGE` run on `node` reports for `tenant`.
fn inserts(node: &Server, tenant: &str) -> Option<i64> {
    let r = node.query(Some(ADMIN), "SHOW USAGE;");
    let result = &r.body["results"][0];
    let column = result["columns"]
        .as_array()?
        .iter()
        .position(|c| c == "inserts")?;
    result["rows"]
        .as_array()?
        .iter()
        .find(|row| row[0] == tenant)
        .and_then(|row| row[column].as_i64())
}

#[test]
fn each_node_publishes_its_own_usage_and_every_node_reports_the_sum() {
    if server().is_none() {
        return;
    }
    let prefix = unique_prefix("serve-usage");
    let (n1, _d1) = start(&prefix, "n1");
    let (n2, _d2) = start(&prefix, "n2");
    // 3 inserts counted on n1, then 2 on n2 after a move (which brings
    // acme's usage history along: it must not be counted twice).
    tenant_with_points(&n1, &n1, "acme", 3);
    move_to(&n1, "acme", "n2");
    for id in ["x0", "x1"] {
        assert_eq!(write_point(&n2, "acme", id).status, 200);
    }
    // Each node publishes what it counted every third of the lease time.
    for node in [&n1, &n2] {
        let mut seen = None;
        let summed = eventually(|| {
            seen = inserts(node, "acme");
            seen == Some(5)
        });
        assert!(summed, "{} reports {seen:?} inserts", node.url(""));
    }
    let r = n1.query(Some(ADMIN), "SHOW USAGE FOR TENANT nobody;");
    assert_eq!(r.status, 404, "{}", r.text);
}

/// The `.pqlt` export of `tenant` through `via`.
fn export(via: &Server, tenant: &str) -> Vec<u8> {
    let mut resp = ureq::get(via.url(&format!("/v1/tenants/{tenant}/export")))
        .header("Authorization", format!("Bearer {ADMIN}"))
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_vec()
        .unwrap()
}

/// `POST /v1/imports?QUERY` of `file` through `via`.
fn import(via: &Server, query: &str, file: &[u8]) -> http_common::Reply {
    via.call(
        "POST",
        &format!("/v1/imports?{query}"),
        Some(ADMIN),
        &[],
        Some(("application/octet-stream", file)),
    )
}

#[test]
fn an_import_through_any_node_runs_on_the_owner_and_fails_over_with_its_rows() {
    if server().is_none() {
        return;
    }
    let prefix = unique_prefix("serve-import");
    let (n1, _d1) = start(&prefix, "n1");
    let (n2, _d2) = start(&prefix, "n2");
    tenant_with_points(&n1, &n1, "acme", 3);
    let three = export(&n2, "acme");
    // A new name: taken by the node the upload reached, registered, and
    // listed by both nodes.
    let r = import(&n2, "as=copy", &three);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.owner.as_deref(), Some(n2.url("").as_str()));
    for node in [&n1, &n2] {
        let r = node.query(Some(ADMIN), "SHOW TENANTS;");
        assert_eq!(names(&r, 0), ["acme", "copy"], "{}", r.text);
    }
    // A name taken in the cluster, in any case, without REPLACE: refused
    // wherever it is sent, and nothing changes.
    for (node, name) in [(&n1, "copy"), (&n2, "COPY"), (&n2, "acme")] {
        let r = import(node, &format!("as={name}"), &three);
        assert_eq!(r.status, 409, "{name}: {}", r.text);
    }
    // REPLACE through n2 runs on acme's owner, n1; its rows are not in
    // acme's log, but its copy in the bucket is acme's checkpoint now...
    for i in 3..5 {
        assert_eq!(write_point(&n1, "acme", &format!("p{i}")).status, 200);
    }
    let five = export(&n1, "acme");
    let r = n1.query_as(Some(ADMIN), "acme", "QUERY docs DELETE;");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(count(&n2, "acme").0, 0);
    let r = import(&n2, "as=acme&replace=true", &five);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.owner.as_deref(), Some(n1.url("").as_str()));
    assert_eq!(write_point(&n2, "acme", "after").status, 200);
    // ...so when n1 dies, n2 takes acme over with the imported rows and
    // the write after them.
    n1.signal_and_wait("KILL");
    assert_eq!(count_once_served(&n2, "acme"), 6);
    assert!(has_point(&n2, "acme", "p4"));
    assert!(has_point(&n2, "acme", "after"));
}

/// A tenant that never moves is checkpointed every few log entries
/// (`--checkpoint-every`), so it fails over from that copy plus the rest
/// of its log.
#[test]
fn a_tenant_checkpointed_every_few_entries_fails_over_with_every_write() {
    if server().is_none() {
        return;
    }
    let prefix = unique_prefix("serve-periodic");
    let (d1, _) = data_dir();
    let n1 = start_with(&prefix, "n1", d1.path(), &["--checkpoint-every", "3"]);
    let (n2, _d2) = start(&prefix, "n2");
    let r = n1.query(
        Some(ADMIN),
        "CREATE TENANT beta; CREATE COLLECTION docs TENANT beta WITH (dimension: 2); \
         QUERY docs TENANT beta CREATE NODE { id: 'b0', embedding: [1, 0] };",
    );
    assert_eq!(r.status, 200, "{}", r.text);
    for i in 0..8 {
        let r = write_point(&n2, "beta", &format!("w{i}"));
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.owner, Some(n1.url("")));
    }
    // Entry 1 is n1's fence, the writes are entries 2 to 11, and beta's
    // creation checkpointed it at entry 1: a checkpoint was started once an
    // entry was 3 past the last one recorded. Wait for one at entry 6 or
    // later to be recorded.
    let deadline = Instant::now() + Duration::from_secs(60);
    let seq = loop {
        let r = n2.bare("GET", "/v1/cluster", Some(ADMIN));
        let nodes = r.body["nodes"].as_array().unwrap().clone();
        let seq = nodes
            .iter()
            .find(|n| n["node"] == "n1")
            .and_then(|n| n["checkpoints"]["beta"].as_u64());
        if let Some(seq) = seq.filter(|s| *s >= 6) {
            break seq;
        }
        assert!(Instant::now() < deadline, "{}", r.text);
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(seq <= 11, "{seq}");
    // Two more writes after it, then n1 dies.
    for id in ["x0", "x1"] {
        assert_eq!(write_point(&n2, "beta", id).status, 200);
    }
    n1.signal_and_wait("KILL");
    assert_eq!(count_once_served(&n2, "beta"), 11);
    for id in ["b0", "w0", "w7", "x0", "x1"] {
        assert!(has_point(&n2, "beta", id), "{id}");
    }
}

/// The object tier under `pql serve`: statements run off the server's
/// async threads (its blocking pool, or in place with `block_in_place`),
/// inside its runtime, where the tier once refused to work
/// (the hand-overs above go through the same path).
#[test]
fn a_server_runs_offload_and_onload_statements() {
    if server().is_none() {
        return;
    }
    let prefix = unique_prefix("serve-offload");
    let (_tmp, data) = data_dir();
    let store = format!("s3://{}/{prefix}", bucket());
    let s = Server::start(&data, Some(ADMIN), &["--object-store", &store]);
    tenant_with_points(&s, &s, "acme", 3);
    let r = s.query(Some(ADMIN), "OFFLOAD TENANT acme;");
    assert_eq!(r.status, 200, "{}", r.text);
    let r = s.query(Some(ADMIN), "SHOW TENANTS;");
    assert!(r.text.contains("offloaded"), "{}", r.text);
    // The next statement onloads it lazily.
    assert_eq!(count(&s, "acme").0, 3);
}

/// Waits (up to a minute) until `via` lists node `id` as not live: its
/// record is stale, so a new process may take its id.
fn wait_until_silent(via: &Server, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = via.bare("GET", "/v1/cluster", Some(ADMIN));
        let nodes = r.body["nodes"].as_array().unwrap().clone();
        if nodes.iter().any(|n| n["node"] == id && n["live"] == false) {
            return;
        }
        assert!(Instant::now() < deadline, "{}", r.text);
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Moves `tenant` to node `to` through `via` (a hand-over through the
/// bucket, which records the checkpoint its log continues).
fn move_to(via: &Server, tenant: &str, to: &str) {
    let r = via.json(
        "POST",
        &format!("/v1/cluster/tenants/{tenant}/move"),
        Some(ADMIN),
        &serde_json::json!({ "node": to }),
    );
    assert_eq!(r.status, 200, "{}", r.text);
}

/// Writes point `id` of `tenant` through `via`: the reply.
fn write_point(via: &Server, tenant: &str, id: &str) -> http_common::Reply {
    via.query_as(
        Some(ADMIN),
        tenant,
        &format!("QUERY docs CREATE NODE {{ id: '{id}', embedding: [2, 3] }};"),
    )
}

#[test]
fn a_killed_owner_fails_over_with_every_acknowledged_write() {
    if server().is_none() {
        return;
    }
    let prefix = unique_prefix("serve-failover");
    let (n1, _d1) = start(&prefix, "n1");
    let (n2, d2) = start(&prefix, "n2");
    let (n3, _d3) = start(&prefix, "n3");
    // acme is handed over to n2 once: the bucket has a copy its log
    // continues from.
    tenant_with_points(&n1, &n3, "acme", 5);
    move_to(&n1, "acme", "n2");
    // beta is created on n2 and never moves: its creation checkpoints it.
    tenant_with_points(&n2, &n2, "beta", 4);
    let acked_before_kill = std::sync::atomic::AtomicUsize::new(0);
    let (acked, refused) = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let (mut acked, mut refused) = (Vec::new(), Vec::new());
            for i in 0..40 {
                let via = if i % 2 == 0 { &n1 } else { &n3 };
                let id = format!("w{i}");
                let r = write_point(via, "acme", &id);
                if r.status == 200 {
                    acked.push((id, r.owner));
                    acked_before_kill.fetch_add(1, Ordering::SeqCst);
                } else {
                    refused.push((id, r.status, r.text));
                }
            }
            (acked, refused)
        });
        // SIGKILL n2 in the middle of the writes.
        while acked_before_kill.load(Ordering::SeqCst) < 10 {
            std::thread::sleep(Duration::from_millis(5));
        }
        n2.signal_and_wait("KILL");
        writer.join().unwrap()
    });
    // The writes after the kill waited (retried) until n2's lease expired,
    // then a live node took the tenant over: the bucket's copy plus the log.
    // n2 acknowledged writes that were only in the log (the bucket's copy
    // was taken at the move), and another node acknowledged the later ones.
    let n2_url = n2.url("");
    let by_n2 = acked
        .iter()
        .filter(|(_, o)| o.as_ref() == Some(&n2_url))
        .count();
    assert!(by_n2 >= 10, "{acked:?} {refused:?}");
    assert!(by_n2 < acked.len(), "{acked:?} {refused:?}");
    eprintln!(
        "acked {} (by n2: {by_n2}), refused {}",
        acked.len(),
        refused.len()
    );
    let acked: Vec<String> = acked.into_iter().map(|(id, _)| id).collect();
    for (id, status, text) in &refused {
        // Only a request that reached n2 as it died may have been applied.
        assert_eq!(*status, 502, "{id}: {text}");
    }
    for node in [&n1, &n3] {
        let (n, owner) = count(node, "acme");
        assert!(
            n >= 5 + acked.len() as i64 && n <= 5 + (acked.len() + refused.len()) as i64,
            "{n} {acked:?} {refused:?}"
        );
        assert_ne!(owner.as_ref(), Some(&n2_url));
        for id in acked.iter().cloned().chain((0..5).map(|i| format!("p{i}"))) {
            assert!(has_point(node, "acme", &id), "{id}");
        }
    }
    assert_eq!(count(&n3, "beta").0, 4);
    for i in 0..4 {
        assert!(has_point(&n1, "beta", &format!("p{i}")), "beta p{i}");
    }
    // The new owner goes on writing, and reads its writes back.
    let r = write_point(&n1, "acme", "after");
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(has_point(&n3, "acme", "after"));

    // n2 restarted on its data folder (once its old record is stale, so
    // that it may take its id again): its writes go to the new owner, and
    // when acme is moved back to it, it serves the bucket's copy, not the
    // older one on its disk.
    wait_until_silent(&n1, "n2");
    let n2 = start_in(&prefix, "n2", d2.path());
    let r = write_point(&n2, "acme", "again");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_ne!(r.owner, Some(n2.url("")));
    let (before, _) = count(&n1, "acme");
    move_to(&n1, "acme", "n2");
    assert_eq!(count(&n1, "acme"), (before, Some(n2.url(""))));
    for id in ["after", "again", "p0"] {
        assert!(has_point(&n2, "acme", id), "{id}");
    }
}

#[test]
fn a_paused_owner_resumed_after_a_take_over_cannot_write() {
    if server().is_none() {
        return;
    }
    let prefix = unique_prefix("serve-pause");
    let (n1, _d1) = start(&prefix, "n1");
    let (n2, d2) = start(&prefix, "n2");
    tenant_with_points(&n1, &n1, "acme", 3);
    move_to(&n1, "acme", "n2");
    let r = write_point(&n1, "acme", "before");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.owner, Some(n2.url("")));
    let n2_copy = d2.path().join("data").join("tenants").join("acme");
    assert!(n2_copy.is_dir(), "{}", n2_copy.display());
    let started = std::sync::atomic::AtomicUsize::new(0);
    let answered = std::thread::scope(|scope| {
        // Writes straight to n2, paused in the middle of them.
        let writer = scope.spawn(|| {
            let mut answered = Vec::new();
            for i in 0..12 {
                started.fetch_add(1, Ordering::SeqCst);
                let id = format!("s{i}");
                let r = write_point(&n2, "acme", &id);
                answered.push((id, r.status, r.owner, r.text));
            }
            answered
        });
        while started.load(Ordering::SeqCst) < 4 {
            std::thread::sleep(Duration::from_millis(2));
        }
        n2.signal("STOP");
        // Once n2's lease has expired (GET /v1/cluster on n1 no longer
        // lists it there), n1 takes the tenant over: its copy in the bucket
        // plus the log, which it fences.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let r = n1.bare("GET", "/v1/cluster", Some(ADMIN));
            let nodes = r.body["nodes"].as_array().unwrap().clone();
            let n2_holds = nodes
                .iter()
                .any(|n| n["node"] == "n2" && n["tenants"] == serde_json::json!(["acme"]));
            if !n2_holds {
                break;
            }
            assert!(Instant::now() < deadline, "{}", r.text);
            std::thread::sleep(Duration::from_millis(50));
        }
        let r = write_point(&n1, "acme", "taken");
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.owner, Some(n1.url("")));
        n2.signal("CONT");
        writer.join().unwrap()
    });
    // A write n2 was serving when it was paused is either refused (its
    // append hit n1's fence: 503 NotOwner, and it is not in the tenant) or
    // acknowledged (and there); the later ones go to n1.
    let check = |owner_now: &Server| {
        for (id, status, owner, text) in &answered {
            let r = n1.query_as(
                Some(ADMIN),
                "acme",
                &format!("QUERY docs WHERE id = '{id}' RETURN COUNT(*);"),
            );
            assert_eq!(r.status, 200, "{}", r.text);
            assert_eq!(r.owner, Some(owner_now.url("")));
            let there = r.body["results"][0]["rows"][0][0] == 1;
            match status {
                200 => assert!(there, "{id} acknowledged by {owner:?} but lost"),
                503 => {
                    assert!(!there, "{id} refused but applied: {text}");
                    assert!(text.contains("NotOwner"), "{text}");
                }
                _ => panic!("{id}: {status} {text}"),
            }
        }
        assert!(has_point(&n1, "acme", "before"));
        assert!(has_point(&n1, "acme", "taken"));
    };
    check(&n1);
    let statuses: Vec<u16> = answered.iter().map(|a| a.1).collect();
    eprintln!("statuses of the writes to the paused node: {statuses:?}");
    let last = answered.last().unwrap();
    assert_eq!((last.1, last.2.clone()), (200, Some(n1.url(""))));
    // n2 learnt it was fenced (a refused append, or n1's lease of a later
    // epoch when it routed the writes after its pause): it drops its stale
    // copy, and the tenant still answers the same through both nodes.
    let deadline = Instant::now() + Duration::from_secs(60);
    while n2_copy.exists() {
        assert!(Instant::now() < deadline, "n2 kept {}", n2_copy.display());
        std::thread::sleep(Duration::from_millis(50));
    }
    let points = count(&n1, "acme").0;
    assert_eq!(count(&n2, "acme"), (points, Some(n1.url(""))));
    check(&n1);
    // Moved back to n2, which has no copy of its own any more: n2 brings
    // the bucket's copy in (at its first request).
    move_to(&n1, "acme", "n2");
    check(&n2);
    assert!(n2_copy.is_dir(), "{}", n2_copy.display());
}

#[test]
fn a_paused_owner_keeps_a_copy_the_bucket_cannot_replace() {
    if server().is_none() {
        return;
    }
    let prefix = unique_prefix("serve-pause-keep");
    let (n1, _d1) = start(&prefix, "n1");
    let (d2, _) = data_dir();
    let n2 = start_with(&prefix, "n2", d2.path(), &["--checkpoint-every", "0"]);
    // Created on n2, which takes no automatic checkpoints: the bucket has
    // no copy its log continues, so n2's disk alone has its data.
    let r = n2.query(
        Some(ADMIN),
        "CREATE TENANT solo; CREATE COLLECTION docs TENANT solo WITH (dimension: 2); \
         QUERY docs TENANT solo CREATE NODE { id: 'first', embedding: [1, 0] };",
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let copy = d2.path().join("data").join("tenants").join("solo");
    assert!(copy.is_dir(), "{}", copy.display());
    let started = std::sync::atomic::AtomicUsize::new(0);
    let answered = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let mut answered = Vec::new();
            for i in 0..8 {
                started.fetch_add(1, Ordering::SeqCst);
                let id = format!("w{i}");
                let r = write_point(&n2, "solo", &id);
                answered.push((id, r.status, r.text));
            }
            answered
        });
        while started.load(Ordering::SeqCst) < 3 {
            std::thread::sleep(Duration::from_millis(2));
        }
        n2.signal("STOP");
        // n1 takes the expired lease, fences the log, finds no copy to
        // take over from, gives the lease back and refuses.
        wait_until_silent(&n1, "n2");
        let r = n1.query_as(Some(ADMIN), "solo", "QUERY docs RETURN COUNT(*);");
        assert_eq!(r.status, 503, "{}", r.text);
        assert_eq!(
            r.body["error"]["code"], "cluster.tenant_unavailable",
            "{}",
            r.text
        );
        n2.signal("CONT");
        writer.join().unwrap()
    });
    let statuses: Vec<u16> = answered.iter().map(|a| a.1).collect();
    eprintln!("statuses of the writes to the paused node: {statuses:?}");
    // n2 was fenced (a write it was serving may have been refused), but
    // the lease names no copy in the bucket: it keeps its own, serves it
    // again, and every acknowledged write is there, through both nodes.
    assert_eq!(write_point(&n2, "solo", "after").status, 200);
    assert!(copy.is_dir(), "{}", copy.display());
    for via in [&n1, &n2] {
        for (id, status, text) in &answered {
            match status {
                200 => assert!(has_point(via, "solo", id), "{id} acknowledged but lost"),
                503 => assert!(text.contains("NotOwner"), "{text}"),
                _ => panic!("{id}: {status} {text}"),
            }
        }
        assert!(has_point(via, "solo", "first"));
        assert!(has_point(via, "solo", "after"));
    }
    assert!(copy.is_dir(), "{}", copy.display());
}

/// The status of `QUERY docs RETURN COUNT(*)` of `tenant` through `node`
/// with `key`, and the count when it succeeded.
fn count_with(node: &Server, key: &str, tenant: &str) -> (u16, Option<i64>) {
    let r = node.query_as(Some(key), tenant, "QUERY docs RETURN COUNT(*);");
    (r.status, r.body["results"][0]["rows"][0][0].as_i64())
}

/// Every tenant some node holds a live lease of, by `GET /v1/cluster`.
fn leased(via: &Server) -> Vec<String> {
    let r = via.bare("GET", "/v1/cluster", Some(ADMIN));
    assert_eq!(r.status, 200, "{}", r.text);
    let mut out = Vec::new();
    for node in r.body["nodes"].as_array().unwrap() {
        for t in node["tenants"].as_array().unwrap() {
            out.push(t.as_str().unwrap().to_string());
        }
    }
    out
}

#[test]
fn tenant_keys_and_settings_hold_on_every_node_and_after_a_take_over() {
    if server().is_none() {
        return;
    }
    let prefix = unique_prefix("serve-keys");
    let (n1, _d1) = start(&prefix, "n1");
    let (n2, _d2) = start(&prefix, "n2");
    tenant_with_points(&n1, &n1, "acme", 3);
    tenant_with_points(&n1, &n1, "beta", 1);
    // k1 made on acme's first owner, n1; then acme goes to n2, and k2 is
    // made through n1 (forwarded to n2).
    let (id1, k1) = n1.new_key("acme");
    move_to(&n1, "acme", "n2");
    let (_, k2) = n1.new_key("acme");
    for node in [&n1, &n2] {
        for key in [&k1, &k2] {
            assert_eq!(count_with(node, key, "acme"), (200, Some(3)));
        }
        // Listed by every node alike.
        let r = node.bare("GET", "/v1/tenants/acme/keys", Some(ADMIN));
        assert_eq!(r.body["keys"].as_array().unwrap().len(), 2, "{}", r.text);
    }

    // Before any lease is taken or request forwarded: an unknown key is
    // 401, a tenant key naming another tenant 403, whether or not that
    // tenant exists; neither takes a lease.
    let unknown = format!("pql_{}", "0".repeat(64));
    for tenant in ["ghost", "beta"] {
        let r = n2.query_as(Some(&unknown), tenant, "QUERY docs RETURN COUNT(*);");
        assert_eq!(r.status, 401, "{}", r.text);
        assert_eq!(r.owner, None);
        let r = n2.query_as(Some(&k1), tenant, "QUERY docs RETURN COUNT(*);");
        assert_eq!(r.status, 403, "{}", r.text);
        assert_eq!(r.owner, None);
        let r = n2.bare("GET", &format!("/v1/tenants/{tenant}/health"), Some(&k1));
        assert_eq!(r.status, 403, "{}", r.text);
    }
    let r = n2.query(Some(&k2), "QUERY docs TENANT ghost RETURN COUNT(*);");
    assert_eq!(r.status, 403, "{}", r.text);
    let held = leased(&n1);
    assert!(!held.contains(&"ghost".to_string()), "{held:?}");
    assert!(held.contains(&"beta".to_string()), "{held:?}");

    // k1 dropped through n1 (forwarded to acme's owner n2): refused through
    // both nodes at once, though n1 had just used it.
    let r = n1.bare(
        "DELETE",
        &format!("/v1/tenants/acme/keys/{id1}"),
        Some(ADMIN),
    );
    assert!(r.status < 300, "{}", r.text);
    for node in [&n1, &n2] {
        assert_eq!(count_with(node, &k1, "acme").0, 401);
        assert_eq!(count_with(node, &k2, "acme"), (200, Some(3)));
    }

    // An ALTER TENANT after the checkpoint (through n1, run by n2) goes to
    // acme's log with the writes.
    let r = n1.query(Some(ADMIN), "ALTER TENANT acme SET max_vectors = 4;");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(write_point(&n1, "acme", "p3").status, 200);

    // n2 killed: n1 takes acme over from the copy the move left in the
    // bucket, which still lists k1 and not k2, and has no max_vectors.
    // The bucket's key records decide: k2 works, k1 stays dropped; and
    // the log's ALTER TENANT is replayed.
    n2.signal_and_wait("KILL");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match count_with(&n1, &k2, "acme") {
            (200, n) => {
                assert_eq!(n, Some(4));
                break;
            }
            (status, _) => assert!(Instant::now() < deadline, "status {status}"),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(count_with(&n1, &k1, "acme").0, 401);
    let r = write_point(&n1, "acme", "p4");
    assert_eq!(r.status, 422, "{}", r.text);
    assert_eq!(r.body["error"]["limit"], 4, "{}", r.text);
    let r = n1.bare("GET", "/v1/tenants/acme/keys", Some(ADMIN));
    assert_eq!(r.body["keys"].as_array().unwrap().len(), 1, "{}", r.text);
    // Dropping the tenant withdraws its keys: a tenant created again with
    // the name has none of them.
    let r = n1.bare("DELETE", "/v1/tenants/acme", Some(ADMIN));
    assert!(r.status < 300, "{}", r.text);
    assert_eq!(count_with(&n1, &k2, "acme").0, 401);
}

#[test]
fn three_nodes_serve_a_hundred_tenants_apart_and_keep_them_through_a_kill() {
    if server().is_none() {
        return;
    }
    let prefix = unique_prefix("serve-hundred");
    let (n1, _d1) = start(&prefix, "n1");
    let (n2, _d2) = start(&prefix, "n2");
    let (n3, _d3) = start(&prefix, "n3");
    let nodes = [&n1, &n2, &n3];
    let tenants: Vec<String> = (0..100).map(|i| format!("t{i:03}")).collect();
    // Each tenant is created on one node, and written through random
    // nodes, with the same ids and collection name in every tenant.
    let mut seed: u64 = 0x5eed;
    let mut pick = |n: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize % n
    };
    for (i, t) in tenants.iter().enumerate() {
        let home = nodes[i % 3];
        let r = home.json(
            "POST",
            "/v1/tenants",
            Some(ADMIN),
            &serde_json::json!({"name": t}),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        let r = home.query_as(
            Some(ADMIN),
            t,
            "CREATE COLLECTION docs WITH (dimension: 2);",
        );
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let write = |via: &Server, t: &str, id: &str| {
        let r = via.query_as(
            Some(ADMIN),
            t,
            &format!("QUERY docs CREATE NODE {{ id: '{id}', embedding: [1, 2], owner: '{t}' }};"),
        );
        assert_eq!(r.status, 200, "{t} {id}: {}", r.text);
    };
    for id in ["p0", "p1"] {
        for t in &tenants {
            write(nodes[pick(3)], t, id);
        }
    }
    // n3 killed: its tenants are taken over by n1 and n2 (the writes wait
    // for its leases to expire), and every acknowledged write is kept.
    n3.signal_and_wait("KILL");
    for t in &tenants {
        write(nodes[pick(2)], t, "p2");
    }
    for t in &tenants {
        let via = nodes[pick(2)];
        let r = via.query_as(Some(ADMIN), t, "QUERY docs RETURN id, owner;");
        assert_eq!(r.status, 200, "{}", r.text);
        let rows = r.body["results"][0]["rows"].as_array().unwrap();
        let got: Vec<(String, String)> = rows
            .iter()
            .map(|row| {
                (
                    row[0].as_str().unwrap().into(),
                    row[1].as_str().unwrap().into(),
                )
            })
            .collect();
        let want: Vec<(String, String)> = ["p0", "p1", "p2"]
            .iter()
            .map(|id| (id.to_string(), t.clone()))
            .collect();
        assert_eq!(got, want, "{t}");
    }
    // Every tenant has one owner, and not the killed node.
    let r = n1.bare("GET", "/v1/cluster", Some(ADMIN));
    let mut owned: Vec<String> = Vec::new();
    for node in r.body["nodes"].as_array().unwrap() {
        let list = node["tenants"].as_array().unwrap();
        if node["node"] == "n3" {
            assert!(list.is_empty(), "{}", r.text);
        }
        owned.extend(list.iter().map(|t| t.as_str().unwrap().to_string()));
    }
    owned.sort();
    assert_eq!(owned, tenants);
}

#[test]
fn concurrent_writers_to_one_tenant_are_all_kept_when_its_owner_is_killed() {
    if server().is_none() {
        return;
    }
    let prefix = unique_prefix("serve-group");
    let (n1, _d1) = start(&prefix, "n1");
    let (n2, _d2) = start(&prefix, "n2");
    tenant_with_points(&n1, &n1, "acme", 1);
    move_to(&n1, "acme", "n2");
    // Eight writers at once on n2, whose records share log entries (group
    // commit), then n2 killed while they write.
    let acked = std::sync::Mutex::new(Vec::new());
    let written = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for w in 0..8 {
            let (n2, acked, written) = (&n2, &acked, &written);
            scope.spawn(move || {
                for i in 0..40 {
                    let id = format!("w{w}-{i}");
                    let body = format!(r#"{{"points": [{{"id": "{id}", "vector": [1, {i}]}}]}}"#);
                    let path = "/v1/tenants/acme/collections/docs/upsert";
                    if n2.try_post_json(path, ADMIN, &body) != Some(200) {
                        return;
                    }
                    acked.lock().unwrap().push(id);
                    written.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
        while written.load(Ordering::SeqCst) < 100 {
            std::thread::sleep(Duration::from_millis(2));
        }
        n2.signal_and_wait("KILL");
    });
    let acked = acked.into_inner().unwrap();
    assert!(acked.len() >= 100, "{}", acked.len());
    // n1 takes acme over: every acknowledged write is there.
    let deadline = Instant::now() + Duration::from_secs(60);
    let r = loop {
        let r = n1.query_as(Some(ADMIN), "acme", "QUERY docs RETURN id;");
        if r.status == 200 {
            break r;
        }
        assert!(Instant::now() < deadline, "{}", r.text);
        std::thread::sleep(Duration::from_millis(50));
    };
    let ids: std::collections::HashSet<&str> = r.body["results"][0]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row[0].as_str().unwrap())
        .collect();
    for id in &acked {
        assert!(ids.contains(id.as_str()), "{id} missing of {}", acked.len());
    }
}
