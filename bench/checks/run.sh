#!/usr/bin/env bash
# Health-check cost: N servers checked every second (default 1,000 at
# "inter 1s"), CPU of the proxy over a bounded window from /proc/PID/stat,
# Bulwark beside HAProxy on the same generated configuration, for plain
# TCP connect checks and for "option httpchk" against one nginx. The
# nginx access log (msec timestamps) shows whether the checks are spread
# over the second or fired in lock-step: the busiest 100 ms bucket is
# compared with the mean.
#
# On a shared machine one window says little: -r REPS repeats every
# measurement, Bulwark and HAProxy interleaved, and ends with the median
# and the range of each.
#
# Usage: bench/checks/run.sh [-n SERVERS] [-w WINDOW_SECONDS] [-r REPS] [-b BULWARK] [-h HAPROXY]
set -eu
N=1000 WINDOW=20 REPS=1 BULWARK="" HAPROXY=/usr/sbin/haproxy
while getopts "n:w:r:b:h:" o; do
    case "$o" in
        n) N=$OPTARG ;; w) WINDOW=$OPTARG ;; r) REPS=$OPTARG ;; b) BULWARK=$OPTARG ;; h) HAPROXY=$OPTARG ;;
        *) exit 2 ;;
    esac
done
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
D=$(mktemp -d -p /tmp bchkXXX)
trap 'for p in $(cat "$D"/*.pid 2>/dev/null); do kill "$p" 2>/dev/null || true; done; rm -rf "$D"' EXIT
if [ -z "$BULWARK" ]; then
    BULWARK=$D/bulwark
    (cd "$ROOT" && go build -o "$BULWARK" ./cmd/bulwark)
fi
export BULWARK_ALLOW_ROOT=1
TPORT=18931 FPORT=18932
HZ=$(getconf CLK_TCK)

cat > "$D/nginx.conf" <<NGX
worker_processes 1;
pid $D/nginx.pid;
error_log $D/nginx.err;
events { worker_connections 4096; }
http {
    log_format t '\$msec';
    access_log $D/access.log t;
    server { listen 127.0.0.1:$TPORT; location / { return 200 "ok\n"; } }
}
NGX
nginx -c "$D/nginx.conf"
sleep 0.5

# gen MODE: the configuration, 10 backends of N/10 servers.
gen() {
    {
        printf 'global\n    maxconn 4000\n'
        printf 'defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n    timeout check 1s\n'
        printf 'frontend fe\n    bind 127.0.0.1:%d\n    default_backend be0\n' $FPORT
        per=$((N / 10))
        for b in $(seq 0 9); do
            printf 'backend be%d\n' "$b"
            [ "$1" = http ] && printf '    option httpchk GET /health\n'
            for s in $(seq 1 $per); do
                printf '    server s%d 127.0.0.1:%d check inter 1s\n' "$s" $TPORT
            done
        done
    } > "$D/$1.cfg"
}

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# measure NAME BIN MODE: CPU percent of one core over WINDOW seconds after
# a warm-up, and the spread of the check arrivals at nginx.
measure() {
    local name=$1 bin=$2 mode=$3 pid t0 t1 s0 s1 pct spread
    "$bin" -f "$D/$mode.cfg" > "$D/$name-$mode.out" 2>&1 &
    pid=$!
    echo $pid > "$D/$name.pid"
    sleep 3
    : > "$D/access.log"
    kill -USR1 "$(cat "$D/nginx.pid")" 2>/dev/null || true
    t0=$(ticks $pid); s0=$(date +%s.%N)
    sleep "$WINDOW"
    t1=$(ticks $pid); s1=$(date +%s.%N)
    kill $pid; wait $pid 2>/dev/null || true
    rm -f "$D/$name.pid"
    pct=$(awk -v a="$t0" -v b="$t1" -v hz="$HZ" -v s0="$s0" -v s1="$s1" 'BEGIN{printf "%.2f", (b-a)/hz/(s1-s0)*100}')
    spread="-"
    if [ "$mode" = http ] && [ -s "$D/access.log" ]; then
        # busiest 100 ms bucket over the mean bucket (1.0 = perfectly even;
        # lock-step checks of 1,000 servers at 1 s would give about 10).
        spread=$(awk 'NR==1{base=$1} {b=int(($1-base)*10); c[b]++; n++} END{m=0; k=0; for (x in c) {k++; if (c[x]>m) m=c[x]} printf "%.2f (%d checks/s)", m/(n/k), n/(k/10)}' "$D/access.log")
    fi
    printf '%-8s %-5s %6s%% of one core   spread (max/mean per 100 ms): %s\n' "$name" "$mode" "$pct" "$spread"
    echo "$name $mode $pct" >> "$D/results"
}

gen tcp
gen http
echo "servers: $N at inter 1s, window ${WINDOW}s, $REPS repetition(s), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for mode in tcp http; do
    for r in $(seq 1 "$REPS"); do
        measure bulwark "$BULWARK" $mode
        measure haproxy "$HAPROXY" $mode
    done
done
kill "$(cat "$D/nginx.pid")"
if [ "$REPS" -gt 1 ]; then
    for mode in tcp http; do
        for name in bulwark haproxy; do
            awk -v n=$name -v m=$mode '$1==n && $2==m {print $3}' "$D/results" | sort -n |
                awk -v n=$name -v m=$mode '{a[NR]=$1} END{printf "%-8s %-5s median %6.2f%% of one core (min %.2f, max %.2f, %d runs)\n", n, m, (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2), a[1], a[NR], NR}'
        done
    done
fi
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
