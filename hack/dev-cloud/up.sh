#!/usr/bin/env bash
# Brings up a single-node OpenStack (Zed, from Debian bookworm packages) on 127.0.0.1:
# MariaDB, RabbitMQ, Keystone, Placement, Nova (fake virt driver), Neutron (ML2, no
# agents), Cinder (API + scheduler, no backend) and Glance (file store).
# Idempotent: a re-run skips whatever already runs and restarts only what died.
# State (configs, databases, PID files, logs) lives in <repo>/.local/dev-cloud/.
# See README.md beside this file.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
export T0

[[ $(id -u) == 0 ]] || die "run as root (it installs packages and runs daemons)"

ADMIN_PASSWORD=${DEV_CLOUD_ADMIN_PASSWORD:-admin}
SERVICE_PASSWORD=devcloud-service
DB_PASSWORD=devcloud-db
KEYSTONE_PROCESSES=${DEV_CLOUD_KEYSTONE_PROCESSES:-2}
KEYSTONE_THREADS=${DEV_CLOUD_KEYSTONE_THREADS:-4}
HOST=dev-cloud   # the Nova / Cinder service host name, fixed so a new machine reuses state
TRANSPORT=rabbit://guest:guest@127.0.0.1:5672/
KS=http://127.0.0.1:5000

PACKAGES=(mariadb-server rabbitmq-server keystone placement-api nova-api nova-conductor
  nova-scheduler neutron-server cinder-api cinder-scheduler glance-api
  python3-openstackclient python3-pymysql curl)

exec 3>&1   # progress lines from background jobs go to the caller's stdout
SAY_FD=3

# ---------------------------------------------------------------- packages
install_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    [[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null) == ii* ]] || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then return; fi
  say "packages: installing ${missing[*]} (cold: ~3-4 min)"
  export DEBIAN_FRONTEND=noninteractive
  # Keep maintainer scripts from starting daemons (nothing could run them here anyway).
  local made_policy=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  # Every openstack-pkg-tools debconf question already defaults to false; say so anyway.
  local q sel=""
  for p in keystone placement-api nova-common neutron-common neutron-api cinder-common glance-common glance-api; do
    for q in configure_db configure_rabbit configure_ksat register-endpoint configure_api-endpoint; do
      sel+="$p $p/$q boolean false"$'\n'
    done
  done
  printf '%s' "$sel" | debconf-set-selections 2>/dev/null || true
  local rc=0
  {
    apt-get update -q &&
      apt-get install -y -q --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        -o Dpkg::Options::=--force-unsafe-io "${missing[@]}"
  } >"$LOGS/apt.log" 2>&1 || rc=$?
  [[ -z $made_policy ]] || { rm -f /usr/sbin/policy-rc.d; trap - EXIT; }
  ((rc == 0)) || { tail -20 "$LOGS/apt.log" >&3; die "apt-get failed, see $LOGS/apt.log"; }
  say "packages: installed"
}

# ---------------------------------------------------------------- processes
# start NAME PORT CMD...: start CMD detached in its own session unless NAME already runs.
# PORT ("-" for none) must not be taken by anything else.
start() {
  local name=$1 port=$2 pid
  shift 2
  pid=$(pid_of "$name")
  if [[ -n $pid ]]; then
    return 0
  fi
  if [[ $port != - ]] && port_open "$port"; then
    die "$name: port $port is taken by a process this script did not start (see: ss -ltnp)"
  fi
  rm -f "$RUN/$name.pid" "$RUN/$name.stamp"
  setsid "$@" </dev/null >>"$LOGS/$name.log" 2>&1 3>&- &
  pid=$!
  echo "$pid" >"$RUN/$name.pid"
  local stamp=""
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    stamp=$(start_ticks "$pid")
    [[ -z $stamp ]] || break
    sleep 0.1
  done
  echo "$stamp" >"$RUN/$name.stamp"
  say "$name: started (pid $pid, log $LOGS/$name.log)"
}

