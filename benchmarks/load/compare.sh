#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fan-out load benchmark: the same scenarios against nginx+nchan and crier in one run, each
# server pinned to core 0 and crier-load to core 1; prints a table with crier/nchan ratios.
# Exits non-zero when a run gives no result or any row lost, duplicated or reordered an event.
#
# Installs nothing. Needs a built crier-load (cmake --preset release && cmake --build --preset
# release --target crier-load), and for each side: `nginx` with the nchan module (Debian:
# nginx + libnginx-mod-nchan), and crier's bench server (${CRIER_BENCH_SERVER}). A missing side
# is skipped with a message. Traffic goes to 127.0.0.1 only; every process is bounded by
# `timeout` and stopped on exit.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: benchmarks/load/compare.sh [--smoke] [-n N] [--duration S] [--warmup S] [--rate R]
                                  [--publishers K] [--pipeline D] [--scenarios "a b c"]
                                  [--servers "nchan crier crier-bp"] [--channels K]
                                  [--payload-bytes B] [--threads T] [--out FILE] [--keep]

Scenarios (N subscribers):
  a  fan-out: all N on one channel, publishing as fast as the server answers
  b  fan-out: all N on one channel, a fixed rate of R events/s
  c  per-user: subscriber i alone on channel user:i, publishing round-robin, as fast as answered

Servers: nchan (nginx + nchan), crier (crier-bench-server), crier-bp (the same with
  hub_options::backlog_limit = CRIER_BACKLOG_LIMIT, default 8: publishes over the backlog
  are refused with 503 + Retry-After; crier-load resends them after a backoff).

  --smoke          N=200, 2 s per run, the whole script in well under a minute (for CI;
                   exits non-zero if a run gives no result or loses, duplicates or reorders
                   an event, never on the other numbers)
  -n N             subscribers (default 10000; at most the open-file limit minus a margin)
  --duration S     measured seconds per run (default 10)     --warmup S   (default 2)
  --rate R         scenario b's events/s (default 20000/N: 20 000 deliveries/s, 2 ev/s at
                   N=10000; one core delivers ~10^5 events/s, so 1000 ev/s x 10000 is out of reach)
  --pipeline D     publish requests in flight per publisher connection in scenario c
                   (default 1; both servers get the same)
  --publishers K   publisher connections for scenario c (default 4; a and b use one, so that
                   a's latency is one fan-out's, not a queue of them)
  --channels K     channels per stream (default 1): each subscriber also holds K-1 idle
                   channels (crier: &channel=x1..; nchan: one multiplexed /msub/ch,x1,..;
                   crier streams also hold their automatic global and user:i)
  --payload-bytes B  event payload (default 100)
  --threads T      server threads: crier --threads T, nginx worker_processes T, each pinned to
                   cores 0..T-1 and crier-load to core T (default 1). Without a free core for
                   crier-load it shares the last one: compare deliv/cpu-s then, not deliv/s
  --out FILE       append each run's JSON line to FILE
  --keep           keep the temp dir (server configs, logs, crier-load reports)

Environment: N, DURATION, WARMUP, FIXED_RATE, PUBLISHERS, PUBLISHERS_FANOUT, PAYLOAD_BYTES,
PIPELINE, THREADS, SCENARIOS, SERVERS, CHANNELS, CRIER_BACKLOG_LIMIT,
CRIER_LOAD (default build/release/benchmarks/crier-load),
CRIER_BENCH_SERVER (default build/release/benchmarks/crier-bench-server), NGINX (default nginx),
NCHAN_MODULE (path of ngx_nchan_module.so, found automatically), NCHAN_BUFFER_LENGTH (default
1000), NCHAN_MESSAGE_TIMEOUT (default 5m).
EOF
}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
n=${N:-10000}
duration=${DURATION:-10}
warmup=${WARMUP:-2}
idle=2
drain=10
fixed_rate=${FIXED_RATE:-}
publishers=${PUBLISHERS:-4}
pipeline=${PIPELINE:-1}
threads=${THREADS:-1}
publishers_fanout=${PUBLISHERS_FANOUT:-1}
payload_bytes=${PAYLOAD_BYTES:-100}
scenarios=${SCENARIOS:-"a b c"}
servers=${SERVERS:-"nchan crier crier-bp"}
channels=${CHANNELS:-1}
backlog_limit=${CRIER_BACKLOG_LIMIT:-8}
load=${CRIER_LOAD:-$root/build/release/benchmarks/crier-load}
crier_server=${CRIER_BENCH_SERVER:-build/release/benchmarks/crier-bench-server}
nginx=${NGINX:-nginx}
nchan_buffer_length=${NCHAN_BUFFER_LENGTH:-1000}
nchan_message_timeout=${NCHAN_MESSAGE_TIMEOUT:-5m}
out=""
keep=0
smoke=0

