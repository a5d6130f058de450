"""Read latency of one tenant while its owner checkpoints it (issue 14).

Starts `pql serve --node-id n1 --checkpoint-every N` against the S3 store in
AWS_ENDPOINT_URL (SeaweedFS on loopback), loads a tenant with ROWS random
50-d vectors, then for SECONDS runs one reader (similarity queries, one
connection) while a writer adds one point every 50 ms, so that the owner
checkpoints the tenant every N writes. Prints the read latency p50 / p99 /
max and how many checkpoints the lease recorded.

    python3 bench/checkpoint_reads.py --pql target/release/pql --rows 50000
"""
import argparse, http.client, json, os, random, secrets, subprocess, tempfile, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("--pql", default="target/release/pql")
ap.add_argument("--rows", type=int, default=50000)
ap.add_argument("--seconds", type=float, default=20)
ap.add_argument("--every", type=int, default=20)
a = ap.parse_args()

tmp = tempfile.mkdtemp()
secret = os.path.join(tmp, "secret")
open(secret, "w").write("bench-secret-0123456789\n")
prefix = f"bench-ckpt-{secrets.token_hex(4)}"
env = dict(os.environ, PQL_ADMIN_KEY="bench-admin-key-0123456789")
proc = subprocess.Popen(
    [a.pql, "--data", os.path.join(tmp, "data"), "--object-store",
     f"s3://{os.environ.get('PQL_TEST_BUCKET', 'pql-test')}/{prefix}", "serve", "--listen",
     "127.0.0.1:0", "--node-id", "n1", "--cluster-secret-file", secret,
     "--checkpoint-every", str(a.every)],
    env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
addr = proc.stdout.readline().strip().split("http://")[1]
host, port = addr.split(":")
H = {"Authorization": "Bearer bench-admin-key-0123456789", "Content-Type": "text/plain"}

def post(conn, body, tenant="big"):
    h = dict(H)
    if tenant:
        h["X-Tenant-ID"] = tenant
    conn.request("POST", "/v1/query", body.encode(), h)
    r = conn.getresponse(); data = r.read()
    if r.status != 200:
        raise SystemExit(f"{r.status} {data[:300]}")
    return json.loads(data)

rnd = random.Random(7)
vec = lambda: "[" + ",".join(f"{rnd.uniform(-1, 1):.4f}" for _ in range(50)) + "]"
c = http.client.HTTPConnection(host, int(port))
post(c, "CREATE TENANT big;", tenant=None)
post(c, "CREATE COLLECTION docs WITH (dimension: 50);")
for b in range(0, a.rows, 1000):
    nodes = ", ".join(f"{{ id: 'n{i}', embedding: {vec()} }}" for i in range(b, min(b + 1000, a.rows)))
    post(c, f"QUERY docs CREATE NODES [{nodes}];")
queries = [f"QUERY docs SIMILAR TO {vec()} TOP 10 RETURN _id;" for _ in range(200)]
post(c, queries[0])

stop = time.time() + a.seconds
lat = []
def reader():
    conn = http.client.HTTPConnection(host, int(port))
    i = 0
    while time.time() < stop:
        t = time.perf_counter(); post(conn, queries[i % len(queries)]); lat.append(time.perf_counter() - t); i += 1
def writer():
    conn = http.client.HTTPConnection(host, int(port))
    i = 0
    while time.time() < stop:
        post(conn, f"QUERY docs CREATE NODE {{ id: 'w{i}', embedding: {vec()} }};"); i += 1
        time.sleep(0.05)
    return i
ts = [threading.Thread(target=reader), threading.Thread(target=writer)]
[t.start() for t in ts]; [t.join() for t in ts]
c = http.client.HTTPConnection(host, int(port))
c.request("GET", "/v1/cluster", headers=H); cl = json.loads(c.getresponse().read())
proc.terminate(); proc.wait()
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1e3
print(f"rows {a.rows}, every {a.every}: {len(lat)} reads, p50 {q(0.5):.2f} ms, p99 {q(0.99):.2f} ms, "
      f"max {lat[-1]*1e3:.1f} ms; checkpoint at entry {cl['nodes'][0]['checkpoints']}")
