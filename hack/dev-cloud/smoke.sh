#!/usr/bin/env bash
# Checks a running dev cloud with openstackclient: boots a server on a tenant network
# to ACTIVE and deletes it, and sets and reads compute, network and volume quotas of a
# scratch project. Cleans up after itself. Takes ~1 min (each CLI call costs ~2-4 s).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
export OS_CLIENT_CONFIG_FILE=$STATE/clouds.yaml OS_CLOUD=dev
os() { /usr/bin/openstack "$@"; }
tag=smoke-$$

cleanup() {
  set +e
  os server delete --wait "$tag" >/dev/null 2>&1
  os subnet delete "$tag" >/dev/null 2>&1
  os network delete "$tag" >/dev/null 2>&1
  os project delete "$tag" >/dev/null 2>&1
}
trap cleanup EXIT

os network create "$tag" -f value -c id >/dev/null
os subnet create "$tag" --network "$tag" --subnet-range 10.99.0.0/24 -f value -c id >/dev/null
say "network $tag created; booting a server on it"
timeout 300 /usr/bin/openstack server create "$tag" --flavor m1.tiny --image cirros --network "$tag" --wait -f value -c id >/dev/null ||
  die "server did not reach ACTIVE within 300 s"
status=$(os server show "$tag" -f value -c status)
addr=$(os server show "$tag" -f value -c addresses)
[[ $status == ACTIVE ]] || die "server status $status"
say "server $tag: $status ($addr)"
os server delete --wait "$tag"
say "server deleted"

os project create "$tag" --domain default -f value -c id >/dev/null
os quota set "$tag" --cores 7 --instances 3 --ram 4096 --networks 4 --ports 21 --routers 2 \
  --volumes 5 --gigabytes 55 --snapshots 6
q=$(os quota show "$tag" -f json)
/usr/bin/python3 - "$q" <<'EOF'
import json, sys
q = json.loads(sys.argv[1])
want = {"cores": 7, "instances": 3, "ram": 4096, "networks": 4, "ports": 21, "routers": 2,
        "volumes": 5, "gigabytes": 55, "snapshots": 6}
bad = {k: (q.get(k), v) for k, v in want.items() if q.get(k) != v}
if bad:
    sys.exit("quota mismatch (got, want): %s" % bad)
EOF
say "quotas: compute, network and volume set and read back"
echo "1 passed, 0 failed"
