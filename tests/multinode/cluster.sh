#!/usr/bin/env bash
# cluster.sh: a test cluster of N "nodes" on one machine (docs/multinode.md).
#
#   cluster.sh up [-n NODES]          create the nodes (idempotent; NODES default 2)
#   cluster.sh down                   remove everything `up` made; kills processes left in
#                                     the nodes (idempotent; exit 0 when nothing was there)
#   cluster.sh status                 nodes, addresses, links, processes per node
#   cluster.sh hosts [SLOTS]          a host file for mpirun: "HOST slots=SLOTS" per node
#   cluster.sh mpirun-args            mpirun options that reach the nodes (agent, MCA), one per line
#   cluster.sh exec NODE CMD...       run CMD inside node NODE (index or host name)
#   cluster.sh link NODE up|down      bring a node's only interface up or down (inside its namespace)
#   cluster.sh pids NODE              processes whose network namespace is NODE's (one pid a line)
#   cluster.sh check                  exit 0 if this machine can host a cluster, else 77 with one line
#
# Node i (0-based) of cluster ID (CG_MN_ID, 0..250, default 0) is
#   network namespace and host name  cg-mn<ID>-node<i>
#   interface (inside)               cg-mn-eth0, address 10.213.<ID>.<i+1>/24
#   veth peer (host side)            cg-mn<ID>-h<i>, a port of the bridge cg-mn<ID>-br
#   the head (host namespace)        bridge cg-mn<ID>-br, address 10.213.<ID>.254/24
# mpirun runs on the head and starts its daemons with tests/multinode/ns-agent (OpenMPI's
# plm_rsh_agent), which enters the node's namespace and gives it its host name
# (unshare --uts). Every interface `up` creates carries the alias "culturegan-multinode";
# `down` deletes only interfaces with our names *and* that alias, and only namespaces with
# our names. Must run as root.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ID=${CG_MN_ID:-0}
case $ID in '' | *[!0-9]*) echo "cluster.sh: CG_MN_ID must be a number 0..250, found '$ID'" >&2; exit 2 ;; esac
[ "$ID" -le 250 ] || { echo "cluster.sh: CG_MN_ID must be 0..250, found $ID" >&2; exit 2; }
P=cg-mn$ID
NET=10.213.$ID
BR=$P-br
HEAD_IP=$NET.254
ALIAS=culturegan-multinode
IFACE=cg-mn-eth0
STATE=/run/culturegan-multinode/$P
log() { echo "cluster.sh[$P]: $*" >&2; }
die() { echo "cluster.sh[$P]: error: $*" >&2; exit 1; }

node_name() { echo "$P-node$1"; }
# nodes: the node namespaces of this cluster that exist now, in index order.
nodes() { ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$P-node[0-9]+$" | sort -t e -k3 -n; }
resolve() { # NODE (index or name) -> namespace name
  case $1 in
    '' ) die "no node given" ;;
    *[!0-9]*) [[ $1 == "$P"-node* ]] || die "'$1' is not a node of cluster $P"; echo "$1" ;;
    *) echo "$P-node$1" ;;
  esac
}
ours() { # IFNAME: is it an interface this script made (name and alias)?
  [ "$(cat "/sys/class/net/$1/ifalias" 2>/dev/null)" = "$ALIAS" ]
}
ns_inode() { stat -L -c %i "/run/netns/$1" 2>/dev/null; }
pids_in() { # NS -> pids whose network namespace is NS
  local ino pid; ino=$(ns_inode "$1") || return 0
  [ -n "$ino" ] || return 0
  for pid in /proc/[0-9]*; do
    [ "$(stat -L -c %i "$pid/ns/net" 2>/dev/null)" = "$ino" ] && echo "${pid#/proc/}"
  done
  return 0
}

reach() { # NS ADDR: does a TCP connection attempt from NS to ADDR get an answer (refused counts)?
  # no ping here: a connect to a closed port answers "Connection refused" at once when the
  # address is reachable, and times out (1 s) or fails with "No route" when it is not.
  local out
  out=$(ip netns exec "$1" timeout 1 bash -c "exec 3<>/dev/tcp/$2/9" 2>&1) && return 0
  [[ $out == *"Connection refused"* ]]
}

check() {
  [ "$(id -u)" = 0 ] || { echo "SKIPPED: multinode tests need root (ip netns, veth); running as uid $(id -u)"; exit 77; }
  command -v ip >/dev/null || { echo "SKIPPED: multinode tests need iproute2's ip (not found)"; exit 77; }
  command -v unshare >/dev/null || { echo "SKIPPED: multinode tests need unshare (util-linux; not found)"; exit 77; }
  local t=cg-mnp$$
  if ! ip netns add "$t" 2>/dev/null; then
    echo "SKIPPED: ip netns is unavailable here ('ip netns add' failed)"; exit 77
  fi
  local ok=1
  ip netns exec "$t" unshare --uts sh -c 'hostname cg-mn-probe' 2>/dev/null || ok=0
  if ip link add "$t"a type veth peer name "$t"b netns "$t" 2>/dev/null; then ip link del "$t"a; else ok=0; fi
  ip netns del "$t"
  [ $ok = 1 ] || { echo "SKIPPED: veth pairs or unshare --uts are unavailable here"; exit 77; }
  exit 0
}

