#!/usr/bin/env bash
# Stops every process hack/dev-cloud/up.sh started, by the PID (process group) recorded
# in .local/dev-cloud/run/, OpenStack services first, then RabbitMQ, epmd and MariaDB.
# Keeps the state (databases, configs) so the next up.sh is a warm start.
#   --purge   also delete .local/dev-cloud (the next up.sh configures from scratch)
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

purge=""
case "${1:-}" in
  "") ;;
  --purge) purge=1 ;;
  *) echo "usage: $0 [--purge]" >&2; exit 2 ;;
esac

# signal_group NAME SIG: signal the process group NAME leads (it was started with setsid),
# or only its PID if it somehow leads none.
signal_group() {
  local pid=$1 sig=$2 pgid
  pgid=$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ') || true
  if [[ $pgid == "$pid" ]]; then
    kill -"$sig" -- "-$pid" 2>/dev/null || true
  else
    kill -"$sig" "$pid" 2>/dev/null || true
  fi
}

group_alive() { # PID: a process of the session PID leads still runs (zombies don't count)
  # shellcheck disable=SC2009 # pgrep cannot leave zombies out
  ps -o stat= --sid "$1" 2>/dev/null | grep -qv '^Z'
}

# stop NAME...: TERM all of them at once, wait up to 15 s, then KILL what is left.
stop() {
  local name pid pids=() names=()
  for name in "$@"; do
    pid=$(pid_of "$name")
    if [[ -n $pid ]]; then
      signal_group "$pid" TERM
      pids+=("$pid")
      names+=("$name")
    fi
    rm -f "$RUN/$name.pid" "$RUN/$name.stamp"
  done
  ((${#pids[@]})) || return 0
  local i left
  for ((i = 0; i < 150; i++)); do
    left=0
    for pid in "${pids[@]}"; do group_alive "$pid" && left=1; done
    ((left)) || break
    sleep 0.1
  done
  for i in "${!pids[@]}"; do
    if group_alive "${pids[$i]}"; then
      say "${names[$i]}: still running after 15 s, sending KILL"
      signal_group "${pids[$i]}" KILL
    fi
  done
  say "stopped: ${names[*]}"
}

if [[ -d $RUN ]]; then
  stop nova-compute nova-api nova-conductor nova-scheduler neutron-server cinder-api \
    cinder-scheduler glance-api keystone placement
  stop rabbitmq
  stop epmd mariadb
  # Anything else recorded (a name added to up.sh later) goes too.
  for f in "$RUN"/*.pid; do
    [[ -e $f ]] || continue
    stop "$(basename "$f" .pid)"
  done
fi
if [[ -n $purge ]]; then
  rm -rf "$STATE"
  say "removed $STATE"
fi
say "dev cloud is down"
