#!/usr/bin/env bash
# Runs the Helm chart tests (test/chart): helm lint, rendering with default and other
# values, CRDs and ClusterRole rules against the generated ones, and install, upgrade
# and uninstall on a real kube-apiserver (envtest).
# Installs helm into the tool cache first when missing (~2-3 min, once), and builds the
# control-plane binaries when missing (hack/control-plane-assets.sh; long, once).
# Extra arguments go to `go test` (e.g. -run TestDefaultRender).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=versions.env
. "$root/hack/versions.env"
export GOTOOLCHAIN=local
log() { echo "chart-test: $*" >&2; }

cache=${XDG_CACHE_HOME:-$HOME/.cache}/whitehall-operator
helm_dir=$cache/tools/helm-$HELM_VERSION
HELM=${HELM:-$helm_dir/helm}
if [[ ! -x $HELM ]]; then
  # Helm v3 renders for the Kubernetes version baked in at build time (1.20 by default):
  # bake in ours, so Capabilities and lint match the clusters we target.
  kube_minor=${KUBE_VERSION#*.}; kube_minor=${kube_minor%%.*}
  kube_major=${KUBE_VERSION%%.*}
  log "installing helm $HELM_VERSION (for Kubernetes $kube_major.$kube_minor) into $helm_dir"
  GOBIN=$helm_dir go install -ldflags "\
-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION \
-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$kube_major \
-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$kube_minor \
-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$kube_major \
-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$kube_minor" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  HELM=$helm_dir/helm
fi
export HELM
log "helm: $HELM ($("$HELM" version --short))"

KUBEBUILDER_ASSETS=$("$root/hack/control-plane-assets.sh")
export KUBEBUILDER_ASSETS
log "KUBEBUILDER_ASSETS: $KUBEBUILDER_ASSETS"

cd "$root"
log "go test ./test/chart -count=1 $*"
go test ./test/chart -count=1 -timeout 5m "$@"
