//! A TCP proxy to cut: it stands in for an object store that goes away in
//! the middle of a transfer, without touching the shared server.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A loopback TCP proxy in front of the server that can be "stopped": it
/// closes every connection and refuses new ones once `budget` bytes have
/// gone through towards the server.
pub struct Proxy {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    /// Set once the budget is spent and the connections are closed.
    pub stopped: Arc<AtomicBool>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `upstream`
    /// (`host:port`) until `budget` bytes went to it.
    pub fn start(upstream: String, budget: u64) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stopped = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let stop = stopped.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { break };
                if stop.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                conns.lock().unwrap().push(client.try_clone().unwrap());
                conns.lock().unwrap().push(server.try_clone().unwrap());
                let pump = |mut from: TcpStream, mut to: TcpStream, count: bool| {
                    let (stop, sent, conns) = (stop.clone(), sent.clone(), conns.clone());
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 64 * 1024];
                        loop {
                            let n = match from.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => n,
                            };
                            if count && sent.fetch_add(n as u64, Ordering::SeqCst) > budget {
                                stop.store(true, Ordering::SeqCst);
                                for c in conns.lock().unwrap().iter() {
                                    let _ = c.shutdown(Shutdown::Both);
                                }
                                break;
                            }
                            if to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                        let _ = to.shutdown(Shutdown::Write);
                    });
                };
                pump(
                    client.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                    true,
                );
                pump(server, client, false);
            }
        });
        Proxy { port, stopped }
    }
}
