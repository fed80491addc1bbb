#!/usr/bin/env bash
# Builds and saves the operator image with podman, which needs no Docker engine and,
# with the Dockerfile's target prebuilt, no registry: the image is scratch plus
# bin/manager (make build), the host's CA bundle and hack/image/{passwd,group}.
#   hack/image.sh podman   install podman and runc with apt when missing (idempotent,
#                          quiet when present) and configure them for this machine
#   hack/image.sh build    build $IMG from bin/manager (make image)
#   hack/image.sh save     write $IMG as an OCI archive to $ARCHIVE (make image-save)
# The Makefile passes IMG, VERSION, REVISION and ARCHIVE.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
log() { echo "image: $*" >&2; }
die() { log "$*"; exit 1; }

PACKAGES=(podman runc)
CONF_DIR=/etc/containers/containers.conf.d
CONF=$CONF_DIR/50-whitehall-operator.conf

install_podman() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    [[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null) == ii* ]] || missing+=("$p")
  done
  if ((${#missing[@]})); then
    [[ $(id -u) == 0 ]] || die "podman is missing: run as root, or apt-get install ${missing[*]}"
    command -v apt-get >/dev/null || die "podman is missing and there is no apt-get: install ${missing[*]} yourself"
    log "installing ${missing[*]} with apt (~1 min)"
    local apt_log
    apt_log=$(mktemp)
    # crun is only recommended: runc is the runtime that works on cgroups v1 too.
    if ! { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" ||
      { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; }; } >"$apt_log" 2>&1; then
      tail -20 "$apt_log" >&2
      die "apt-get failed; full log: $apt_log"
    fi
    rm -f "$apt_log"
  fi
  configure_podman
}

# configure_podman writes a containers.conf drop-in when this machine needs one:
# crun refuses cgroups v1 (hybrid) hosts, so the runtime is runc; and a sandbox whose
# open-files hard limit is below what podman asks for as root cannot start any
# container, so podman then sets no default ulimits (containers inherit the host's).
configure_podman() {
  local want="" nofile
  if [[ $(stat -fc %T /sys/fs/cgroup 2>/dev/null) != cgroup2fs ]]; then
    want+=$'[engine]\nruntime = "runc"\n'
  fi
  nofile=$(ulimit -Hn)
  if [[ $nofile != unlimited ]] && ((nofile < 1048576)); then
    want+=$'[containers]\ndefault_ulimits = []\n'
  fi
  [[ -n $want ]] || return 0
  want="# Written by whitehall-operator's hack/image.sh for this machine (cgroups v1, low nofile limit)."$'\n'$want
  if [[ -f $CONF && $(cat "$CONF") == "${want%$'\n'}" ]]; then
    return 0
  fi
  [[ $(id -u) == 0 ]] || die "podman needs $CONF on this machine; run as root once"
  mkdir -p "$CONF_DIR"
  printf '%s' "$want" >"$CONF"
  log "configured podman for this machine: $CONF"
}

build() {
  : "${IMG:?}" "${VERSION:?}" "${REVISION:?}"
  [[ -x $root/bin/manager ]] || die "bin/manager is missing: make build"
  # The CA bundle the manager trusts for OpenStack endpoints: the build host's
  # (Debian's ca-certificates).
  local ca=/etc/ssl/certs/ca-certificates.crt
  [[ -s $ca ]] || die "$ca is missing: apt-get install ca-certificates"
  install -m 0644 "$ca" "$root/bin/ca-certificates.crt"
  # The commit's time as the image's (and its files') time: the same commit, the same image.
  local epoch
  epoch=$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)
  local previous
  previous=$(podman image inspect --format '{{.Id}}' "$IMG" 2>/dev/null || true)
  log "building $IMG (version $VERSION, revision $REVISION)"
  podman build --quiet --layers=false --target prebuilt --build-arg VERSION="$VERSION" --build-arg REVISION="$REVISION" \
    --identity-label=false --timestamp "$epoch" --tag "$IMG" --file "$root/Dockerfile" "$root" >/dev/null
  # The image the tag named before, now untagged, goes (unless a container still uses it).
  if [[ -n $previous && $previous != $(podman image inspect --format '{{.Id}}' "$IMG") &&
    $(podman image inspect --format '{{len .RepoTags}}' "$previous" 2>/dev/null) == 0 ]]; then
    podman rmi "$previous" >/dev/null 2>&1 || true
  fi
  log "$IMG: $(podman image inspect --format '{{.Size}}' "$IMG" | numfmt --to=iec --suffix=B) ($(podman image inspect --format '{{.Id}}' "$IMG" | cut -c1-12))"
}

save() {
  : "${IMG:?}" "${ARCHIVE:?}"
  mkdir -p "$(dirname "$ARCHIVE")"
  rm -f "$ARCHIVE"
  podman save --quiet --format oci-archive --output "$ARCHIVE" "$IMG"
  log "wrote $ARCHIVE ($(du -h "$ARCHIVE" | cut -f1)): podman load -i $ARCHIVE, or skopeo copy oci-archive:$ARCHIVE docker://REGISTRY/whitehall-operator:$VERSION"
}

case "${1:-}" in
  podman) install_podman ;;
  build) install_podman; build ;;
  save) install_podman; save ;;
  *) echo "usage: $0 podman|build|save" >&2; exit 2 ;;
esac
