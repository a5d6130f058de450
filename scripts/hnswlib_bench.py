#!/usr/bin/env python3
"""hnswlib on the same GloVe-50 split as examples/ann_bench.rs (issue 7).

Reads data/glove50.{base,queries}.f32 and data/glove50.gt.u32, which
`cargo run --release --example ann_bench` writes on first use. Builds with
2 threads, queries one at a time on one thread, median of 3 runs.

    pip install hnswlib numpy
    nice -n 5 python3 scripts/hnswlib_bench.py [--runs 3] [--threads 2]
"""
import argparse
import os
import statistics
import time

import hnswlib
import numpy as np

K = 10


def read_f32(path):
    with open(path, "rb") as f:
        rows, dim = np.fromfile(f, dtype="<u4", count=2)
        return np.fromfile(f, dtype="<f4").reshape(int(rows), int(dim))


def rss_kb(field="VmRSS"):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().strip()


def run(index, queries, gt, ef, runs, filt=None, limit=None):
    index.set_ef(ef)
    qs = queries if limit is None else queries[:limit]
    results = []
    for _ in range(runs):
        lat = []
        hits = 0
        t0 = time.perf_counter()
        for i, q in enumerate(qs):
            s = time.perf_counter()
            labels, _ = index.knn_query(q, k=K, num_threads=1, filter=filt)
            lat.append((time.perf_counter() - s) * 1e6)
            hits += len(set(labels[0].tolist()) & set(gt[i].tolist()))
        secs = time.perf_counter() - t0
        lat.sort()
        n = len(lat)
        results.append((n / secs, hits / (n * K), lat[n // 2], lat[min(n * 99 // 100, n - 1)]))
    results.sort()
    qps, rec, p50, p99 = results[len(results) // 2]
    return rec, qps, p50, p99


def filtered_gt(base, queries, modulus):
    ids = np.arange(0, base.shape[0], modulus)
    sims = queries @ base[ids].T
    top = np.argsort(-sims, axis=1)[:, :K]
    return ids[top]


def unfiltered(a, index, queries, gt):
    """Unfiltered recall/QPS/latency for each ef, one query at a time."""
    print(f"\n| ef | recall@10 | QPS (median of {a.runs}) | p50 µs | p99 µs |\n|---|---|---|---|---|")
    for ef in [int(x) for x in a.efs.split(",")]:
        rec, qps, p50, p99 = run(index, queries, gt, ef, a.runs)
        print(f"| {ef} | {rec:.4f} | {qps:.0f} | {p50:.0f} | {p99:.0f} |")



def filtered(a, index, base, queries):
    """Filtered recall/QPS with a Python callback (id % N == 0)."""
    print(f"\nfiltered (Python filter callback; 10%: all queries, 1% and 0.1%: first {a.filter_queries}):")
    print(f"| allowed | ef | recall@10 | QPS (median of {a.runs}) | p50 µs | p99 µs |\n|---|---|---|---|---|---|")
    index.set_num_threads(1)
    for modulus in (10, 100, 1000):
        nf = len(queries) if modulus == 10 else a.filter_queries
        fgt = filtered_gt(base, queries[:nf], modulus)
        for ef in (64, 128):
            rec, qps, p50, p99 = run(index, queries, fgt, ef, a.runs,
                                     filt=lambda i, m=modulus: i % m == 0, limit=nf)
            print(f"| {100 / modulus:.1f}% | {ef} | {rec:.4f} | {qps:.0f} | {p50:.0f} | {p99:.0f} |")
    print(f"load average: {loadavg()}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--efc", type=int, default=100)
    ap.add_argument("--efs", default="16,32,64,128,256")
    ap.add_argument("--filter-queries", type=int, default=100,
                    help="queries for the 1%% and 0.1%% filters (10%% uses all)")
    ap.add_argument("--only-queries", action="store_true",
                    help="load data/hnswlib/glove50.bin instead of building; unfiltered queries only")
    ap.add_argument("--only-filter", action="store_true",
                    help="load data/hnswlib/glove50.bin instead of building; filtered part only")
    ap.add_argument("--no-filter", action="store_true")
    a = ap.parse_args()

    base = read_f32("data/glove50.base.f32")
    queries = read_f32("data/glove50.queries.f32")
    gt = np.fromfile("data/glove50.gt.u32", dtype="<u4").reshape(-1, K)
    n, dim = base.shape
    print(f"hnswlib {getattr(hnswlib, '__version__', '?')}: base {n} x {dim}, queries {len(queries)}")
    print(f"load average at start: {loadavg()}")

    path = "data/hnswlib/glove50.bin"
    if a.only_filter or a.only_queries:
        index = hnswlib.Index(space="ip", dim=dim)
        index.load_index(path, max_elements=n)
        if a.only_queries:
            index.set_num_threads(1)
            unfiltered(a, index, queries, gt)
        else:
            filtered(a, index, base, queries)
        return
    rss0 = rss_kb()
    index = hnswlib.Index(space="ip", dim=dim)
    index.init_index(max_elements=n, ef_construction=a.efc, M=a.m, random_seed=100)
    t = time.perf_counter()
    index.add_items(base, np.arange(n), num_threads=a.threads)
    build = time.perf_counter() - t
    rss1 = rss_kb()
    print(f"build: {build:.1f} s with {a.threads} threads (M={a.m}, ef_construction={a.efc})")
    print(f"memory: RSS +{(rss1 - rss0) * 1024 / n:.0f} B/vector, peak RSS {rss_kb('VmHWM') // 1024} MB")
    index.set_num_threads(1)

    unfiltered(a, index, queries, gt)

    os.makedirs("data/hnswlib", exist_ok=True)
    t = time.perf_counter()
    index.save_index(path)
    save_ms = (time.perf_counter() - t) * 1e3
    size = os.path.getsize(path)
    del index
    t = time.perf_counter()
    index = hnswlib.Index(space="ip", dim=dim)
    index.load_index(path, max_elements=n)
    load_ms = (time.perf_counter() - t) * 1e3
    index.set_ef(64)
    index.knn_query(queries[0], k=K, num_threads=1)
    first_ms = (time.perf_counter() - t) * 1e3
    print(f"\nsave {save_ms:.0f} ms; file {size} B ({size / n:.0f} B/vector); load {load_ms:.1f} ms; "
          f"load + first query {first_ms:.1f} ms")

    if not a.no_filter:
        filtered(a, index, base, queries)
    print(f"\nload average at end: {loadavg()}")


if __name__ == "__main__":
    main()