while [ $# -gt 0 ]; do
    case "$1" in
        --smoke) smoke=1 ;;
        -n | --connections) n=$2; shift ;;
        --duration) duration=$2; shift ;;
        --warmup) warmup=$2; shift ;;
        --rate) fixed_rate=$2; shift ;;
        --publishers) publishers=$2; shift ;;
        --pipeline) pipeline=$2; shift ;;
        --threads) threads=$2; shift ;;
        --scenarios) scenarios=$2; shift ;;
        --servers) servers=$2; shift ;;
        --channels) channels=$2; shift ;;
        --payload-bytes) payload_bytes=$2; shift ;;
        --out) out=$2; shift ;;
        --keep) keep=1 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "compare.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
if [ "$smoke" = 1 ]; then
    n=${N:-200}; duration=${DURATION:-2}; warmup=${WARMUP:-0.5}; idle=0.5; drain=3
fi
case "$crier_server" in /*) ;; *) crier_server=$root/$crier_server ;; esac

# As many descriptors as allowed: the servers and crier-load inherit it.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fd_limit=$(ulimit -n)
if [ "$fd_limit" != unlimited ] && [ "$n" -gt $((fd_limit - 200)) ]; then
    echo "compare.sh: N=$n is over the open-file limit ($fd_limit); using N=$((fd_limit - 200))"
    n=$((fd_limit - 200))
fi

[ -n "$fixed_rate" ] || fixed_rate=$(awk -v n="$n" 'BEGIN { r = 20000 / n; printf "%g", r < 1 ? 1 : r }')

if [ ! -x "$load" ]; then
    echo "compare.sh: $load not found; build it: cmake --preset release &&" \
         "cmake --build --preset release --target crier-load" >&2
    exit 2
fi
if [ "$(nproc)" -lt 2 ]; then
    echo "compare.sh: fewer than 2 cores: server and client will share one (numbers are rough)"
    server_cpu=0; client_cpu=0
else
    # Server threads on cores 0..T-1, the load on the next core, or on the last if none is free.
    server_cpu=0-$((threads < $(nproc) ? threads - 1 : $(nproc) - 1))
    client_cpu=$((threads < $(nproc) ? threads : $(nproc) - 1))
    [ "$threads" -gt 1 ] || server_cpu=0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/crier-compare.XXXXXX")
chmod 755 "$tmp"  # nginx workers drop root privileges and must reach their temp dir
server_pid=""
client_pid=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    if [ -n "$client_pid" ]; then kill -TERM "$client_pid" 2>/dev/null || true; fi
    stop_server
    if [ "$keep" = 1 ]; then echo "compare.sh: kept $tmp"; else rm -rf "$tmp"; fi
}
stop_server() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$server_pid" 2>/dev/null || true
    fi
    if [ -n "$server_pid" ]; then wait "$server_pid" 2>/dev/null || true; fi
    server_pid=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A port nobody listens on, below the ephemeral range the client's sockets use.
free_port() {
    local p
    for _ in $(seq 100); do
        p=$((20000 + RANDOM % 10000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
    done
    echo "compare.sh: no free port found" >&2
    return 1
}

wait_port() {  # port pid: up to 10 s for the server to accept connections
    for _ in $(seq 100); do
        kill -0 "$2" 2>/dev/null || return 1
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    return 1
}

# One run's time bound: setup + idle + warmup + duration + drain, plus margin.
run_budget=$(awk -v w="$warmup" -v d="$duration" -v i="$idle" -v r="$drain" \
    'BEGIN { printf "%d", 60 + w + d + i + r + 30 }')

# --- nchan ------------------------------------------------------------------------------------

nchan_skip=""
nchan_module=${NCHAN_MODULE:-}
if ! command -v "$nginx" >/dev/null 2>&1; then
    nchan_skip="nginx not installed (apt-get install nginx libnginx-mod-nchan)"
elif "$nginx" -V 2>&1 | grep -q -- '--add-module=[^ ]*nchan'; then
    nchan_module=builtin
elif [ -z "$nchan_module" ]; then
    for f in /usr/lib/nginx/modules/ngx_nchan_module.so /usr/share/nginx/modules/ngx_nchan_module.so \
             /usr/lib64/nginx/modules/ngx_nchan_module.so; do
        if [ -f "$f" ]; then nchan_module=$f; break; fi
    done
    [ -n "$nchan_module" ] || nchan_skip="the nchan module is not installed (apt-get install libnginx-mod-nchan)"
fi

start_nchan() {  # port
    local port=$1 dir=$tmp/nginx-$1 load_line=""
    mkdir -p "$dir"
    chmod 755 "$dir"
    [ "$nchan_module" = builtin ] || load_line="load_module $nchan_module;"
    cat >"$dir/nginx.conf" <<EOF
# Written by compare.sh: one worker, room for every connection, nchan pub/sub.
$load_line
worker_processes $threads;
worker_rlimit_nofile 20000;
daemon off;
master_process on;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {
    # nginx starts closing idle connections once 15/16 of the pool is in use: keep it roomy.
    worker_connections 40000;
    use epoll;
    multi_accept on;
}
http {
    access_log off;
    client_body_temp_path $dir/client_body;
    keepalive_requests 100000000;  # the default (1000) would close publisher connections
    keepalive_timeout 300s;
    nchan_shared_memory_size 256m;
    server {
        listen 127.0.0.1:$port backlog=4096;
        location = /pub {
            nchan_publisher;
            nchan_channel_id \$arg_id;
            # Every message must outlive the run, or a subscriber that falls behind loses it.
            nchan_message_buffer_length $nchan_buffer_length;
            nchan_message_timeout $nchan_message_timeout;
        }
        location ~ ^/sub/(.+)\$ {
            nchan_subscriber eventsource;
            nchan_channel_id \$1;
            nchan_subscriber_first_message newest;
        }
        # Several channels on one stream (--channels): nchan multiplexes up to 255.
        location ~ ^/msub/(.+)\$ {
            nchan_subscriber eventsource;
            nchan_channel_id \$1;
            nchan_channel_id_split_delimiter ",";
            nchan_subscriber_first_message newest;
        }
    }
}
EOF
    taskset -c "$server_cpu" timeout -k 5 "$run_budget" \
        "$nginx" -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" >"$dir/stdout.log" 2>&1 &
    server_pid=$!
    if ! wait_port "$port" "$server_pid"; then
        echo "compare.sh: nginx did not start; see below" >&2
        tail -5 "$dir/error.log" "$dir/stdout.log" >&2 || true
        stop_server
        return 1
    fi
    # RSS and CPU are the workers': the master only supervises.
    local master worker=""
    master=$(cat "$dir/nginx.pid")
    for _ in $(seq 50); do
        worker=$(pgrep -P "$master" | paste -sd, - || true)
        [ "$(echo "$worker" | tr ',' '\n' | grep -c .)" -ge "$threads" ] && break
        sleep 0.1
    done
    measured_pid=${worker:-$master}
}

# --- crier ------------------------------------------------------------------------------------

crier_skip=""
[ -x "$crier_server" ] || crier_skip="crier bench server not built ($crier_server)"
# shellcheck disable=SC2034  # read as ${!skip_var}
crier_bp_skip=$crier_skip

start_crier() {  # port [bench server options]
    local port=$1
    shift
    taskset -c "$server_cpu" timeout -k 5 "$run_budget" \
        "$crier_server" --port "$port" --threads "$threads" "$@" >"$tmp/crier-$port.log" 2>&1 &
    server_pid=$!
    if ! wait_port "$port" "$server_pid"; then
        echo "compare.sh: crier bench server did not start; see below" >&2
        tail -5 "$tmp/crier-$port.log" >&2 || true
        stop_server
        return 1
    fi
    # `timeout` runs the server as its child: RSS and CPU are the child's.
    measured_pid=""
    for _ in $(seq 50); do
        measured_pid=$(pgrep -P "$server_pid" | head -1 || true)
        [ -n "$measured_pid" ] && break
        sleep 0.1
    done
    measured_pid=${measured_pid:-$server_pid}
}

# --- runs -------------------------------------------------------------------------------------

scenario_name() {
    case "$1" in
        a) echo "a fan-out max" ;;
        b) echo "b fan-out ${fixed_rate}/s" ;;
        c) echo "c per-user max" ;;
    esac
}

failed_runs=0
results=$tmp/results.jsonl
: >"$results"

# The idle channels each stream holds beside its own (--channels K): x1 .. x(K-1).
extra_channels() {  # separator prefix
    local j out=""
    for ((j = 1; j < channels; j++)); do out="$out$1$2x$j"; done
    printf '%s' "$out"
}

run_one() {  # scenario server
    local scenario=$1 server=$2 port base mode_args=() server_args=()
    port=$(free_port)
    base="http://127.0.0.1:$port"
    case "$server" in
        nchan)
            start_nchan "$port" || return 1
            local sub="$base/sub/{ch}"
            [ "$channels" -le 1 ] || sub="$base/msub/{ch}$(extra_channels , "")"
            server_args=(--sub-url "$sub" --pub-url "$base/pub?id={ch}"
                         --pub-body '{data}' --pub-content-type 'text/plain')
            ;;
        crier | crier-bp)
            if [ "$server" = crier-bp ]; then
                start_crier "$port" --backlog-limit "$backlog_limit" || return 1
            else
                start_crier "$port" || return 1
            fi
            # crier takes the user from ?user= and subscribes it to user:{user} itself.
            local sub="$base/api/realtime/events?user={i}"
            [ "$scenario" = c ] || sub="$sub&channel={ch}"
            sub="$sub$(extra_channels '&' channel=)"
            server_args=(--sub-url "$sub" --pub-url "$base/api/realtime/publish"
                         --pub-body '{"channels":["{ch}"],"type":"bench","data":"{data_json}"}'
                         --pub-content-type 'application/json')
            ;;
    esac
    case "$scenario" in
        a) mode_args=(--mode fanout --channel bench --rate max --publishers "$publishers_fanout") ;;
        b) mode_args=(--mode fanout --channel bench --rate "$fixed_rate" --publishers 1) ;;
        c) mode_args=(--mode per-user --user-channel 'user:{i}' --rate max
                      --publishers "$publishers" --pipeline "$pipeline") ;;
    esac
    local log=$tmp/$scenario-$server.log rc=0
    # In the background, so that INT/TERM reach the trap at once rather than after the run.
    taskset -c "$client_cpu" timeout -k 5 "$run_budget" "$load" \
        "${server_args[@]}" "${mode_args[@]}" --connections "$n" --duration "$duration" \
        --warmup "$warmup" --idle "$idle" --drain "$drain" --payload-bytes "$payload_bytes" \
        --server-pid "$measured_pid" --label "$scenario/$server" --json >"$log" 2>&1 &
    client_pid=$!
    wait "$client_pid" || rc=$?
    client_pid=""
    stop_server
    grep -v '^{' "$log" || true
    if grep -q '^{' "$log"; then
        grep '^{' "$log" | tail -1 >>"$results"
        [ -z "$out" ] || grep '^{' "$log" | tail -1 >>"$out"
    else
        echo "compare.sh: crier-load gave no result for $scenario/$server (exit $rc):" >&2
        tail -5 "$log" >&2
        failed_runs=$((failed_runs + 1))
    fi
}

echo "compare.sh: N=$n, ${duration} s per run after ${warmup} s warmup, fixed rate ${fixed_rate}/s," \
     "publishers: $publishers_fanout (fan-out) / $publishers (per-user), payload ${payload_bytes} B," \
     "$channels channel(s) per stream, crier-bp backlog limit $backlog_limit;" \
     "servers on core $server_cpu, crier-load on core $client_cpu"
for s in $servers; do
    case "$s" in
        nchan) [ -z "$nchan_skip" ] && echo "compare.sh: nchan: $("$nginx" -v 2>&1), module $nchan_module" \
                   || echo "compare.sh: SKIP nchan: $nchan_skip" ;;
        crier | crier-bp) [ -z "$crier_skip" ] && echo "compare.sh: $s: $crier_server" \
                   || echo "compare.sh: SKIP $s: $crier_skip" ;;
        *) echo "compare.sh: unknown server $s" >&2; exit 2 ;;
    esac
done
echo

for scenario in $scenarios; do
    for s in $servers; do
        skip_var=${s//-/_}_skip
        [ -z "${!skip_var}" ] || continue
        echo "=== $(scenario_name "$scenario") / $s"
        run_one "$scenario" "$s" || failed_runs=$((failed_runs + 1))
    done
done

# --- table ------------------------------------------------------------------------------------

jget() {  # key json-line: a value of crier-load's flat JSON
    sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$2"
}

echo
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }
# Deliveries per second of server CPU: robust to a core shared with other load, when the server
# is the bottleneck (the max-rate scenarios).
per_cpu() { awk -v d="$1" -v c="$2" 'BEGIN { if (c > 0) printf "%.0f", d * 100 / c; else print 0 }'; }
# A run is noisy when a pinned core was busier than its process: other load shared the core.
noisy() {  # who process% core-busy%
    awk -v w="$1" -v p="$2" -v c="$3" 'BEGIN { if (c - p > 25) printf "noisy-%s ", w }'
}
# crier-load near a full core: the run may have measured it rather than the server.
client_bound() {  # process%
    awk -v p="$1" 'BEGIN { if (p >= 90) printf "client-bound " }'
}
fmt='%-18s %-14s %6s %7s %8s %9s %11s %9s %9s %9s %14s %8s %7s %7s %s\n'
# shellcheck disable=SC2059  # the format is this script's own
printf "$fmt" scenario server conns pub/s refused deliv/s deliv/cpu-s 'p50 us' 'p99 us' 'max us' \
    lost/dup/reord RSS/conn 'srv cpu' 'cli cpu' note
bad_rows=0
for scenario in $scenarios; do
    declare -A row=()
    for s in $servers; do
        line=$(grep "\"label\":\"$scenario/$s\"" "$results" | tail -1 || true)
        [ -n "$line" ] || continue
        for k in established published_per_s delivered_per_s latency_us_p50 latency_us_p99 \
                 latency_us_max lost duplicated reordered rss_per_conn_bytes server_cpu_pct pub_refused \
                 client_cpu_pct server_core_busy_pct client_core_busy_pct; do
            row[$s.$k]=$(jget "$k" "$line")
        done
        row[$s.per_cpu]=$(per_cpu "${row[$s.delivered_per_s]}" "${row[$s.server_cpu_pct]}")
        # Zero loss, always: any lost, duplicated or reordered event fails the whole run, and
        # so does a subscriber that never got its stream (it would hide its losses).
        local_bad=""
        if [ "${row[$s.lost]:-1}" != 0 ] || [ "${row[$s.duplicated]:-1}" != 0 ] ||
           [ "${row[$s.reordered]:-1}" != 0 ]; then
            local_bad="FAIL:loss "
        fi
        [ "${row[$s.established]:-0}" = "$n" ] || local_bad="${local_bad}FAIL:conns "
        [ -z "$local_bad" ] || bad_rows=$((bad_rows + 1))
        # shellcheck disable=SC2059
        printf "$fmt" "$(scenario_name "$scenario")" "$s" "${row[$s.established]}" \
            "${row[$s.published_per_s]%.*}" "${row[$s.pub_refused]:-0}" \
            "${row[$s.delivered_per_s]%.*}" "${row[$s.per_cpu]}" \
            "${row[$s.latency_us_p50]}" "${row[$s.latency_us_p99]}" "${row[$s.latency_us_max]}" \
            "${row[$s.lost]}/${row[$s.duplicated]}/${row[$s.reordered]}" \
            "${row[$s.rss_per_conn_bytes]}" "${row[$s.server_cpu_pct]%.*}%" \
            "${row[$s.client_cpu_pct]%.*}%" \
            "$local_bad$(noisy srv "${row[$s.server_cpu_pct]}" "${row[$s.server_core_busy_pct]}")$(noisy \
               cli "${row[$s.client_cpu_pct]}" "${row[$s.client_core_busy_pct]}")$(client_bound \
               "${row[$s.client_cpu_pct]}")"
    done
    for c in crier crier-bp; do
        if [ -n "${row[$c.delivered_per_s]:-}" ] && [ -n "${row[nchan.delivered_per_s]:-}" ]; then
            r() { ratio "${row[$c.$1]}" "${row[nchan.$1]}"; }
            # shellcheck disable=SC2059
            printf "$fmt" "$(scenario_name "$scenario")" "$c/nchan" "" "$(r published_per_s)" "" \
                "$(r delivered_per_s)" "$(r per_cpu)" "$(r latency_us_p50)" \
                "$(r latency_us_p99)" "$(r latency_us_max)" "" "$(r rss_per_conn_bytes)" "" "" ""
        fi
    done
    unset row
done
echo
echo "pub/s: publishes answered 2xx per second; refused: 503/429 answers (each resent after a"
echo "  backoff: they are not lost); deliv/s: events received by all subscribers per"
echo "  second (measured window); deliv/cpu-s: deliv/s per second of server CPU;"
echo "  latency: publish -> receive; RSS/conn: server RSS growth per idle SSE connection, bytes;"
echo "  cpu: % of one core in the window."
echo "noisy-srv/cli: that pinned core was >25 points busier than its process (other load, or"
echo "  softirq): compare with care (deliv/cpu-s holds up best), or rerun on a quiet machine;"
echo "  client-bound: crier-load used >= 90 % of its core, so the server may have had more to give."
echo "Ratios are crier/nchan: above 1 is better for pub/s and deliv/s, below 1 for the others."

status=0
if [ "$failed_runs" -gt 0 ]; then
    echo "compare.sh: $failed_runs run(s) failed to produce a result"
    status=1
fi
if [ "$bad_rows" -gt 0 ]; then
    echo "compare.sh: FAIL: $bad_rows row(s) lost, duplicated or reordered events, or had" \
         "subscribers that never connected"
    status=1
fi
exit "$status"
