#!/usr/bin/env bash
# Explores new random seeds of the e2e fault suite (fault proxy and crash kill points):
# runs it once per seed and prints which seeds failed. A seed that fails goes into
# E2E_SEEDS in the Makefile for good, so make test runs it from then on.
# Usage (through make): make test-faults SEEDS=30
set -uo pipefail
n=${1:-10}
cd "$(dirname "$0")/.."
log_dir=.local/e2e/seeds
mkdir -p "$log_dir"
passed=() failed=()
for _ in $(seq "$n"); do
	seed=$(( (RANDOM << 15 | RANDOM) + 1 ))
	start=$(date +%s)
	echo "fault suite, seed $seed"
	# E2E_LOCK: a lock file shared with other users of the dev cloud, held per run.
	if eval ${E2E_LOCK:+flock "$E2E_LOCK"} env "$E2E_ENV" '"$GINKGO"' --procs=1 --timeout=15m --seed="$seed" --label-filter=faults ./test/e2e >"$log_dir/$seed.log" 2>&1; then
		passed+=("$seed")
		echo "  passed in $(( $(date +%s) - start )) s"
	else
		failed+=("$seed")
		echo "  FAILED in $(( $(date +%s) - start )) s: $log_dir/$seed.log"
		grep -E '^\s*\[FAIL\]|Expected|to be' "$log_dir/$seed.log" | head -5 | sed 's/^/    /'
	fi
done
echo "${#passed[@]} passed, ${#failed[@]} failed"
if [ ${#failed[@]} -gt 0 ]; then
	echo "add to E2E_SEEDS in the Makefile: ${failed[*]}"
	exit 1
fi
