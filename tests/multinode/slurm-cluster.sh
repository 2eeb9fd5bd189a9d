#!/usr/bin/env bash
# slurm-cluster.sh: a 2-node Slurm cluster on the test cluster of cluster.sh (docs/multinode.md).
#
#   slurm-cluster.sh up      cluster.sh up, then a private munged, slurmctld on the head
#                            (host namespace, host name cg-mn<ID>-head via unshare --uts) and
#                            one slurmd per node namespace (slurmd -N cg-mn<ID>-node<i>);
#                            returns when every node is idle and a 2-node probe job has run
#   slurm-cluster.sh down    stops the daemons by their PID files, then cluster.sh down
#   slurm-cluster.sh env     prints SLURM_CONF=... (export it to use sbatch/srun/scontrol)
#
# Everything is private to cluster ID (CG_MN_ID): its own slurm.conf under
# /run/culturegan-multinode/cg-mn<ID>/slurm (SLURM_CONF, never /etc/slurm), its own munged
# socket (AuthInfo=socket=...), its own slurmctld port 6900+ID, its own state, spool and log
# directories, so it runs beside ../shared/tools/slurm's single-node cluster. Nodes: 2 CPUs
# each (SlurmdParameters=config_overrides; CG_MN_SLURM_CPUS to change). Must run as root.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ID=${CG_MN_ID:-0}
N=${CG_MN_NODES:-2}
P=cg-mn$ID
NET=10.213.$ID
S=/run/culturegan-multinode/$P/slurm
CONF=$S/slurm.conf
PORT=$((6900 + ID))
CPUS=${CG_MN_SLURM_CPUS:-2}
TIMEOUT=${CG_MN_SLURM_TIMEOUT:-60}
export SLURM_CONF=$CONF
log() { echo "slurm-cluster.sh[$P]: $*" >&2; }
die() { echo "slurm-cluster.sh[$P]: error: $*" >&2; exit 1; }

alive() { # PIDFILE NAME
  local pid
  [ -s "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null)
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] || return 1
  case "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" in Z | X | "") return 1 ;; esac
}
stop_pid() { # PIDFILE NAME
  local pid
  alive "$1" "$2" || { rm -f "$1"; return 0; }
  pid=$(cat "$1")
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 50); do alive "$1" "$2" || break; sleep 0.1; done
  alive "$1" "$2" && kill -KILL "$pid" 2>/dev/null
  rm -f "$1"
}