# wait_up NAME PORT [TIMEOUT]: wait until PORT answers; fail early if NAME died.
wait_up() {
  local name=$1 port=$2 timeout=${3:-180} i
  for ((i = 0; i < timeout * 2; i++)); do
    port_open "$port" && return 0
    if [[ -z $(pid_of "$name") ]]; then
      tail -25 "$LOGS/$name.log" >&3 || true
      die "$name exited, see $LOGS/$name.log"
    fi
    sleep 0.5
  done
  die "$name: port $port not answering after ${timeout}s, see $LOGS/$name.log"
}

# wait_http NAME URL: uwsgi answers on its port before its workers have loaded the app
# (--lazy-apps); wait for a real HTTP answer from the app.
wait_http() {
  local i
  for ((i = 0; i < 360; i++)); do
    [[ $(curl -s -o /dev/null -m 10 -w '%{http_code}' "$2") == 200 ]] && return 0
    [[ -n $(pid_of "$1") ]] || die "$1 exited, see $LOGS/$1.log"
    sleep 0.5
  done
  die "$1: no HTTP 200 from $2, see $LOGS/$1.log"
}

# wait_port PORT [TIMEOUT]: wait for a port served by another job (which may not have
# started its process yet).
wait_port() {
  local i
  for ((i = 0; i < ${2:-240} * 2; i++)); do port_open "$1" && return 0; sleep 0.5; done
  die "port $1 not answering after ${2:-240}s"
}

# is_up NAME [PORT]: recorded process alive (and port answering).
is_up() {
  [[ -n $(pid_of "$1") ]] || return 1
  [[ -z ${2:-} ]] || port_open "$2"
}

# once STEP CMD...: run CMD unless STEP succeeded before (markers live with the databases).
once() {
  local step=$1
  shift
  [[ -f $DONE/$step ]] && return 0
  "$@" || return $?   # explicit: errexit is off when once itself is tested with || or if
  touch "$DONE/$step"
}

sql() { mariadb --defaults-file="$ETC/my.cnf" -N -B -e "$1"; }

