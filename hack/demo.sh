#!/usr/bin/env bash
# The demo: the operator on the local control plane, managing the dev cloud.
#   hack/demo.sh up     (after `make build cluster dev-cloud`, as `make demo` does)
#   hack/demo.sh down   deletes the sample Tenants, stops the operator, cluster and cloud
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export GOTOOLCHAIN=local
demo_dir=.local/demo
pidfile=$demo_dir/manager.pid
export KUBECONFIG=$root/.local/kubeconfig
clouds_yaml=$root/.local/dev-cloud/clouds.yaml
sample_projects=(hmrc-self-assessment dwp_universal-credit)
operator_ns=whitehall-system

kubectl() { "$(hack/control-plane-assets.sh)/kubectl" "$@"; }
operator_running() { [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

up() {
  mkdir -p "$demo_dir"
  echo "== installing CRDs"
  kubectl apply --server-side -f config/crd/bases >/dev/null
  kubectl wait --for=condition=Established crd --all --timeout=60s >/dev/null

  echo "== the operator's namespace, holding the only admin credentials (clouds.yaml of the dev cloud)"
  kubectl create namespace "$operator_ns" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  kubectl -n "$operator_ns" create secret generic openstack-admin --from-file=clouds.yaml="$clouds_yaml" \
    --dry-run=client -o yaml | kubectl apply -f - >/dev/null

  if ! operator_running; then
    if ! kubectl get tenants -A -o name 2>/dev/null | grep -q .; then
      # A fresh control plane: projects an earlier demo's Tenants created are orphans now.
      go run ./hack/devclean --clouds "$clouds_yaml" "${sample_projects[@]}"
    fi
    echo "== starting the operator (log: $demo_dir/manager.log)"
    setsid bin/manager --kubeconfig "$KUBECONFIG" --operator-namespace "$operator_ns" --metrics-bind-address 127.0.0.1:8443 \
      --health-probe-bind-address 127.0.0.1:8081 --allow-http-auth-url >"$demo_dir/manager.log" 2>&1 </dev/null &
    echo $! >"$pidfile"
  fi

  echo "== admission policies, and the centre's DepartmentPolicy that the samples meet"
  kubectl apply -f config/admission >/dev/null
  kubectl apply -f config/samples/departmentpolicy_central_government.yaml
  echo "== applying config/samples"
  # Admission policies take a moment to be enforced; the samples pass them either way.
  kubectl apply -k config/samples
  start=$(date +%s.%N)
  kubectl wait --for=condition=Ready clouds,tenants,computequotas,peakseasons,departmentpolicies --all -A --timeout=180s >/dev/null
  printf '== everything Ready after %.1f s\n\n' "$(echo "$(date +%s.%N) - $start" | bc)"
  kubectl get clouds
  echo
  kubectl get tenants -A
  echo
  kubectl get peakseasons
  echo
  kubectl get computequotas -A
  echo
  kubectl get departmentpolicies
  echo
  OS_CLIENT_CONFIG_FILE=$clouds_yaml OS_CLOUD=dev openstack project list --tags-any hmrc,dwp 2>/dev/null || true
  cat <<MSG

HMRC's own credentials (an application credential scoped to its project) are in
Secret hmrc/openstack:
  kubectl -n hmrc get secret openstack -o jsonpath='{.data.clouds\.yaml}' | base64 -d >/tmp/hmrc.yaml
  OS_CLIENT_CONFIG_FILE=/tmp/hmrc.yaml openstack --os-cloud whitehall server list

Everything is running. Point kubectl and openstack at it with:
  export KUBECONFIG=$KUBECONFIG
  export OS_CLIENT_CONFIG_FILE=$clouds_yaml OS_CLOUD=dev
kubectl: $(hack/control-plane-assets.sh)/kubectl   operator log: $demo_dir/manager.log
Stop it all with: make demo-down
MSG
}

down() {
  if operator_running && [[ -f $KUBECONFIG ]]; then
    echo "== deleting the sample Tenants (their projects go with them)"
    kubectl delete -f config/samples/tenant_hmrc_self_assessment.yaml -f config/samples/tenant_dwp_universal_credit.yaml \
      --ignore-not-found --timeout=120s || echo "some Tenants did not go; see kubectl get tenants -A" >&2
  fi
  if operator_running; then
    kill -TERM "$(cat "$pidfile")" || true
  fi
  rm -f "$pidfile"
  hack/control-plane.sh down
  hack/dev-cloud/down.sh
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
