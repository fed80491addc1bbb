# shellcheck shell=bash
# Shared by up.sh and down.sh: paths, PID bookkeeping and small helpers.
# Every process the dev cloud starts is recorded in $RUN/<name>.pid (its PID, which is
# also its process group and session id: it is started with setsid) and
# $RUN/<name>.stamp (its start time in clock ticks since boot, from /proc/PID/stat, so a
# PID reused after a reboot is never mistaken for ours). Nothing is ever stopped by name.

# shellcheck disable=SC2034 # the variables below are used by the scripts sourcing this
DEV_CLOUD_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$DEV_CLOUD_HERE/../.." && pwd)
STATE=${DEV_CLOUD_STATE:-$ROOT/.local/dev-cloud}
RUN=$STATE/run
LOGS=$STATE/log
ETC=$STATE/etc
DONE=$STATE/done
PY=/usr/bin/python3

T0=${T0:-$(date +%s)}
say() { printf '[%4ds] %s\n' "$(($(date +%s) - T0))" "$*" >&"${SAY_FD:-1}"; }
die() { say "ERROR: $*"; exit 1; }

# start_ticks PID: the process start time (field 22 of /proc/PID/stat), or nothing.
start_ticks() {
  local stat fields
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  read -ra fields <<<"${stat##*) }" # drop "pid (comm) " (comm may hold spaces): field 3 first
  echo "${fields[19]}"
}

# pid_of NAME: the recorded PID if that very process still runs, else nothing.
pid_of() {
  local name=$1 pid stamp
  [[ -f $RUN/$name.pid ]] || return 0
  pid=$(<"$RUN/$name.pid")
  stamp=$(cat "$RUN/$name.stamp" 2>/dev/null || true)
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  [[ -n $stamp && $(start_ticks "$pid") == "$stamp" ]] || return 0
  echo "$pid"
}

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
