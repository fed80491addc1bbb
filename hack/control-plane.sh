#!/usr/bin/env bash
# Runs a standing local Kubernetes control plane (kube-apiserver, etcd and
# kube-controller-manager built from Go modules, see control-plane-assets.sh; started by
# hack/cluster through test/controlplane) for kubectl and the operator binary.
# Namespaces delete, owner references garbage-collect, ClusterRoles aggregate; no Pods
# run (no scheduler, no kubelet, no Deployment controller).
#   hack/control-plane.sh up     start it (idempotent); kubeconfig in .local/kubeconfig
#   hack/control-plane.sh down   stop it
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
local_dir=$root/.local
run_dir=$local_dir/control-plane
pidfile=$run_dir/pid
kubeconfig=$local_dir/kubeconfig
export GOTOOLCHAIN=local

running() { [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

up() {
  mkdir -p "$run_dir"
  assets=$("$root/hack/control-plane-assets.sh")
  if running && [[ -f $kubeconfig ]] && "$assets/kubectl" --kubeconfig "$kubeconfig" get --raw /readyz >/dev/null 2>&1; then
    echo "control plane already up; export KUBECONFIG=$kubeconfig"
    return
  fi
  down >/dev/null 2>&1 || true
  (cd "$root" && go build -o "$run_dir/cluster" ./hack/cluster)
  rm -f "$kubeconfig"
  # Its own session, so that down can stop the program with its apiserver and etcd.
  KUBEBUILDER_ASSETS=$assets setsid "$run_dir/cluster" --write-kubeconfig "$kubeconfig" \
    >"$run_dir/cluster.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  for _ in $(seq 1 120); do
    if [[ -f $kubeconfig ]]; then
      echo "control plane up; export KUBECONFIG=$kubeconfig"
      return
    fi
    running || { cat "$run_dir/cluster.log" >&2; echo "control plane failed to start" >&2; exit 1; }
    sleep 0.5
  done
  echo "control plane did not come up within 60 s; see $run_dir/cluster.log" >&2
  exit 1
}

down() {
  if running; then
    pid=$(cat "$pidfile")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile" "$kubeconfig"
  echo "control plane stopped"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