up() {
  local n=$1 i ns host
  [ "$(id -u)" = 0 ] || die "must run as root"
  mkdir -p "$STATE"
  if ! ip link show "$BR" >/dev/null 2>&1; then
    ip link add "$BR" type bridge stp_state 0 forward_delay 0 || die "cannot create bridge $BR"
    ip link set "$BR" alias "$ALIAS"
  fi
  ours "$BR" || die "$BR exists but was not made by this script (no alias $ALIAS): not touching it"
  ip addr replace "$HEAD_IP/24" dev "$BR"
  ip link set "$BR" up
  for ((i = 0; i < n; i++)); do
    ns=$(node_name "$i"); host=$P-h$i
    [ -e "/run/netns/$ns" ] || ip netns add "$ns" || die "cannot create namespace $ns"
    if ! ip link show "$host" >/dev/null 2>&1; then
      # the peer is created directly inside the namespace: no name clash in the host namespace
      ip link add "$host" type veth peer name "$IFACE" netns "$ns" || die "cannot create veth $host"
      ip link set "$host" alias "$ALIAS"
      ip -n "$ns" link set "$IFACE" alias "$ALIAS"
    fi
    ours "$host" || die "$host exists but was not made by this script: not touching it"
    ip link set "$host" master "$BR"
    ip link set "$host" up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr replace "$NET.$((i + 1))/24" dev "$IFACE"
    ip -n "$ns" link set "$IFACE" up
  done
  echo "$n" > "$STATE/nodes"
  # Every node reaches every other node and the head (bounded: 1 s per ping).
  for ((i = 0; i < n; i++)); do
    ns=$(node_name "$i")
    local t
    for t in "$HEAD_IP" $(seq -f "$NET.%g" 1 "$n"); do
      local ok=0 k
      for k in 1 2 3 4 5; do
        reach "$ns" "$t" && { ok=1; break; }
      done
      [ $ok = 1 ] || die "$ns cannot reach $t"
    done
  done
  log "up: $n nodes ($(nodes | tr '\n' ' ')) on $NET.0/24, head $HEAD_IP on $BR"
}

down() {
  local ns pid left i host
  for ns in $(nodes); do
    left=$(pids_in "$ns" | tr '\n' ' ')
    if [ -n "${left// /}" ]; then
      log "killing processes left in $ns: $left"
      # shellcheck disable=SC2086
      kill -KILL $left 2>/dev/null
      for i in $(seq 1 50); do [ -z "$(pids_in "$ns")" ] && break; sleep 0.1; done
    fi
    ip netns del "$ns" 2>/dev/null || log "warning: could not delete namespace $ns"
  done
  # host-side veth ends go with their peers; remove any left (ours only), then the bridge
  for host in $(ls /sys/class/net 2>/dev/null | grep -E "^$P-h[0-9]+$"); do
    ours "$host" && ip link del "$host" 2>/dev/null
  done
  if ip link show "$BR" >/dev/null 2>&1; then
    if ours "$BR"; then ip link del "$BR"; else log "warning: $BR is not ours: left alone"; fi
  fi
  rm -rf "$STATE"
  rmdir /run/culturegan-multinode 2>/dev/null
  return 0
}

status() {
  local ns
  ip -br addr show dev "$BR" 2>/dev/null || { echo "cluster $P: down"; return 0; }
  for ns in $(nodes); do
    printf '%s: %s; processes: %s\n' "$ns" "$(ip -n "$ns" -br addr show dev "$IFACE" 2>/dev/null | tr -s ' ')" \
      "$(pids_in "$ns" | tr '\n' ' ')"
  done
}

mpirun_args() {
  cat <<EOF
--mca
plm_rsh_agent
$here/ns-agent
--mca
plm_rsh_no_tree_spawn
1
--mca
oob_tcp_if_include
$NET.0/24
--mca
btl_tcp_if_include
$NET.0/24
--mca
btl
self,vader,tcp
EOF
}

cmd=${1:-}; shift || true
case $cmd in
  check) check ;;
  up)
    n=${CG_MN_NODES:-2}
    [ "${1:-}" = -n ] && { n=$2; shift 2; }
    up "$n" ;;
  down) down ;;
  status) status ;;
  hosts)
    slots=${1:-1}
    for ns in $(nodes); do echo "$ns slots=$slots"; done ;;
  mpirun-args) mpirun_args ;;
  exec)
    ns=$(resolve "${1:-}"); shift
    [ -e "/run/netns/$ns" ] || die "node $ns does not exist (cluster.sh up first)"
    exec ip netns exec "$ns" unshare --uts -- sh -c 'hostname "$0" || exit 1; exec "$@"' "$ns" "$@" ;;
  link)
    ns=$(resolve "${1:-}")
    case ${2:-} in up | down) ;; *) die "link NODE up|down" ;; esac
    ip -n "$ns" link set "$IFACE" "$2" ;;
  pids) pids_in "$(resolve "${1:-}")" ;;
  *) sed -n '2,13p' "$0"; exit 2 ;;
esac