# ---------------------------------------------------------------- configuration
write_configs() {
  mkdir -p "$ETC"/{keystone,placement,nova,neutron,cinder,glance,rabbitmq} \
    "$STATE"/{keystone/fernet-keys,keystone/credential-keys,nova/instances,neutron,cinder} \
    "$STATE"/glance/{images,staging,tasks} "$STATE"/lock/{nova,neutron,cinder,glance,placement} \
    "$STATE"/rabbitmq "$STATE/bin" "$STATE/python"
  chmod 700 "$STATE/keystone/fernet-keys" "$STATE/keystone/credential-keys"

  MYSQL_SOCK=$RUN/mysqld.sock
  if ((${#MYSQL_SOCK} > 100)); then # unix socket paths are limited to 107 bytes
    MYSQL_SOCK=/tmp/dev-cloud-$(echo "$STATE" | md5sum | cut -c1-12).sock
  fi
  cat >"$ETC/my.cnf" <<EOF
[mysqld]
user = root
datadir = $STATE/mysql
socket = $MYSQL_SOCK
pid-file = $STATE/mysql/mariadbd.pid
bind-address = 127.0.0.1
port = 3306
skip-name-resolve
max_connections = 1000
character-set-server = utf8mb4
collation-server = utf8mb4_general_ci
innodb_buffer_pool_size = 256M
innodb_flush_log_at_trx_commit = 2
innodb_doublewrite = 0
skip-log-bin
# no "Aborted connection" warning each time a DB sync or CLI exits
log_warnings = 1
[client]
user = root
socket = $MYSQL_SOCK
EOF

  cat >"$ETC/rabbitmq/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:5672
loopback_users.guest = true
log.console = true
log.console.level = warning
log.file = false
EOF
  echo '[].' >"$ETC/rabbitmq/enabled_plugins"
  # Read instead of /etc/rabbitmq/rabbitmq-env.conf (variables without RABBITMQ_ prefix).
  cat >"$ETC/rabbitmq/rabbitmq-env.conf" <<EOF
NODENAME=rabbit@localhost
NODE_IP_ADDRESS=127.0.0.1
NODE_PORT=5672
CONFIG_FILE=$ETC/rabbitmq/rabbitmq.conf
ENABLED_PLUGINS_FILE=$ETC/rabbitmq/enabled_plugins
MNESIA_BASE=$STATE/rabbitmq/mnesia
LOG_BASE=$LOGS
PID_FILE=$STATE/rabbitmq/rabbit.pid
SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
export ERL_EPMD_ADDRESS=127.0.0.1
EOF

  local db="mysql+pymysql://openstack:$DB_PASSWORD@127.0.0.1/"
  local common
  common="graceful_shutdown_timeout = 5
use_stderr = true"
  authtoken() { # USER
    cat <<EOF
[keystone_authtoken]
www_authenticate_uri = $KS/v3
auth_url = $KS
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $1
password = $SERVICE_PASSWORD
region_name = RegionOne
EOF
  }
  svcauth() { # SECTION USER
    cat <<EOF
[$1]
auth_type = password
auth_url = $KS/v3
project_domain_name = Default
user_domain_name = Default
project_name = service
username = $2
password = $SERVICE_PASSWORD
region_name = RegionOne
EOF
  }

  cat >"$ETC/keystone/keystone.conf" <<EOF
[DEFAULT]
$common
[database]
connection = ${db}keystone
[token]
provider = fernet
[fernet_tokens]
key_repository = $STATE/keystone/fernet-keys
[fernet_receipts]
key_repository = $STATE/keystone/fernet-keys
[credential]
key_repository = $STATE/keystone/credential-keys
[identity]
# bcrypt's cost: 4 (its minimum) instead of 12 makes each password login ~200 ms cheaper.
password_hash_rounds = 4
EOF

  cat >"$ETC/placement/placement.conf" <<EOF
[DEFAULT]
$common
[placement_database]
connection = ${db}placement
[api]
auth_strategy = keystone
$(authtoken placement)
EOF

  cat >"$ETC/nova/nova.conf" <<EOF
[DEFAULT]
$common
host = $HOST
my_ip = 127.0.0.1
transport_url = $TRANSPORT
compute_driver = fake.FakeDriver
enabled_apis = osapi_compute
osapi_compute_listen = 127.0.0.1
osapi_compute_listen_port = 8774
osapi_compute_workers = 1
state_path = $STATE/nova
instances_path = $STATE/nova/instances
[api]
auth_strategy = keystone
[api_database]
connection = ${db}nova_api
[database]
connection = ${db}nova
[conductor]
workers = 1
[scheduler]
workers = 1
discover_hosts_in_cells_interval = 10
[wsgi]
api_paste_config = /etc/nova/api-paste.ini
[oslo_messaging_notifications]
driver = noop
[oslo_concurrency]
lock_path = $STATE/lock/nova
[vnc]
enabled = false
$(authtoken nova)
$(svcauth placement nova)
valid_interfaces = public
$(svcauth neutron nova)
valid_interfaces = public
[glance]
valid_interfaces = public
[cinder]
os_region_name = RegionOne
catalog_info = volumev3::publicURL
EOF

  cat >"$ETC/neutron/neutron.conf" <<EOF
[DEFAULT]
$common
bind_host = 127.0.0.1
bind_port = 9696
core_plugin = ml2
service_plugins = router
auth_strategy = keystone
transport_url = $TRANSPORT
api_workers = 1
rpc_workers = 1
rpc_state_report_workers = 0
notify_nova_on_port_status_changes = false
notify_nova_on_port_data_changes = false
dhcp_agent_notification = false
allow_overlapping_ips = true
state_path = $STATE/neutron
api_paste_config = /etc/neutron/api-paste.ini
[database]
connection = ${db}neutron
[oslo_concurrency]
lock_path = $STATE/lock/neutron
[oslo_messaging_notifications]
driver = noop
$(authtoken neutron)
$(svcauth placement neutron)
valid_interfaces = public
$(svcauth nova neutron)
endpoint_type = public
[ml2]
type_drivers = flat,vlan,vxlan,local
tenant_network_types = vxlan
mechanism_drivers = devcloud
extension_drivers = port_security
[ml2_type_flat]
flat_networks = public
[ml2_type_vxlan]
vni_ranges = 1:1000
EOF

  cat >"$ETC/cinder/cinder.conf" <<EOF
[DEFAULT]
$common
host = $HOST
my_ip = 127.0.0.1
transport_url = $TRANSPORT
auth_strategy = keystone
osapi_volume_listen = 127.0.0.1
osapi_volume_listen_port = 8776
osapi_volume_workers = 1
enabled_backends =
state_path = $STATE/cinder
api_paste_config = /etc/cinder/api-paste.ini
[database]
connection = ${db}cinder
[oslo_concurrency]
lock_path = $STATE/lock/cinder
[oslo_messaging_notifications]
driver = noop
$(authtoken cinder)
EOF

  cat >"$ETC/glance/glance-api.conf" <<EOF
[DEFAULT]
$common
bind_host = 127.0.0.1
bind_port = 9292
workers = 1
enabled_backends = fs:file
[database]
connection = ${db}glance
[glance_store]
default_backend = fs
[fs]
filesystem_store_datadir = $STATE/glance/images
[os_glance_staging_store]
filesystem_store_datadir = $STATE/glance/staging
[os_glance_tasks_store]
filesystem_store_datadir = $STATE/glance/tasks
[paste_deploy]
flavor = keystone
config_file = /etc/glance/glance-api-paste.ini
[oslo_concurrency]
lock_path = $STATE/lock/glance
[oslo_messaging_notifications]
driver = noop
$(authtoken glance)
EOF

  # nova-compute without the nova-compute package (which pulls libvirt and qemu):
  # python3-nova holds the service already.
  cat >"$STATE/bin/nova-compute" <<'EOF'
#!/usr/bin/python3
import sys
from nova.cmd.compute import main
sys.exit(main())
EOF
  chmod 755 "$STATE/bin/nova-compute"

  # The ML2 mechanism driver that binds every port (no L2 agent runs), so servers on
  # Neutron networks go ACTIVE. Found through an entry point on neutron-server's PYTHONPATH.
  mkdir -p "$STATE/python/devcloud_ml2.dist-info"
  cp "$DEV_CLOUD_HERE/devcloud_ml2.py" "$STATE/python/devcloud_ml2.py"
  printf 'Metadata-Version: 2.1\nName: devcloud-ml2\nVersion: 1.0\n' \
    >"$STATE/python/devcloud_ml2.dist-info/METADATA"
  printf '[neutron.ml2.mechanism_drivers]\ndevcloud = devcloud_ml2:BindEverythingDriver\n' \
    >"$STATE/python/devcloud_ml2.dist-info/entry_points.txt"

  cat >"$STATE/clouds.yaml" <<EOF
# Written by hack/dev-cloud/up.sh.
# export OS_CLIENT_CONFIG_FILE=$STATE/clouds.yaml OS_CLOUD=dev
clouds:
  dev:
    auth:
      auth_url: $KS/v3
      username: admin
      password: $ADMIN_PASSWORD
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    identity_api_version: 3
    interface: public
EOF
}

# ---------------------------------------------------------------- services
start_mariadb() {
  if is_up mariadb 3306; then return; fi
  if [[ ! -d $STATE/mysql/mysql ]]; then
    rm -rf "$STATE/mysql"
    say "mariadb: initialising $STATE/mysql"
    mariadb-install-db --defaults-file="$ETC/my.cnf" --auth-root-authentication-method=socket \
      --skip-test-db >"$LOGS/mariadb-install-db.log" 2>&1 ||
      die "mariadb-install-db failed, see $LOGS/mariadb-install-db.log"
  fi
  start mariadb 3306 /usr/sbin/mariadbd --defaults-file="$ETC/my.cnf"
  wait_up mariadb 3306 60
  say "mariadb: up on :3306"
  local i
  for ((i = 0; i < 60; i++)); do sql 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.5; done
  local dbs="keystone placement nova_api nova nova_cell0 neutron cinder glance" d stmt=""
  for d in $dbs; do stmt+="CREATE DATABASE IF NOT EXISTS $d; "; done
  sql "$stmt CREATE USER IF NOT EXISTS 'openstack'@'%' IDENTIFIED BY '$DB_PASSWORD';
       CREATE USER IF NOT EXISTS 'openstack'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
       GRANT ALL PRIVILEGES ON *.* TO 'openstack'@'%';
       GRANT ALL PRIVILEGES ON *.* TO 'openstack'@'localhost'; FLUSH PRIVILEGES;"
}

start_rabbitmq() {
  is_up epmd 4369 && is_up rabbitmq 5672 && return 0
  # epmd would daemonise itself when Erlang starts it: run it in the foreground ourselves
  # so it has a PID file like everything else.
  if ! is_up epmd 4369; then
    start epmd 4369 /usr/bin/epmd -address 127.0.0.1
    wait_up epmd 4369 30
  fi
  if ! is_up rabbitmq 5672; then
    start rabbitmq 5672 env HOME="$STATE/rabbitmq" RABBITMQ_CONF_ENV_FILE="$ETC/rabbitmq/rabbitmq-env.conf" \
      ERL_EPMD_ADDRESS=127.0.0.1 /usr/lib/rabbitmq/bin/rabbitmq-server
  fi
  wait_up rabbitmq 5672 180
  say "rabbitmq: up on :5672"
}

uwsgi_app() { # NAME PORT WSGI-FILE PROCESSES THREADS ENV=VALUE
  start "$1" "$2" /usr/bin/uwsgi --plugin python3 --master --die-on-term --lazy-apps \
    --http-socket "127.0.0.1:$2" --wsgi-file "$3" --processes "$4" --threads "$5" \
    --add-header 'Connection: close' --buffer-size 65535 --env "$6" --disable-logging
}

job_keystone() {
  if is_up keystone 5000 && [[ -f $DONE/keystone-objects ]]; then return; fi
  local k=(keystone-manage --config-file "$ETC/keystone/keystone.conf")
  once keystone-db "${k[@]}" db_sync
  once keystone-keys bash -c "${k[*]} fernet_setup --keystone-user root --keystone-group root &&
    ${k[*]} credential_setup --keystone-user root --keystone-group root"
  once keystone-bootstrap "${k[@]}" bootstrap --bootstrap-password "$ADMIN_PASSWORD" \
    --bootstrap-admin-url "$KS/v3" --bootstrap-internal-url "$KS/v3" \
    --bootstrap-public-url "$KS/v3" --bootstrap-region-id RegionOne
  say "keystone: database ready"
  uwsgi_app keystone 5000 "$DEV_CLOUD_HERE/keystone_wsgi.py" "$KEYSTONE_PROCESSES" "$KEYSTONE_THREADS" \
    "OS_KEYSTONE_CONFIG_DIR=$ETC/keystone"
  wait_up keystone 5000
  wait_http keystone "$KS/v3"
  once keystone-objects env OS_CLIENT_CONFIG_FILE="$STATE/clouds.yaml" OS_CLOUD=dev \
    DEV_CLOUD_SERVICE_PASSWORD="$SERVICE_PASSWORD" "$PY" "$DEV_CLOUD_HERE/bootstrap.py" identity
  say "keystone: up on :5000, service users and catalog in place"
}

job_placement() {
  is_up placement 8778 && return 0
  once placement-db placement-manage --config-file "$ETC/placement/placement.conf" db sync
  uwsgi_app placement 8778 /usr/bin/placement-api 1 4 "OS_PLACEMENT_CONFIG_DIR=$ETC/placement"
  wait_up placement 8778
  wait_http placement http://127.0.0.1:8778/
  say "placement: up on :8778"
}

job_nova() {
  is_up nova-api 8774 && is_up nova-conductor && is_up nova-scheduler && return 0
  local n=(nova-manage --config-file "$ETC/nova/nova.conf")
  if [[ ! -f $DONE/nova-db ]]; then
    "${n[@]}" api_db sync
    local cells
    cells=$("${n[@]}" cell_v2 list_cells)
    [[ $cells == *" cell0 "* ]] || "${n[@]}" cell_v2 map_cell0
    [[ $cells == *" cell1 "* ]] || "${n[@]}" cell_v2 create_cell --name cell1
    "${n[@]}" db sync
    touch "$DONE/nova-db"
    say "nova: databases ready"
  fi
  wait_port 5672
  # nova-scheduler exits at start when the catalog has no placement endpoint yet.
  local i
  for ((i = 0; i < 600; i++)); do [[ -f $DONE/keystone-objects ]] && break; sleep 0.5; done
  [[ -f $DONE/keystone-objects ]] || die "no service catalog after 300 s (see setup-keystone.log)"
  local c=(--config-file "$ETC/nova/nova.conf")
  start nova-api 8774 /usr/bin/nova-api "${c[@]}"
  start nova-conductor - /usr/bin/nova-conductor "${c[@]}"
  start nova-scheduler - /usr/bin/nova-scheduler "${c[@]}"
  wait_up nova-api 8774
  say "nova: api up on :8774, conductor and scheduler running"
}

job_neutron() {
  is_up neutron-server 9696 && return 0
  once neutron-db neutron-db-manage --config-file "$ETC/neutron/neutron.conf" upgrade heads
  wait_port 5672
  start neutron-server 9696 env PYTHONPATH="$STATE/python" \
    /usr/bin/neutron-server --config-file "$ETC/neutron/neutron.conf"
  wait_up neutron-server 9696
  say "neutron: up on :9696"
}

job_cinder() {
  is_up cinder-api 8776 && is_up cinder-scheduler && return 0
  once cinder-db cinder-manage --config-file "$ETC/cinder/cinder.conf" db sync
  wait_port 5672
  start cinder-api 8776 /usr/bin/cinder-api --config-file "$ETC/cinder/cinder.conf"
  start cinder-scheduler - /usr/bin/cinder-scheduler --config-file "$ETC/cinder/cinder.conf"
  wait_up cinder-api 8776
  say "cinder: api up on :8776, scheduler running"
}

job_glance() {
  is_up glance-api 9292 && return 0
  once glance-db glance-manage --config-file "$ETC/glance/glance-api.conf" db_sync
  start glance-api 9292 /usr/bin/glance-api --config-file "$ETC/glance/glance-api.conf"
  wait_up glance-api 9292
  say "glance: up on :9292"
}

# Once nova-compute has registered its compute node, map the host into cell1; and after a
# (re)start of nova-compute wait for its first heartbeat, so the scheduler sees it up
# when up.sh returns (otherwise an immediate boot could fail with "No valid host").
job_compute() {
  local since=$COMPUTE_STARTED i
  for ((i = 0; i < 360; i++)); do
    [[ -n $(sql "SELECT id FROM nova.compute_nodes WHERE host='$HOST' AND deleted=0") ]] &&
      [[ -z $since || -n $(sql "SELECT id FROM nova.services WHERE host='$HOST'
        AND \`binary\`='nova-compute' AND deleted=0 AND updated_at >= '$since'") ]] && break
    [[ -n $(pid_of nova-compute) ]] || die "nova-compute exited, see $LOGS/nova-compute.log"
    sleep 0.5
  done
  ((i < 360)) || die "nova-compute did not report within 180 s, see $LOGS/nova-compute.log"
  if [[ -z $(sql "SELECT host FROM nova_api.host_mappings WHERE host='$HOST'") ]]; then
    nova-manage --config-file "$ETC/nova/nova.conf" cell_v2 discover_hosts --verbose
    [[ -n $(sql "SELECT host FROM nova_api.host_mappings WHERE host='$HOST'") ]] ||
      die "compute host $HOST not mapped to a cell"
    say "nova: compute host $HOST discovered"
  fi
  [[ -z $since ]] || say "nova-compute: reporting"
}

# ---------------------------------------------------------------- main
declare -A JOBS=()
bg() { # NAME FUNCTION: run FUNCTION in the background, output to $LOGS/setup-NAME.log
  ("$2") >>"$LOGS/setup-$1.log" 2>&1 &
  JOBS[$1]=$!
}
join() { # NAME...: wait for background jobs; report every failure
  local name failed=""
  for name in "$@"; do
    if ! wait "${JOBS[$name]}"; then
      failed+=" $name"
      say "$name failed; last lines of $LOGS/setup-$name.log:"
      tail -15 "$LOGS/setup-$name.log" >&3 || true
    fi
  done
  [[ -z $failed ]] || die "failed:$failed"
}

main() {
  mkdir -p "$RUN" "$LOGS" "$DONE"
  install_packages
  write_configs

  local names=(mariadb epmd rabbitmq keystone placement nova-api nova-conductor nova-scheduler
    nova-compute neutron-server cinder-api cinder-scheduler glance-api)
  local ports=(3306 4369 5672 5000 8778 8774 - - - 9696 8776 - 9292)
  local i down=()
  for i in "${!names[@]}"; do
    local p=${ports[$i]}
    [[ $p == - ]] && p=""
    is_up "${names[$i]}" ${p:+"$p"} || down+=("${names[$i]}")
  done
  if ((${#down[@]} == 0)) && [[ -f $DONE/resources ]]; then
    say "everything already up"
  else
    ((${#down[@]} == ${#names[@]})) || say "not running: ${down[*]}"
    start_mariadb
    bg rabbitmq start_rabbitmq
    bg keystone job_keystone
    bg placement job_placement
    bg nova job_nova
    bg neutron job_neutron
    bg cinder job_cinder
    bg glance job_glance
    join rabbitmq keystone placement nova
    # nova-compute last: it reports to Placement (found through the catalog) at start.
    COMPUTE_STARTED=""
    if ! is_up nova-compute; then
      COMPUTE_STARTED=$(sql 'SELECT UTC_TIMESTAMP()')
      start nova-compute - "$STATE/bin/nova-compute" --config-file "$ETC/nova/nova.conf"
    fi
    bg compute job_compute
    join neutron glance cinder
    [[ -f $DONE/resources ]] || say "creating flavors, image cirros, network public"
    once resources env OS_CLIENT_CONFIG_FILE="$STATE/clouds.yaml" OS_CLOUD=dev \
      DEV_CLOUD_STATE="$STATE" "$PY" "$DEV_CLOUD_HERE/bootstrap.py" resources \
      >>"$LOGS/setup-resources.log" 2>&1 ||
      { tail -15 "$LOGS/setup-resources.log" >&3; die "creating base resources failed"; }
    join compute
    # Whatever died while starting (a service that exits on a late error) is an error.
    down=()
    for i in "${!names[@]}"; do
      [[ -n $(pid_of "${names[$i]}") ]] || down+=("${names[$i]}")
    done
    if ((${#down[@]})); then
      for i in "${down[@]}"; do tail -5 "$LOGS/$i.log" >&3 || true; done
      die "exited after start: ${down[*]} (see $LOGS; a re-run restarts them)"
    fi
  fi

  cat <<EOF

Dev cloud is up ($(($(date +%s) - T0)) s). Keystone: $KS/v3 (admin / $ADMIN_PASSWORD, project admin)
  export OS_CLIENT_CONFIG_FILE=$STATE/clouds.yaml OS_CLOUD=dev
  openstack server create --flavor m1.tiny --image cirros --network <net> demo
Logs: $LOGS   Stop: hack/dev-cloud/down.sh
EOF
}

main "$@"
