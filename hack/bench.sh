#!/usr/bin/env bash
# make bench: measures the operator against the dev cloud beside a plain gophercloud
# program (test/bench, test/benchbaseline) and prints a table, also written
# to test/bench/results/<timestamp>.md and results/latest.md. Not part of make test.
#
# It builds the operator and the harness, gets the control-plane binaries (cached), and
# brings the dev cloud up (idempotent). While it uses the dev cloud it holds the lock
# file $DEV_CLOUD_LOCK (default /tmp/devcloud.lock; empty: no lock), so it never runs
# beside another user of the same cloud — do not wrap it in `flock` on that file yourself.
#
# Knobs (as arguments, hack/bench.sh -n 20, or in the environment; see `bin/bench -h`):
#   BENCH_N=20,200        departments to converge (BENCH_N=20 for a quick run)
#   BENCH_PEAK_N          sizes that also run the peak switch (default: the smallest;
#                         BENCH_PEAK_N=20,200 adds ~2 min)
#   BENCH_BURST=50        servers in the burst (0: skip)
#   BENCH_RSS_OBJECTS=10000
#   BENCH_PHASES=abcdesu  a converge, b steady state, c peak switch, d burst, e memory,
#                         s two shards (the largest BENCH_N, against one replica in a),
#                         u one usage read (showback) with the largest BENCH_N
#   BENCH_CONCURRENCY=10  BENCH_RESYNC=20s  BENCH_NAMESPACES=10  BENCH_NO_PROXY=1
#   BENCH_SKIP_UP=1       do not run hack/dev-cloud/up.sh: use the cloud that already answers
#                         at .local/dev-cloud/clouds.yaml's address (e.g. one another
#                         checkout brought up on the same ports)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export GOTOOLCHAIN=local
lock=${DEV_CLOUD_LOCK-/tmp/devcloud.lock}
start=$(date +%s)

echo "bench: building the operator and the harness" >&2
BENCH_BUILD="$(git describe --always --dirty 2>/dev/null || echo unknown), built $(date -u +%Y-%m-%dT%H:%M:%SZ)"
export BENCH_BUILD
go build -o bin/manager ./cmd/manager
go build -o bin/bench ./test/bench
assets=$(hack/control-plane-assets.sh)

export KUBEBUILDER_ASSETS=$assets
export OS_CLIENT_CONFIG_FILE=$root/.local/dev-cloud/clouds.yaml
# The harness restarts the operator several times: give it a copy of this build, so a
# `make build` elsewhere during the run cannot swap the binary under it.
mkdir -p .local/bench
cp bin/manager .local/bench/manager
export MANAGER_BIN=$root/.local/bench/manager
export REPO_ROOT=$root

# Bring the cloud up and run the harness under one hold of the lock.
up='hack/dev-cloud/up.sh >&2 && '
[[ -z ${BENCH_SKIP_UP:-} ]] || up=''
locked=(bash -c "${up}"'exec bin/bench "$@"' bench "$@")
rc=0
if [[ -n $lock ]]; then
  echo "bench: waiting for the dev cloud lock $lock" >&2
  # -o: the lock stays with flock itself, so nothing the harness starts can inherit it
  # and keep it after the run.
  flock -o "$lock" "${locked[@]}" || rc=$?
else
  "${locked[@]}" || rc=$?
fi
echo "bench: finished in $(( $(date +%s) - start )) s (exit $rc)" >&2
exit $rc
