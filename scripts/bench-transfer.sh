#!/usr/bin/env bash
# Benchmarks EXPORT TENANT / IMPORT TENANT and `pql import` (BENCHMARKS.md,
# "Tenant export/import and bulk import"). Synthetic data: N rows of
# Gaussian vectors, or for the bulk import the rows of a raw f32 file. Usage:
#   scripts/bench-transfer.sh [N_BIG=100000] [DIM_BIG=384] [N_BULK=100000] [DIM_BULK=50]
# Environment: RAW=FILE takes the bulk rows from FILE (u32 rows, u32 dim,
# then f32s, e.g. GloVe's glove50.base.f32; N_BULK/DIM_BULK are then the
# file's, and the .npy is written with numpy); BULK_ONLY=1 skips the tenant
# export/import; TEXT=0 skips the CREATE NODES text path.
# Needs target/release/pql (cargo build --release) and /usr/bin/time.
set -euo pipefail
N_BIG=${1:-100000}; DIM_BIG=${2:-384}; N_BULK=${3:-100000}; DIM_BULK=${4:-50}
RAW=${RAW:-}; BULK_ONLY=${BULK_ONLY:-0}; TEXT=${TEXT:-1}
PQL=${PQL:-target/release/pql}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

gen() { # gen N DIM OUT_PREFIX [RAW]: writes OUT.npy, OUT.jsonl and OUT.pql (CREATE NODES text)
python3 - "$@" <<'PY'
import array, json, random, sys
n, dim, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
raw = sys.argv[4] if len(sys.argv) > 4 else ""
random.seed(1)
if raw:
    import numpy as np
    n, dim = np.fromfile(raw, dtype="<u4", count=2)
    rows = np.fromfile(raw, dtype="<f4", offset=8).reshape(n, dim)
    np.save(out + ".npy", rows)
header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (n, dim)
header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
with open(out + ".npy", "ab" if raw else "wb") as npy, open(out + ".jsonl", "w") as jl, open(out + ".pql", "w") as pql:
    if not raw:
        npy.write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode())
    batch = []
    for i in range(n):
        if raw:
            v = [float(str(x)) for x in rows[i]]  # float32 shortest round trip
        else:
            v = [round(random.gauss(0, 1), 5) for _ in range(dim)]
            npy.write(array.array("f", v).tobytes())
        jl.write(json.dumps({"id": str(i), "embedding": v}) + "\n")
        batch.append('{ id: "%d", embedding: [%s] }' % (i, ", ".join(map(str, v))))
        if len(batch) == 1000 or i == n - 1:
            pql.write("QUERY c TENANT t CREATE NODES [%s];\n" % ", ".join(batch))
            batch = []
PY
}

measure() { # measure LABEL CMD...: prints wall seconds and peak RSS (MB)
  local label=$1; shift
  /usr/bin/time -v "$@" > "$WORK/out" 2> "$WORK/time" || { cat "$WORK/time"; exit 1; }
  local wall rss
  wall=$(grep "Elapsed (wall clock)" "$WORK/time" | awk '{print $NF}')
  rss=$(grep "Maximum resident" "$WORK/time" | awk '{print $NF}')
  echo "$label: wall $wall, peak RSS $((rss / 1024)) MB"
}

fresh() { rm -rf "$1"; "$PQL" --data "$1" -e "CREATE TENANT t; CREATE COLLECTION c TENANT t WITH (metric: 'l2');" > /dev/null; }

echo "== bulk import, ${RAW:-$N_BULK x $DIM_BULK}"
gen "$N_BULK" "$DIM_BULK" "$WORK/bulk" $RAW
# The first row is the probe of the first query after each import.
QB=$(head -1 "$WORK/bulk.jsonl" | python3 -c "import json, sys; print(json.load(sys.stdin)['embedding'])")
for kind in npy jsonl; do
  fresh "$WORK/d-$kind"
  measure "pql import .$kind" "$PQL" --data "$WORK/d-$kind" import --tenant t --collection c "$WORK/bulk.$kind"
  grep -o "[0-9]* rows imported.*" "$WORK/time" || true
  measure "first query after (new process)" "$PQL" --data "$WORK/d-$kind" -e "QUERY c TENANT t SIMILAR TO $QB TOP 10;"
done
if [ "$TEXT" = 1 ]; then
  fresh "$WORK/d-text"
  measure "CREATE NODES text (pql run)" "$PQL" --data "$WORK/d-text" run "$WORK/bulk.pql"
fi
[ "$BULK_ONLY" = 1 ] && exit 0

echo "== tenant export/import, $N_BIG x $DIM_BIG"
gen "$N_BIG" "$DIM_BIG" "$WORK/big"
fresh "$WORK/src"
measure "load (pql import .npy)" "$PQL" --data "$WORK/src" import --tenant t --collection c "$WORK/big.npy"
grep -o "[0-9]* rows imported.*" "$WORK/time" || true
Q=$(python3 -c "print('[' + ', '.join(['0.1'] * $DIM_BIG) + ']')")
"$PQL" --data "$WORK/src" -e "QUERY c TENANT t SIMILAR TO $Q TOP 10;" > /dev/null   # graph built and saved
measure "EXPORT TENANT" "$PQL" --data "$WORK/src" -e "EXPORT TENANT t TO 't.pqlt';"
SIZE=$(stat -c %s "$WORK/src/exports/t.pqlt")
echo "export file: $((SIZE / 1048576)) MB"
mkdir -p "$WORK/dst/exports" && cp "$WORK/src/exports/t.pqlt" "$WORK/dst/exports/"
measure "IMPORT TENANT + first query" "$PQL" --data "$WORK/dst" --format json -e "IMPORT TENANT FROM 't.pqlt'; QUERY c TENANT t SIMILAR TO $Q TOP 10;"
grep -o '"elapsed_ms":[0-9.]*' "$WORK/out" | sed 's/"elapsed_ms":/statement ms: /'
