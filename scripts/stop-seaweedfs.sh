#!/usr/bin/env bash
# Stops the SeaweedFS that scripts/start-seaweedfs.sh started (by its pid)
# and removes its data folder.
set -euo pipefail
cd "$(dirname "$0")/.."
root=data/seaweedfs
if [[ -s $root/weed.pid ]]; then
    pid=$(cat "$root/weed.pid")
    if kill "$pid" 2>/dev/null; then
        for _ in $(seq 1 40); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.25
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$root/weed.pid"
fi
rm -rf "$root/run"
echo "stop-seaweedfs: stopped" >&2
