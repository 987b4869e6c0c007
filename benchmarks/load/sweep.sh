#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Cost curves: compare.sh at several points of one dimension at a time (subscribers, payload
# size, channels per stream), each point against nchan in the same run, tabulated.
#
# Installs nothing and needs what compare.sh needs. Exits non-zero when a point gave no result
# or any row lost, duplicated or reordered an event (compare.sh's own verdict).
set -euo pipefail

usage() {
    cat <<'EOF'
usage: benchmarks/load/sweep.sh [--smoke] [--full] [--out FILE] [--keep-going]

  subscribers   fan-out (a) and per-user (c) at each N of SWEEP_N
  payload       fan-out (a) at N=SWEEP_PAYLOAD_N, each payload size of SWEEP_PAYLOAD
  channels      fan-out (a) at N=SWEEP_CHANNELS_N, each K of SWEEP_CHANNELS channels per stream
                (the subscribers also hold K-1 idle channels)

  (default)     SWEEP_N="1000 5000 10000", SWEEP_PAYLOAD="100 4096 65536" at N=1000,
                SWEEP_CHANNELS="1 8 64" at N=1000; 4 s per run: about 8 minutes
  --full        SWEEP_N="1000 2000 5000 10000 19000", SWEEP_PAYLOAD="100 1024 4096 16384 65536",
                SWEEP_CHANNELS="1 4 16 64", 10 s per run: about 25 minutes
  --smoke       one small point per dimension, 1 s per run, crier and nchan only: under a minute
  --out FILE    append every run's JSON line (with the point in "sweep") to FILE

Environment: SWEEP_N, SWEEP_PAYLOAD, SWEEP_PAYLOAD_N, SWEEP_CHANNELS, SWEEP_CHANNELS_N,
SWEEP_DIMENSIONS ("subscribers payload channels"), DURATION, WARMUP, SERVERS, and everything
compare.sh reads (CRIER_LOAD, CRIER_BENCH_SERVER, CRIER_BACKLOG_LIMIT, ...).
EOF
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mode=default
out=""
while [ $# -gt 0 ]; do
    case "$1" in
        --smoke) mode=smoke ;;
        --full) mode=full ;;
        --out) out=$2; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "sweep.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

case "$mode" in
    smoke)
        sweep_n=${SWEEP_N:-"100"}; sweep_payload=${SWEEP_PAYLOAD:-"16384"}
        sweep_channels=${SWEEP_CHANNELS:-"8"}; point_n=${SWEEP_PAYLOAD_N:-100}
        channels_n=${SWEEP_CHANNELS_N:-100}; duration=${DURATION:-1}; warmup=${WARMUP:-0.3}
        servers=${SERVERS:-"nchan crier"}
        ;;
    full)
        sweep_n=${SWEEP_N:-"1000 2000 5000 10000 19000"}
        sweep_payload=${SWEEP_PAYLOAD:-"100 1024 4096 16384 65536"}
        sweep_channels=${SWEEP_CHANNELS:-"1 4 16 64"}; point_n=${SWEEP_PAYLOAD_N:-1000}
        channels_n=${SWEEP_CHANNELS_N:-1000}; duration=${DURATION:-10}; warmup=${WARMUP:-2}
        servers=${SERVERS:-"nchan crier crier-bp"}
        ;;
    *)
        sweep_n=${SWEEP_N:-"1000 5000 10000"}; sweep_payload=${SWEEP_PAYLOAD:-"100 4096 65536"}
        sweep_channels=${SWEEP_CHANNELS:-"1 8 64"}; point_n=${SWEEP_PAYLOAD_N:-1000}
        channels_n=${SWEEP_CHANNELS_N:-1000}; duration=${DURATION:-4}; warmup=${WARMUP:-1}
        servers=${SERVERS:-"nchan crier crier-bp"}
        ;;
esac
dimensions=${SWEEP_DIMENSIONS:-"subscribers payload channels"}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/crier-sweep.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
all=$tmp/all.jsonl
: >"$all"
failed=0

point() {  # dimension value scenarios n payload channels
    local dim=$1 value=$2 scen=$3 n=$4 payload=$5 channels=$6 file=$tmp/point.jsonl
    echo "=== sweep $dim=$value: scenarios $scen, N=$n, payload $payload B, $channels channel(s)"
    : >"$file"
    local args=(--scenarios "$scen" --servers "$servers" -n "$n" --duration "$duration"
                --warmup "$warmup" --payload-bytes "$payload" --channels "$channels" --out "$file")
    [ "$mode" != smoke ] || args+=(--smoke)
    if ! N=$n DURATION=$duration WARMUP=$warmup "$here/compare.sh" "${args[@]}" \
        >"$tmp/$dim-$value.log" 2>&1; then
        failed=$((failed + 1))
        grep -E 'compare.sh: (FAIL|.*failed)' "$tmp/$dim-$value.log" || tail -3 "$tmp/$dim-$value.log"
    fi
    sed "s/^{/{\"sweep\":\"$dim=$value\",/" "$file" >>"$all"
}

for dim in $dimensions; do
    case "$dim" in
        subscribers) for v in $sweep_n; do point subscribers "$v" "a c" "$v" 100 1; done ;;
        payload) for v in $sweep_payload; do point payload "$v" a "$point_n" "$v" 1; done ;;
        channels) for v in $sweep_channels; do point channels "$v" a "$channels_n" 100 "$v"; done ;;
        *) echo "sweep.sh: unknown dimension $dim" >&2; exit 2 ;;
    esac
done
[ -z "$out" ] || cat "$all" >>"$out"

# One row per point and scenario: each server's delivered events/s, p99 and loss, and the
# ratios to nchan of the same run.
python3 - "$all" "$servers" <<'EOF'
import json, sys
rows = {}
order = []
for line in open(sys.argv[1]):
    d = json.loads(line)
    scenario, server = d["label"].split("/")
    key = (d["sweep"], scenario)
    if key not in rows:
        rows[key] = {}
        order.append(key)
    rows[key][server] = d
servers = sys.argv[2].split()
def cell(d):
    if d is None:
        return "-"
    loss = f'{d["lost"]}/{d["duplicated"]}/{d["reordered"]}'
    refused = f' r{d.get("pub_refused", 0)}' if d.get("pub_refused") else ""
    return (f'{d["delivered_per_s"]:>10.0f} {d["latency_us_p99"] / 1000:>8.1f} ms '
            f'{d["rss_per_conn_bytes"]:>6.0f} B {loss}{refused}')
head = f'{"point":<18} {"scen":<4} ' + " ".join(f'{s + ": deliv/s, p99, RSS/conn, lost/dup/reord":<52}' for s in servers)
print(head + "  ratios to nchan (deliv/s, p99)")
for key in order:
    r = rows[key]
    line = f'{key[0]:<18} {key[1]:<4} ' + " ".join(f'{cell(r.get(s)):<52}' for s in servers)
    base = r.get("nchan")
    ratios = []
    for s in servers:
        if s == "nchan" or base is None or s not in r or base["delivered_per_s"] <= 0:
            continue
        p99 = r[s]["latency_us_p99"] / base["latency_us_p99"] if base["latency_us_p99"] else 0
        ratios.append(f'{s} {r[s]["delivered_per_s"] / base["delivered_per_s"]:.2f}x {p99:.2f}x')
    print(line + "  " + ", ".join(ratios))
EOF

if [ "$failed" -gt 0 ]; then
    echo "sweep.sh: FAIL: $failed point(s) gave no result or lost, duplicated or reordered events"
    exit 1
fi
