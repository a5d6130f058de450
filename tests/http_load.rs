//! `pql serve` under load, against the real binary on 127.0.0.1: tenant
//! isolation with 16 concurrent clients, and acknowledged writes across
//! SIGKILL and SIGTERM. Bounded in count and time.

mod http_common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_common::{data_dir, Server, ADMIN};
use serde_json::json;

const TENANTS: usize = 100;
const CLIENTS: usize = 16;

#[test]
fn sixteen_clients_on_a_hundred_tenants_never_see_another_tenants_data() {
    let (_dir, data) = data_dir();
    let s = Server::start(&data, Some(ADMIN), &[]);
    // Identical collection names and node ids in every tenant; each node
    // carries its tenant's name.
    let mut setup = String::new();
    for t in 0..TENANTS {
        setup.push_str(&format!(
            "CREATE TENANT t{t}; CREATE COLLECTION docs TENANT t{t} WITH (dimension: 2);\n"
        ));
    }
    assert_eq!(s.query(Some(ADMIN), &setup).status, 200);
    let keys: Vec<String> = (0..TENANTS)
        .map(|t| s.new_key(&format!("t{t}")).1)
        .collect();
    for (t, key) in keys.iter().enumerate() {
        let points: Vec<_> = (0..5)
            .map(|i| json!({"id": format!("n{i}"), "vector": [i as f32, 1.0], "attributes": {"owner": format!("t{t}")}}))
            .collect();
        let r = s.json(
            "POST",
            &format!("/v1/tenants/t{t}/collections/docs/upsert"),
            Some(key),
            &json!({ "points": points }),
        );
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let s = Arc::new(s);
    let keys = Arc::new(keys);
    let checked = Arc::new(Mutex::new(0usize));
    let threads: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (s, keys, checked) = (s.clone(), keys.clone(), checked.clone());
            std::thread::spawn(move || {
                let mut seed = c as u64 * 7919 + 1;
                for round in 0..60 {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    let t = (seed >> 33) as usize % TENANTS;
                    let key = &keys[t];
                    let owner = format!("t{t}");
                    // Reads of three kinds, and a write of the same ids.
                    let reply = match round % 4 {
                        0 => s.query(Some(key), "QUERY docs SIMILAR TO [1, 1] TOP 10 RETURN id, owner;"),
                        1 => s.query_as(Some(key), &owner, "QUERY docs WHERE EXISTS owner RETURN id, owner;"),
                        2 => s.json(
                            "POST",
                            &format!("/v1/tenants/{owner}/collections/docs/search"),
                            Some(key),
                            &json!({"vector": [0.5, 1.0], "top_k": 10, "return": ["id", "owner"]}),
                        ),
                        _ => s.json(
                            "POST",
                            &format!("/v1/tenants/{owner}/collections/docs/upsert"),
                            Some(key),
                            &json!({"points": [{"id": format!("n{}", round % 5), "vector": [1.0, 1.0], "attributes": {"owner": owner}}]}),
                        ),
                    };
                    assert_eq!(reply.status, 200, "{}", reply.text);
                    if round % 4 == 3 {
                        continue;
                    }
                    let rows = reply.body["results"][0]["rows"].as_array().unwrap().clone();
                    assert_eq!(rows.len(), 5, "{}", reply.text);
                    for row in rows {
                        assert_eq!(row[1], owner.as_str(), "client {c} saw another tenant's data");
                    }
                    *checked.lock().unwrap() += 1;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(*checked.lock().unwrap(), CLIENTS * 45);
}

/// Writers that upsert one point per request, remembering every id the
/// server acknowledged, until `stop`.
fn writers(
    s: &Arc<Server>,
    key: &str,
    stop: &Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<Vec<String>>> {
    (0..4)
        .map(|w| {
            let (s, key, stop) = (s.clone(), key.to_string(), stop.clone());
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                let deadline = Instant::now() + Duration::from_secs(20);
                for i in 0..10_000 {
                    if stop.load(Ordering::SeqCst) || Instant::now() > deadline {
                        break;
                    }
                    let id = format!("w{w}-{i}");
                    let body = json!({"points": [{"id": id, "vector": [1.0, 0.0]}]}).to_string();
                    // Errors (the server going away) end this writer.
                    let ok =
                        s.try_post_json("/v1/tenants/acme/collections/docs/upsert", &key, &body);
                    match ok {
                        Some(200) => acked.push(id),
                        Some(503) | None => break,
                        Some(other) => panic!("status {other}"),
                    }
                }
                acked
            })
        })
        .collect()
}

fn prepare(data: &std::path::Path) -> String {
    let s = Server::start(data, Some(ADMIN), &[]);
    let r = s.query(
        Some(ADMIN),
        "CREATE TENANT acme; CREATE COLLECTION docs TENANT acme WITH (dimension: 2);",
    );
    assert_eq!(r.status, 200, "{}", r.text);
    s.new_key("acme").1
}

fn present(s: &Server, key: &str, ids: &[String]) -> usize {
    let r = s.query(Some(key), "QUERY docs LIMIT 1000000 RETURN id;");
    assert_eq!(r.status, 200, "{}", r.text);
    let stored: std::collections::HashSet<String> = r.body["results"][0]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row[0].as_str().unwrap().to_string())
        .collect();
    ids.iter().filter(|id| stored.contains(*id)).count()
}

/// Writes under load, `signal` to the server, then a restart: the exit
/// code, the writes acknowledged, and how many of them are present.
fn load_then_signal(signal: &str) -> (Option<i32>, usize, usize) {
    let (_dir, data) = data_dir();
    let key = prepare(&data);
    let s = Arc::new(Server::start(&data, Some(ADMIN), &[]));
    let stop = Arc::new(AtomicBool::new(false));
    let handles = writers(&s, &key, &stop);
    // Let some writes land, then signal while more are in flight.
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && stored(&s, &key) < 100 {
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = s.signal_and_wait(signal).code();
    stop.store(true, Ordering::SeqCst);
    let acked: Vec<String> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let again = Server::start(&data, Some(ADMIN), &[]);
    (status, acked.len(), present(&again, &key, &acked))
}

fn stored(s: &Server, key: &str) -> i64 {
    let r = s.query(Some(key), "QUERY docs RETURN COUNT(*);");
    r.body["results"][0]["rows"][0][0].as_i64().unwrap_or(0)
}

#[test]
fn sigkill_during_writes_keeps_every_acknowledged_write() {
    let (_status, acked, present) = load_then_signal("KILL");
    assert!(acked >= 100, "only {acked} writes acknowledged");
    assert_eq!(present, acked, "acknowledged writes lost after SIGKILL");
}

#[test]
fn sigterm_during_load_exits_zero_and_loses_nothing() {
    let (status, acked, present) = load_then_signal("TERM");
    assert_eq!(status, Some(0), "exit status after SIGTERM");
    assert!(acked >= 100, "only {acked} writes acknowledged");
    assert_eq!(present, acked, "acknowledged writes lost after SIGTERM");
}
