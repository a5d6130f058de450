//! `pql serve` end to end, against the real binary on 127.0.0.1: every
//! endpoint, the auth matrix, errors and bad input.

mod http_common;

use http_common::{data_dir, Server, ADMIN};
use serde_json::json;

/// A server with tenants `acme` (collection `docs`, dimension 2) and
/// `globex`, and a key for each.
fn setup(extra: &[&str]) -> (tempfile::TempDir, Server, String, String) {
    let (dir, data) = data_dir();
    let server = Server::start(&data, Some(ADMIN), extra);
    for t in ["acme", "globex"] {
        let r = server.json("POST", "/v1/tenants", Some(ADMIN), &json!({"name": t}));
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let r = server.query(
        Some(ADMIN),
        "CREATE COLLECTION docs TENANT acme WITH (dimension: 2);",
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let acme = server.new_key("acme").1;
    let globex = server.new_key("globex").1;
    (dir, server, acme, globex)
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
fn data_plane_json_and_pql() {
    let (_dir, s, acme, _) = setup(&[]);
    let points = json!({"points": [
        {"id": "p1", "vector": [1.0, 0.0], "attributes": {"category": "tools", "price": 5}},
        {"id": "p2", "vector": [0.9, 0.1], "attributes": {"category": "tools", "price": 50}},
        {"id": "p3", "vector": [0.0, 1.0], "attributes": {"category": "toys", "price": 3}},
    ]});
    let r = s.json(
        "POST",
        "/v1/tenants/acme/collections/docs/upsert",
        Some(&acme),
        &points,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(count(&s, "acme"), 3);

    let search = json!({"vector": [1.0, 0.0], "filter": "category = 'tools' AND price < 10", "top_k": 5, "ef": 64});
    let r = s.json(
        "POST",
        "/v1/tenants/acme/collections/docs/search",
        Some(&acme),
        &search,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let result = &r.body["results"][0];
    let id_col = result["columns"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c == "_id")
        .unwrap();
    let ids: Vec<&str> = result["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row[id_col].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["p1"]);

    // A filter is parsed on its own: no statement can ride in it.
    let evil = json!({"vector": [1.0, 0.0], "filter": "price < 10; DROP TENANT acme"});
    let r = s.json(
        "POST",
        "/v1/tenants/acme/collections/docs/search",
        Some(&acme),
        &evil,
    );
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.body["error"]["kind"], "ParseError");

    // PQL through X-Tenant-ID and through the key's own tenant.
    let r = s.query_as(
        Some(&acme),
        "acme",
        "QUERY docs SIMILAR TO [0, 1] TOP 1 RETURN id;",
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["results"][0]["rows"][0][0], "p3");
    let r = s.query(Some(&acme), "QUERY docs RETURN COUNT(*);");
    assert_eq!(r.body["results"][0]["rows"][0][0], 3, "{}", r.text);
    assert!(r.body["results"][0]["elapsed_ms"].is_number());

    // Several statements stop at the first error; those before it are durable.
    let r = s.query(
        Some(&acme),
        "QUERY docs CREATE NODE { id: 'p4', embedding: [1, 1] };\nQUERY docs CREATE NODE { id: 'p4', embedding: [1, 1] };\nQUERY docs CREATE NODE { id: 'p5', embedding: [1, 1] };",
    );
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.body["results"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["error"]["statement"], 1);
    assert_eq!(r.body["error"]["kind"], "NodeExists");
    assert_eq!(r.body["error"]["line"], 2);
    assert_eq!(count(&s, "acme"), 4);

    // A parse error runs nothing.
    let r = s.query(
        Some(&acme),
        "QUERY docs CREATE NODE { id: 'p9', embedding: [1, 1] }; QUERY docs TOPP 3;",
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["code"], "parse.syntax");
    assert!(r.body["error"]["line"].is_number());
    assert_eq!(count(&s, "acme"), 4);

    // Unknown collection: 404; a wrong dimension in a batch changes nothing.
    let r = s.json(
        "POST",
        "/v1/tenants/acme/collections/nope/search",
        Some(&acme),
        &json!({"vector": [1.0, 0.0]}),
    );
    assert_eq!(r.status, 404, "{}", r.text);
    let bad =
        json!({"points": [{"id": "q1", "vector": [1.0, 0.0]}, {"id": "q2", "vector": [1.0]}]});
    let r = s.json(
        "POST",
        "/v1/tenants/acme/collections/docs/upsert",
        Some(&acme),
        &bad,
    );
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(count(&s, "acme"), 4);
}

#[test]
fn admin_plane_health_metrics_and_openapi() {
    let (_dir, s, acme, _) = setup(&[]);
    for t in ["t1", "t2", "t3"] {
        let body = json!({"name": t, "options": {"tier": "free"}});
        assert_eq!(
            s.json("POST", "/v1/tenants", Some(ADMIN), &body).status,
            201
        );
    }
    let r = s.json("POST", "/v1/tenants", Some(ADMIN), &json!({"name": "t1"}));
    assert_eq!(r.status, 409);
    assert_eq!(r.body["error"]["kind"], "TenantExists");

    // Paged, stable order.
    let r = s.bare("GET", "/v1/tenants?limit=2", Some(ADMIN));
    assert_eq!(r.status, 200, "{}", r.text);
    let names = |r: &http_common::Reply| -> Vec<String> {
        r.body["tenants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&r), ["acme", "globex"]);
    assert_eq!(r.body["next_after"], "globex");
    let r = s.bare("GET", "/v1/tenants?limit=2&after=globex", Some(ADMIN));
    assert_eq!(names(&r), ["t1", "t2"]);
    let r = s.bare("GET", "/v1/tenants?limit=2&after=t2", Some(ADMIN));
    assert_eq!(names(&r), ["t3"]);
    assert!(r.body["next_after"].is_null());

    let r = s.bare("GET", "/v1/tenants/t1", Some(ADMIN));
    assert_eq!(r.status, 200);
    assert_eq!(r.body["tier"], "free");
    let r = s.json(
        "PATCH",
        "/v1/tenants/t1",
        Some(ADMIN),
        &json!({"options": {"tier": "pro"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        s.bare("GET", "/v1/tenants/t1", Some(ADMIN)).body["tier"],
        "pro"
    );

    let r = s.bare("POST", "/v1/tenants/t2/archive", Some(ADMIN));
    assert_eq!(r.status, 200, "{}", r.text);
    let r = s.bare("GET", "/v1/tenants?status=archived", Some(ADMIN));
    assert_eq!(names(&r), ["t2"]);
    assert_eq!(
        s.bare("POST", "/v1/tenants/t2/restore", Some(ADMIN)).status,
        200
    );
    assert_eq!(s.bare("DELETE", "/v1/tenants/t3", Some(ADMIN)).status, 200);
    assert_eq!(s.bare("GET", "/v1/tenants/t3", Some(ADMIN)).status, 404);

    // Tiers: created, named by a tenant (409 on DROP), listed, dropped.
    let gold = json!({"name": "gold", "settings": {"max_vectors": 5}});
    let r = s.json("POST", "/v1/tiers", Some(ADMIN), &gold);
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(s.json("POST", "/v1/tiers", Some(ADMIN), &gold).status, 409);
    let r = s.json(
        "PATCH",
        "/v1/tenants/t1",
        Some(ADMIN),
        &json!({"options": {"tier": "gold"}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let t1 = s.bare("GET", "/v1/tenants/t1", Some(ADMIN)).body;
    assert_eq!(t1["limit_vectors"], 5);
    assert_eq!(t1["limit_vectors_source"], "tier");
    let r = s.bare("DELETE", "/v1/tiers/gold", Some(ADMIN));
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.body["error"]["kind"], "TierInUse");
    let r = s.bare("GET", "/v1/tiers", Some(ADMIN));
    let gold = r.body["tiers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "gold")
        .cloned()
        .unwrap();
    assert_eq!(
        (gold["tenants"].clone(), gold["max_vectors"].clone()),
        (json!(1), json!(5))
    );
    let r = s.json(
        "PATCH",
        "/v1/tiers/gold",
        Some(ADMIN),
        &json!({"settings": {"max_vectors": 6}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        s.bare("GET", "/v1/tenants/t1", Some(ADMIN)).body["limit_vectors"],
        6
    );
    let empty = json!({"settings": {}});
    assert_eq!(
        s.json("PATCH", "/v1/tiers/gold", Some(ADMIN), &empty)
            .status,
        400
    );
    let r = s.json(
        "PATCH",
        "/v1/tiers/ghost",
        Some(ADMIN),
        &json!({"settings": {"max_qps": 1}}),
    );
    assert_eq!(r.status, 404, "{}", r.text);
    let r = s.query(
        Some(ADMIN),
        "ALTER TENANT t1 SET tier = 'pro'; ALTER TIER gold SET max_qps = 1;",
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(s.bare("DELETE", "/v1/tiers/gold", Some(ADMIN)).status, 200);
    assert_eq!(s.bare("DELETE", "/v1/tiers/gold", Some(ADMIN)).status, 404);
    assert_eq!(s.bare("GET", "/v1/tiers", Some(acme.as_str())).status, 403);

    let r = s.bare("GET", "/v1/tenants/acme/usage?period=2026-01", Some(ADMIN));
    assert_eq!(r.status, 200, "{}", r.text);
    let r = s.bare("GET", "/v1/tenants/acme/usage?period=bad", Some(ADMIN));
    assert_eq!(r.status, 400, "{}", r.text);
    let r = s.bare("GET", "/v1/stats", Some(ADMIN));
    assert_eq!(r.status, 200);
    assert!(r.body["tenants"].as_i64().unwrap() >= 4, "{}", r.text);

    // Keys: list (never the key), revoke.
    let (id, key) = s.new_key("acme");
    let r = s.bare("GET", "/v1/tenants/acme/keys", Some(ADMIN));
    assert_eq!(r.status, 200);
    assert_eq!(r.body["keys"].as_array().unwrap().len(), 2);
    assert!(!r.text.contains(&key));
    assert_eq!(s.query(Some(&key), "SHOW COLLECTIONS;").status, 200);
    let r = s.bare(
        "DELETE",
        &format!("/v1/tenants/acme/keys/{id}"),
        Some(ADMIN),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(s.query(Some(&key), "SHOW COLLECTIONS;").status, 401);
    let r = s.bare(
        "DELETE",
        &format!("/v1/tenants/acme/keys/{id}"),
        Some(ADMIN),
    );
    assert_eq!(r.status, 404);

    // Health.
    assert_eq!(s.bare("GET", "/healthz", None).status, 200);
    assert_eq!(s.bare("GET", "/readyz", None).status, 200);
    let r = s.bare("GET", "/v1/tenants/acme/health", Some(&acme));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "active");
    assert!(r.body["loaded"].is_boolean());
    assert!(r.body["quotas_near_limit"].is_array());

    // Metrics and the API description.
    let r = s.bare("GET", "/metrics", Some(ADMIN));
    assert_eq!(r.status, 200);
    for series in [
        "pql_http_requests_total",
        "pql_http_request_duration_seconds",
        "pql_statements_total",
        "pql_tenants{status=\"active\"}",
        "pql_pool_events{kind=\"loads\"}",
        "pql_disk_bytes",
    ] {
        assert!(r.text.contains(series), "{series} missing:\n{}", r.text);
    }
    assert!(
        !r.text.contains("tenant=\""),
        "per-tenant series are off by default"
    );
    let r = s.bare("GET", "/v1/openapi.json", None);
    assert_eq!(r.status, 200);
    for path in ["/v1/query", "/v1/tenants/{tenant}/keys", "/metrics"] {
        assert!(r.body["paths"][path].is_object(), "{path}");
    }
    assert_eq!(s.bare("GET", "/v1/nope", Some(ADMIN)).status, 404);
}

#[test]
fn auth_matrix() {
    let (_dir, s, acme, globex) = setup(&[]);
    let (revoked_id, revoked) = s.new_key("acme");
    // Used once (so the server has verified it) before it is revoked.
    let r = s.query(Some(&revoked), "QUERY docs RETURN COUNT(*);");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        s.bare(
            "DELETE",
            &format!("/v1/tenants/acme/keys/{revoked_id}"),
            Some(ADMIN)
        )
        .status,
        200
    );
    let upsert = json!({"points": [{"id": "m1", "vector": [1.0, 0.0]}]});
    // (name, request) per endpoint class; each is about tenant acme.
    type Call<'a> = Box<dyn Fn(Option<&str>) -> u16 + 'a>;
    let classes: Vec<(&str, Call)> = vec![
        (
            "query",
            Box::new(|k| s.query_as(k, "acme", "QUERY docs RETURN COUNT(*);").status),
        ),
        (
            "upsert",
            Box::new(|k| {
                s.json(
                    "POST",
                    "/v1/tenants/acme/collections/docs/upsert",
                    k,
                    &upsert,
                )
                .status
            }),
        ),
        (
            "search",
            Box::new(|k| {
                s.json(
                    "POST",
                    "/v1/tenants/acme/collections/docs/search",
                    k,
                    &json!({"vector": [1.0, 0.0]}),
                )
                .status
            }),
        ),
        (
            "health",
            Box::new(|k| s.bare("GET", "/v1/tenants/acme/health", k).status),
        ),
        (
            "admin",
            Box::new(|k| s.bare("GET", "/v1/tenants/acme", k).status),
        ),
        ("metrics", Box::new(|k| s.bare("GET", "/metrics", k).status)),
    ];
    for (class, call) in &classes {
        let is_admin_only = matches!(*class, "admin" | "metrics");
        assert_eq!(call(None), 401, "{class}: no key");
        assert_eq!(call(Some("pql_wrong")), 401, "{class}: wrong key");
        assert_eq!(call(Some(&revoked)), 401, "{class}: revoked key");
        assert_eq!(call(Some(&globex)), 403, "{class}: another tenant's key");
        assert_eq!(
            call(Some(&acme)),
            if is_admin_only { 403 } else { 200 },
            "{class}: own key"
        );
        assert_eq!(call(Some(ADMIN)), 200, "{class}: admin key");
    }
    // A tenant key naming another tenant: 403, whether or not it exists.
    for other in ["globex", "no-such-tenant"] {
        let r = s.query(
            Some(&acme),
            &format!("QUERY docs TENANT {other} RETURN COUNT(*);"),
        );
        assert_eq!(r.status, 403, "{other}: {}", r.text);
        let r = s.query_as(Some(&acme), other, "SHOW COLLECTIONS;");
        assert_eq!(r.status, 403, "{other}");
        let path = format!("/v1/tenants/{other}/collections/docs/search");
        assert_eq!(
            s.json("POST", &path, Some(&acme), &json!({"vector": [1.0, 0.0]}))
                .status,
            403
        );
        assert_eq!(
            s.bare("GET", &format!("/v1/tenants/{other}/health"), Some(&acme))
                .status,
            403
        );
    }
    // Admin statements, and a body where only a later statement is
    // refused: nothing runs.
    let before = count(&s, "acme");
    for text in [
        "CREATE TENANT evil;",
        "SHOW TENANTS;",
        "CREATE API KEY FOR TENANT acme;",
        "CREATE TIER evil WITH (max_vectors: 1000000000);",
        "ALTER TIER free SET max_vectors = 1000000000;",
        "DROP TIER IF EXISTS evil;",
        "SHOW TIERS;",
        "QUERY docs CREATE NODE { id: 'z1', embedding: [1, 1] }; QUERY docs TENANT globex RETURN COUNT(*);",
        "QUERY docs CREATE NODE { id: 'z2', embedding: [1, 1] }; USE TENANT globex; QUERY docs RETURN COUNT(*);",
    ] {
        let r = s.query(Some(&acme), text);
        assert_eq!(r.status, 403, "{text}: {}", r.text);
    }
    assert_eq!(count(&s, "acme"), before);
    assert_eq!(s.bare("GET", "/v1/tenants/evil", Some(ADMIN)).status, 404);
    // Health probes and the API description need no key.
    assert_eq!(s.bare("GET", "/healthz", None).status, 200);
    assert_eq!(s.bare("GET", "/readyz", None).status, 200);
    assert_eq!(s.bare("GET", "/v1/openapi.json", None).status, 200);
}

#[test]
fn bad_input_gets_a_clear_4xx_and_changes_nothing() {
    let (_dir, s, acme, _) = setup(&["--body-limit", "4096", "--body-timeout", "1"]);
    let path = "/v1/tenants/acme/collections/docs/upsert";
    let before = count(&s, "acme");
    let check = |what: &str, status: u16, expected: u16| {
        assert_eq!(status, expected, "{what}");
    };

    let r = s.call(
        "POST",
        path,
        Some(&acme),
        &[],
        Some(("application/json", b"{\"points\": [")),
    );
    check("malformed JSON", r.status, 400);
    assert_eq!(r.body["error"]["code"], "http.bad_request");
    let r = s.call(
        "POST",
        path,
        Some(&acme),
        &[],
        Some(("text/plain", b"{\"points\": []}")),
    );
    check("wrong content type", r.status, 415);
    let r = s.call(
        "POST",
        "/v1/query",
        Some(&acme),
        &[],
        Some(("application/json", b"SHOW COLLECTIONS;")),
    );
    check("JSON to the query endpoint", r.status, 415);
    let big = format!(
        "{{\"points\": [{}]}}",
        (0..400)
            .map(|i| format!("{{\"id\": \"b{i}\", \"vector\": [1.0, 0.0]}}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let r = s.call(
        "POST",
        path,
        Some(&acme),
        &[],
        Some(("application/json", big.as_bytes())),
    );
    check("body over the limit", r.status, 413);
    assert_eq!(r.body["error"]["code"], "http.body_too_large");
    let r = s.call(
        "POST",
        "/v1/query",
        Some(&acme),
        &[],
        Some(("text/plain", b"QUERY docs \xff\xfe;")),
    );
    check("non-UTF-8", r.status, 400);
    let long = "x".repeat(10_000);
    let r = s.call(
        "POST",
        "/v1/query",
        Some(&acme),
        &[("X-Long", &long)],
        Some(("text/plain", b"SHOW COLLECTIONS;")),
    );
    check("10,000-character header", r.status, 431);
    let r = s.json(
        "POST",
        path,
        Some(&acme),
        &json!({"points": [{"id": "u1", "vector": [1.0, 0.0], "colour": "red"}]}),
    );
    check("unknown field", r.status, 400);

    // A slow client: headers, then part of the body, then nothing.
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {acme}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"points\": [",
        s.addr
    );
    let (status, body) = s.raw(head.as_bytes());
    check("slow client", status, 408);
    assert!(body.contains("http.timeout"), "{body}");

    assert_eq!(count(&s, "acme"), before, "bad input changed nothing");
}

#[test]
fn local_development_mode() {
    let (_dir, data) = data_dir();
    // Without an admin key only loopback is allowed.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pql"))
        .arg("--data")
        .arg(&data)
        .args(["serve", "--listen", "0.0.0.0:0"])
        .env_remove("PQL_ADMIN_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
    // On loopback, requests need no key.
    let s = Server::start(&data, None, &[]);
    let r = s.query(
        None,
        "CREATE TENANT dev; CREATE TENANT other; CREATE COLLECTION docs TENANT other WITH (dimension: 2); SHOW TENANTS;",
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(s.bare("GET", "/metrics", None).status, 200);

    // A request that presents a tenant key is still bound to its tenant.
    let r = s.bare("POST", "/v1/tenants/dev/keys", None);
    assert_eq!(r.status, 201, "{}", r.text);
    let dev = r.body["key"].as_str().unwrap().to_string();
    let r = s.query(Some(&dev), "CREATE COLLECTION docs WITH (dimension: 2);");
    assert_eq!(r.status, 200, "own tenant: {}", r.text);
    let refused = [
        s.query(Some(&dev), "QUERY docs TENANT other RETURN COUNT(*);"),
        s.query_as(Some(&dev), "other", "SHOW COLLECTIONS;"),
        s.query(Some(&dev), "CREATE TENANT third;"),
        s.bare("GET", "/v1/tenants/other", Some(&dev)),
        s.bare("GET", "/v1/tenants/other/health", Some(&dev)),
        s.bare("GET", "/metrics", Some(&dev)),
    ];
    for r in refused {
        assert_eq!(r.status, 403, "{}", r.text);
    }
    // An unknown key is refused, not taken for "no key".
    let r = s.query(Some("pql_not-a-key"), "SHOW TENANTS;");
    assert_eq!(r.status, 401, "{}", r.text);
    let r = s.query(None, "SHOW TENANTS;");
    assert_eq!(r.body["results"][0]["rows"].as_array().unwrap().len(), 2);
}

#[test]
fn a_client_too_slow_to_send_its_headers_is_disconnected() {
    use std::io::{Read, Write};
    let (_dir, data) = data_dir();
    let s = Server::start(&data, Some(ADMIN), &["--header-timeout", "0.5"]);
    let mut tcp = std::net::TcpStream::connect(&s.addr).unwrap();
    // A bound on the test's wait, far above the timeout.
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    tcp.write_all(b"POST /v1/query HTTP/1.1\r\nHost: x\r\nAuthorization: Bea")
        .unwrap();
    let mut buf = [0u8; 256];
    match tcp.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("expected the connection closed, got {other:?}"),
    }
    // The server still serves others.
    assert_eq!(s.bare("GET", "/healthz", None).status, 200);
}

#[test]
fn metrics_public_serves_metrics_without_a_key() {
    let (_dir, data) = data_dir();
    let s = Server::start(&data, Some(ADMIN), &["--metrics-public"]);
    let r = s.bare("GET", "/metrics", None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("pql_http_requests"), "{}", r.text);
    // Only /metrics: the rest still needs a key.
    assert_eq!(s.query(None, "SHOW TENANTS;").status, 401);
}

#[test]
fn per_tenant_series_are_bounded_by_top_n() {
    let (_dir, data) = data_dir();
    let s = Server::start(&data, Some(ADMIN), &["--tenant-metrics-top", "2"]);
    for (t, n) in [("a", 1), ("b", 3), ("c", 2)] {
        s.query(Some(ADMIN), &format!("CREATE TENANT {t};"));
        for _ in 0..n {
            s.query(Some(ADMIN), &format!("SHOW COLLECTIONS TENANT {t};"));
        }
    }
    let r = s.bare("GET", "/metrics", Some(ADMIN));
    let lines: Vec<&str> = r
        .text
        .lines()
        .filter(|l| l.starts_with("pql_tenant_statements{"))
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("tenant=\"b\"")));
    assert!(lines.iter().any(|l| l.contains("tenant=\"c\"")));
}