up() {
  local i
  for b in munged slurmctld slurmd sinfo sbatch srun scontrol; do
    command -v "$b" >/dev/null || die "$b not found (apt-get install munge slurmctld slurmd slurm-client)"
  done
  CG_MN_NODES=$N bash "$here/cluster.sh" up -n "$N" || die "cluster.sh up failed"
  mkdir -p "$S/state" "$S/log"
  for ((i = 0; i < N; i++)); do mkdir -p "$S/spool/$P-node$i"; done
  # munge: a private daemon and key (the key never leaves $S)
  if ! alive "$S/munged.pid" munged; then
    [ -s "$S/munge.key" ] || { dd if=/dev/urandom of="$S/munge.key" bs=1 count=1024 status=none; chmod 0600 "$S/munge.key"; }
    munged --force --socket="$S/munge.socket" --pid-file="$S/munged.pid" --log-file="$S/log/munged.log" \
      --seed-file="$S/munged.seed" --key-file="$S/munge.key" || die "munged failed; see $S/log/munged.log"
  fi
  for _ in $(seq 1 50); do [ -S "$S/munge.socket" ] && break; sleep 0.1; done
  local nodes=""
  cat > "$CONF" <<EOF
# written by tests/multinode/slurm-cluster.sh: $N nodes in network namespaces, everything as root
ClusterName=$P
SlurmctldHost=$P-head($NET.254)
SlurmctldPort=$PORT
SlurmdPort=6818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$S/munge.socket
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool/%n
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.%n.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.%n.log
SlurmctldDebug=info
SlurmdDebug=info
MinJobAge=600
KillWait=10
JobRequeue=1
EnforcePartLimits=ALL
SchedulerParameters=batch_sched_delay=0,sched_interval=2,sched_min_interval=100000
MessageTimeout=10
SlurmdParameters=config_overrides
EOF
  for ((i = 0; i < N; i++)); do
    echo "NodeName=$P-node$i NodeHostname=$P-node$i NodeAddr=$NET.$((i + 1)) CPUs=$CPUS RealMemory=2000 State=UNKNOWN" >> "$CONF"
    nodes+="${nodes:+,}$P-node$i"
  done
  echo "PartitionName=mn Nodes=$nodes Default=YES MaxTime=INFINITE State=UP" >> "$CONF"
  if ! alive "$S/slurmctld.pid" slurmctld; then
    unshare --uts -- sh -c 'hostname "$0" && exec slurmctld -f "$1"' "$P-head" "$CONF" \
      || die "slurmctld failed; see $S/log/slurmctld.log"
  fi
  for _ in $(seq 1 100); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.2; done
  scontrol ping 2>/dev/null | grep -q UP || die "slurmctld not answering; see $S/log/slurmctld.log"
  for ((i = 0; i < N; i++)); do
    alive "$S/slurmd.$P-node$i.pid" slurmd && continue
    # nsenter, not ip netns exec: the latter mounts a fresh /sys, hiding /sys/fs/cgroup,
    # and slurmd 22.05 will not start without it ("Unable to initialize cgroup plugin").
    # Each node gets its own /tmp (a private mount namespace): Slurm's PMIx plugin makes
    # /tmp/spmix_appdir_<uid>_<job>.<step> on every node of a step, which fails with
    # "File exists" when two nodes share /tmp.
    # Paths the jobs need that lie under /tmp (a checkout or build there: CI clones anywhere)
    # are bound back into the private /tmp, from an alias of the real /tmp taken first.
    mkdir -p "$S/tmp/$P-node$i" "$S/realtmp-$P-node$i" && chmod 1777 "$S/tmp/$P-node$i"
    local keep="" k
    for k in "${CULTUREGAN_SOURCE_DIR:-}" "${CULTUREGAN_BIN_DIR:-}" "$PWD" ${CG_MN_KEEP_PATHS:-}; do
      case $k in /tmp/?*) k=${k#/tmp/}; keep+=" ${k%%/*}" ;; esac
    done
    nsenter --net="/run/netns/$P-node$i" -- unshare --uts --mount --propagation slave -- \
      sh -c 'hostname "$0" && mount --bind /tmp "$3" && mount --bind "$2" /tmp &&
             for k in $4; do mkdir -p "/tmp/$k" && mount --bind "$3/$k" "/tmp/$k" || exit 1; done &&
             exec slurmd -f "$1" -N "$0"' \
      "$P-node$i" "$CONF" "$S/tmp/$P-node$i" "$S/realtmp-$P-node$i" "$keep" \
      || die "slurmd on $P-node$i failed; see $S/log/slurmd.$P-node$i.log"
  done
  local deadline=$(($(date +%s) + TIMEOUT)) st
  while :; do
    st=$(sinfo -h -o '%T' 2>/dev/null | sort -u | tr '\n' ' ')
    [ "$st" = "idle " ] && [ "$(sinfo -h -o '%D' -t idle 2>/dev/null | head -1)" = "$N" ] && break
    case $st in *drain* | *down*) scontrol update nodename="$nodes" state=resume >/dev/null 2>&1 ;; esac
    [ "$(date +%s)" -ge $deadline ] && { sinfo >&2; die "nodes not idle after ${TIMEOUT}s (state '$st'); logs in $S/log"; }
    sleep 0.5
  done
  local out
  out=$(timeout "$TIMEOUT" srun -N "$N" --ntasks-per-node=1 --time=1 hostname 2>&1) \
    || die "probe srun failed: $out"
  log "up: $(echo "$out" | sort | tr '\n' ' ')(SLURM_CONF=$CONF)"
}

down() {
  local i pids
  if alive "$S/slurmctld.pid" slurmctld; then
    pids=$(squeue -h -o %A 2>/dev/null | tr '\n' ' ')
    # shellcheck disable=SC2086
    [ -n "${pids// /}" ] && scancel $pids 2>/dev/null
  fi
  for ((i = 0; i < N; i++)); do stop_pid "$S/slurmd.$P-node$i.pid" slurmd; done
  stop_pid "$S/slurmctld.pid" slurmctld
  stop_pid "$S/munged.pid" munged
  CG_MN_ID=$ID bash "$here/cluster.sh" down   # kills any slurmstepd or task left in the nodes
  rm -rf "$S"
}

case ${1:-} in
  up) up ;;
  down) down ;;
  env) echo "SLURM_CONF=$CONF" ;;
  *) sed -n '2,17p' "$0"; exit 2 ;;
esac
