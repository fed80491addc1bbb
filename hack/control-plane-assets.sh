#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kubectl and etcd from the Go module proxy (no internet, no
# downloads from Google buckets) and caches them outside the work tree. Prints the
# directory that holds them, fit for KUBEBUILDER_ASSETS. A second run costs nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"

cache=${XDG_CACHE_HOME:-$HOME/.cache}/whitehall-operator
out=$cache/assets/k8s-$KUBE_VERSION-etcd-$ETCD_VERSION
log() { echo "control-plane-assets: $*" >&2; }

if [[ -x $out/kube-apiserver && -x $out/kube-controller-manager && -x $out/etcd && -x $out/kubectl ]]; then
  echo "$out"
  exit 0
fi
mkdir -p "$out"
# One build at a time: a second caller waits for the first and then finds the binaries.
exec 9>"$out.lock"
flock 9
if [[ -x $out/kube-apiserver && -x $out/kube-controller-manager && -x $out/etcd && -x $out/kubectl ]]; then
  echo "$out"
  exit 0
fi
export GOFLAGS=-mod=mod GOTOOLCHAIN=local

build_kube() {
  local mod=$cache/src/kubernetes-$KUBE_VERSION
  mkdir -p "$mod"
  cd "$mod"
  if [[ ! -f go.mod ]]; then
    log "preparing k8s.io/kubernetes@v$KUBE_VERSION module (replace block derived from its go.mod)"
    local k8s_gomod
    k8s_gomod=$(go mod download -json "k8s.io/kubernetes@v$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    {
      echo "module whitehall.local/kube-build"
      echo
      echo "go 1.26"
      echo
      echo "require k8s.io/kubernetes v$KUBE_VERSION"
      echo
      echo "replace ("
      # Every staging module that k8s.io/kubernetes replaces, pinned to its release tag.
      awk '/^replace \($/{r=1;next} r&&/^\)/{r=0} r&&$1 ~ /^k8s.io\//{print "\t" $1 " => " $1 " v0." substr(v,3)}' v="$KUBE_VERSION" "$k8s_gomod"
      echo ")"
    } >go.mod
    cat >tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
    go mod tidy >&2 || { rm -f go.mod; exit 1; }
  fi
  local minor=${KUBE_VERSION#*.}; minor=${minor%%.*}
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=v$KUBE_VERSION \
    -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor \
    -X k8s.io/client-go/pkg/version.gitVersion=v$KUBE_VERSION"
  log "building kube-apiserver v$KUBE_VERSION (cold: 5-12 min, ~3 GB RAM)"
  go build -ldflags "$ldflags" -o "$out/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
  log "building kube-controller-manager v$KUBE_VERSION (shares most of the apiserver's build cache)"
  go build -ldflags "$ldflags" -o "$out/kube-controller-manager.tmp" k8s.io/kubernetes/cmd/kube-controller-manager
  log "building kubectl v$KUBE_VERSION"
  go build -ldflags "$ldflags" -o "$out/kubectl.tmp" k8s.io/kubernetes/cmd/kubectl
  mv "$out/kube-apiserver.tmp" "$out/kube-apiserver"
  mv "$out/kube-controller-manager.tmp" "$out/kube-controller-manager"
  mv "$out/kubectl.tmp" "$out/kubectl"
}

build_etcd() {
  local mod=$cache/src/etcd-$ETCD_VERSION
  mkdir -p "$mod"
  cd "$mod"
  if [[ ! -f go.mod ]]; then
    printf 'module whitehall.local/etcd-build\n\ngo 1.26\n\nrequire go.etcd.io/etcd/server/v3 v%s\n' "$ETCD_VERSION" >go.mod
    cat >tools.go <<'GO'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
GO
    go mod tidy >&2 || { rm -f go.mod; exit 1; }
  fi
  log "building etcd v$ETCD_VERSION"
  go build -ldflags "-s -w" -o "$out/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "$out/etcd.tmp" "$out/etcd"
}

[[ -x $out/etcd ]] || (build_etcd)
[[ -x $out/kube-apiserver && -x $out/kube-controller-manager && -x $out/kubectl ]] || (build_kube)
echo "$out"
