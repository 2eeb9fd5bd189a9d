#!/usr/bin/env bash
# Inter-node numbers of culturegan-bench-comm (issue 15 point 6; BENCHMARKS.md "Inter-node
# (two network namespaces)"): 2 ranks on 2 nodes of the test cluster (tests/multinode/
# cluster.sh: TCP over a veth pair and a bridge) beside 2 ranks on one node (shared memory),
# the same command otherwise, alternated ROUNDS times (best round per variant counts, as in
# bench/comm/RESULTS.md). Needs root (network namespaces). Prints one markdown table per
# part and leaves the JSON of every run in OUT.
#
#   bench/comm/internode.sh [culturegan-bench-comm options]      (default: --skip-train --max-mb 64)
#
# Environment: BIN (default build/bin), CG_MN_ID (cluster id, default 29), ROUNDS (2),
# OUT (default /tmp/culturegan-bench-internode).
set -eu
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
BIN=${BIN:-$root/build/bin}
ROUNDS=${ROUNDS:-2}
OUT=${OUT:-/tmp/culturegan-bench-internode}
export CG_MN_ID=${CG_MN_ID:-29}
export PMIX_MCA_psec=${PMIX_MCA_psec:-native} OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMP_NUM_THREADS=1
cluster=$root/tests/multinode/cluster.sh
[ $# -gt 0 ] || set -- --skip-train --max-mb 64
mkdir -p "$OUT"
trap 'bash "$cluster" down' EXIT
bash "$cluster" down
bash "$cluster" up -n 2
bash "$cluster" hosts 1 > "$OUT/hosts"
mapfile -t across < <(bash "$cluster" mpirun-args)
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT/load.txt"
for r in $(seq 1 "$ROUNDS"); do
  timeout 600 mpirun -np 2 --bind-to none --mca btl self,vader "$BIN/culturegan-bench-comm" "$@" --json \
    > "$OUT/shm-$r.json"
  timeout 600 mpirun -np 2 --hostfile "$OUT/hosts" "${across[@]}" --bind-to none "$BIN/culturegan-bench-comm" "$@" --json \
    > "$OUT/tcp-$r.json"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/load.txt"
/usr/bin/python3 - "$OUT" "$ROUNDS" <<'PYEOF'
import json, sys
out, rounds = sys.argv[1], int(sys.argv[2])
n = lambda x: f"{x:,}".replace(",", " ")
runs = {v: [json.load(open(f"{out}/{v}-{r}.json")) for r in range(1, rounds + 1)] for v in ("shm", "tcp")}
print("\n(a) float32 sum all-reduce, 2 ranks, best round per size\n")
print("| bytes | shared memory µs | algbw GB/s | busbw GB/s | 2 nodes (TCP) µs | algbw GB/s | busbw GB/s | TCP ÷ shm time |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
sizes = [row["bytes"] for row in runs["shm"][0]["sweep"]]
for i, b in enumerate(sizes):
    best = {v: min((run["sweep"][i] for run in runs[v]), key=lambda x: x["time_us"]) for v in runs}
    s, t = best["shm"], best["tcp"]
    print(f"| {n(b)} | {s['time_us']:.1f} | {s['algbw_gbs']:.3f} | {s['busbw_gbs']:.3f} | {t['time_us']:.1f} | "
          f"{t['algbw_gbs']:.3f} | {t['busbw_gbs']:.3f} | {t['time_us'] / s['time_us']:.1f} |")
print("\n(b) gradient sets, best round (µs)\n")
print("| set | path | per tensor | fused | fused + pack/unpack | one MPI_Allreduce | fused vs per tensor | fused vs single |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for key, name in (("gradient_set", "quickstart stargan G+D"), ("gradient_set_starganv2", "starganv2 G+F+E+D")):
    for v, path in (("shm", "shared memory"), ("tcp", "2 nodes (TCP)")):
        g = min((run[key] for run in runs[v]), key=lambda x: x["fused_us"])
        print(f"| {name} ({g['tensors']} tensors, {n(g['bytes'])} B) | {path} | {g['per_tensor_us']:.1f} | {g['fused_us']:.1f} | "
              f"{g['fused_with_pack_us']:.1f} | {g['single_allreduce_us']:.1f} | {g['per_tensor_us'] / g['fused_us']:.2f} | "
              f"{g['single_allreduce_us'] / g['fused_us']:.3f} |")
PYEOF
