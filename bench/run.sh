#!/usr/bin/env bash
# Compares Bulwark with Debian's HAProxy 2.6 running the same configuration
# file against the same nginx backend, on 127.0.0.1 only.
#
# The proxy under test is pinned to CPU 0 with one thread (GOMAXPROCS=1,
# nbthread 1); wrk, nginx and the idle-connection client share CPU 1. Each
# case runs REPS times, alternating Bulwark and HAProxy, with a fresh proxy
# process per run. The main figure is proxy CPU time (utime+stime from
# /proc/PID/stat) per request that wrk counted.
#
# Environment: DURATION (seconds per run, default 5), REPS (default 3),
# IDLE_CONNS (default 10000, or fewer when `ulimit -n` cannot be raised
# enough: the proxy needs two descriptors per idle client), RATE_DELAY_MS
# (per-connection think time of the rate-limited case, default 4),
# CLOSE_DELAY_MS (the same for l7_close_rate, default 10),
# BASE_PORT (default 18400; uses 9 ports), IDLE_WAIT (the longest wait, in
# seconds, after the idle client's "ready" for the proxy's RSS to settle,
# default 60) and IDLE_STABLE (RSS has settled once it has not fallen for
# this many one-second readings in a row, default 5),
# CASES (space-separated subset of case names), PERF (a perf command and
# its options, "record -e cpu-clock:u -g" or "stat -e raw_syscalls:sys_enter":
# perf watches the proxy through each measured run of a wrk case and writes
# bench/results/<timestamp>/perf-CASE-PROXY-REP.data (record) or .txt (stat),
# to compare where the two proxies spend their time; perf costs CPU, so the
# figures of such a run are not for the tables), PROXIES (default
# "bulwark haproxy"; one of them alone for profiling runs), BENCH_RT (1 = run proxy,
# wrk and nginx under SCHED_FIFO priority 10 so that other work on the
# machine cannot delay their wake-ups; default 1 when root, else 0).
#
# Raw results go to bench/results/<timestamp>/; the summary table, with the
# machine, versions, date and load, also replaces the block between the
# "run.sh summary" markers in docs/performance.md (BENCH_DOCS=0: not).
set -euo pipefail
# The benchmark runs the proxy as whoever runs the script (root on CI
# machines); Bulwark refuses root without this explicit opt-out (HAP-2.1).
export BULWARK_ALLOW_ROOT=1

DURATION=${DURATION:-5}
REPS=${REPS:-3}
RATE_DELAY_MS=${RATE_DELAY_MS:-4}
CLOSE_DELAY_MS=${CLOSE_DELAY_MS:-10}
BASE_PORT=${BASE_PORT:-18400}
ALL_CASES="l7_ka_50 l7_ka_50_scraped l7_ka_256 l7_ka_50_rate l7_close l7_close_rate l7_ka_50_h2srv l4_small l4_1m h2_tls l7_gzip_100k tls_new_p256 tls_new_rsa2048 tls_ka idle"
CASES=${CASES:-$ALL_CASES}

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
NGINX=${NGINX:-/usr/sbin/nginx}

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Install what is missing, only when we may (root with apt-get).
need_pkgs=()
[ -x "$HAPROXY" ] || need_pkgs+=(haproxy)
[ -x "$NGINX" ] || need_pkgs+=(nginx-light)
command -v wrk >/dev/null || need_pkgs+=(wrk)
command -v taskset >/dev/null || need_pkgs+=(util-linux)
command -v ss >/dev/null || need_pkgs+=(iproute2)
command -v h2load >/dev/null || need_pkgs+=(nghttp2-client)
command -v openssl >/dev/null || need_pkgs+=(openssl)
command -v curl >/dev/null || need_pkgs+=(curl)
if [ ${#need_pkgs[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		log "installing ${need_pkgs[*]}"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
	else
		die "missing ${need_pkgs[*]} (run as root to install them)"
	fi
fi
command -v go >/dev/null || die "go not found in PATH"
[ "$(nproc)" -ge 2 ] || die "needs at least 2 CPUs (proxy on CPU 0, load on CPU 1)"

# 10,000 idle client connections plus as many to the backend need more
# descriptors than the usual default.
if [ "$(id -u)" = 0 ]; then
	ulimit -Hn 200000 2>/dev/null || true
fi
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true
NOFILE=$(ulimit -n)
MAXCONN=$(( (NOFILE - 200) / 2 ))
[ "$MAXCONN" -le 50000 ] || MAXCONN=50000
if [ -z "${IDLE_CONNS:-}" ]; then
	IDLE_CONNS=10000
	[ $((MAXCONN - 150)) -ge "$IDLE_CONNS" ] || IDLE_CONNS=$((MAXCONN - 150))
	[ "$IDLE_CONNS" = 10000 ] || log "ulimit -n is $NOFILE: idle case uses $IDLE_CONNS connections"
fi

BENCH_RT=${BENCH_RT:-$([ "$(id -u)" = 0 ] && echo 1 || echo 0)}
if [ "$BENCH_RT" = 1 ]; then
	ON0=(chrt -f 10 taskset -c 0)
	ON1=(chrt -f 10 taskset -c 1)
else
	ON0=(taskset -c 0)
	ON1=(taskset -c 1)
fi

TMP=$(mktemp -d /tmp/bulwark-bench.XXXXXX)
chmod 755 "$TMP"
STAMP=$(date +%Y%m%d-%H%M%S)
OUT="$HERE/results/$STAMP"
mkdir -p "$OUT"
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

forget_pid() {
	local p keep=()
	for p in "${PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	PIDS=("${keep[@]+"${keep[@]}"}")
}

stop_pid() {
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	forget_pid "$1"
}

port_free() { [ -z "$(ss -Htln "sport = :$1")" ]; }

wait_listen() {
	local port=$1 pid=$2 i
	for i in $(seq 1 100); do
		[ -n "$(ss -Htln "sport = :$port")" ] && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

NGX_PORT=$BASE_PORT
HTTP_PORT=$((BASE_PORT + 1))
TCP_PORT=$((BASE_PORT + 2))
TLS_PORT=$((BASE_PORT + 3))
GZIP_PORT=$((BASE_PORT + 4))
RSA_PORT=$((BASE_PORT + 5))
NGX_H2_PORT=$((BASE_PORT + 6))
H2SRV_PORT=$((BASE_PORT + 7))
STATS_PORT=$((BASE_PORT + 8))
for p in $NGX_PORT $HTTP_PORT $TCP_PORT $TLS_PORT $GZIP_PORT $RSA_PORT $NGX_H2_PORT $H2SRV_PORT $STATS_PORT; do
	port_free "$p" || die "port $p is in use (set BASE_PORT)"
done

log "building bulwark and the idle client"
(cd "$ROOT" && go build -o "$TMP/bulwark" ./cmd/bulwark && go build -o "$TMP/idle" ./bench/idle)

# Backend: nginx, one worker on CPU 1.
mkdir -p "$TMP/www" "$TMP/nginx"
head -c 1048576 /dev/zero >"$TMP/www/1m.bin"
chmod 755 "$TMP/www" "$TMP/nginx"
chmod 644 "$TMP/www/1m.bin"
# 100 KB of log-like text for the compression case: compressible, but not
# one repeated line.
# Written whole, then cut: "awk | head -c" lets head exit before awk is
# done, and the SIGPIPE awk then gets fails the script (pipefail), now and
# then.
awk 'BEGIN { for (i = 0; n < 102400; i++) { l = sprintf("%06d GET /api/v1/items/%d?page=%d 200 %d bytes in %d ms\n", i, i * 7919 % 100003, i % 17, i * 31 % 9973, i % 250); printf "%s", l; n += length(l) } }' >"$TMP/www/100k.full"
head -c 102400 "$TMP/www/100k.full" >"$TMP/www/100k.txt"
chmod 644 "$TMP/www/100k.txt"
cat >"$TMP/nginx.conf" <<EOF
daemon off;
worker_processes 1;
worker_rlimit_nofile $NOFILE;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log warn;
events { worker_connections $((NOFILE - 100)); }
http {
	access_log off;
	client_body_temp_path $TMP/nginx/body;
	keepalive_requests 100000000;
	keepalive_timeout 300s;
	sendfile on;
	default_type application/octet-stream;
	server {
		listen 127.0.0.1:$NGX_PORT backlog=4096;
		location = / { return 200 "hello\n"; }
		location = /1m.bin { root $TMP/www; }
		location = /100k.txt { root $TMP/www; default_type text/plain; }
	}
	# HTTP/2 in clear text, prior knowledge ("server ... proto h2").
	server {
		listen 127.0.0.1:$NGX_H2_PORT http2 backlog=4096;
		http2_max_requests 100000000;
		location = / { return 200 "hello\n"; }
	}
}
EOF
"${ON1[@]}" "$NGINX" -p "$TMP/nginx" -c "$TMP/nginx.conf" 2>"$TMP/nginx-start.log" &
NGX_PID=$!
PIDS+=("$NGX_PID")
wait_listen "$NGX_PORT" "$NGX_PID" || { cat "$TMP/nginx-start.log" "$TMP/nginx-error.log" >&2 || true; die "nginx did not start"; }

# A throw-away certificate for the TLS/HTTP2 frontend (key mode 0600: Bulwark
# refuses keys readable by others).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj /CN=localhost -keyout "$TMP/bench.key" -out "$TMP/bench.crt" >/dev/null 2>&1 ||
	die "openssl could not make a certificate"
cat "$TMP/bench.crt" "$TMP/bench.key" >"$TMP/bench.pem"
chmod 600 "$TMP/bench.pem"
# RSA 2048 for the RSA handshake case (the P-256 one above serves the others).
openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
	-subj /CN=localhost -keyout "$TMP/bench-rsa.key" -out "$TMP/bench-rsa.crt" >/dev/null 2>&1 ||
	die "openssl could not make an RSA certificate"
cat "$TMP/bench-rsa.crt" "$TMP/bench-rsa.key" >"$TMP/bench-rsa.pem"
chmod 600 "$TMP/bench-rsa.pem"

# The one configuration both proxies run.
CFG="$OUT/bench.cfg"
cat >"$CFG" <<EOF
global
    nbthread 1
    maxconn $MAXCONN
    # No session cache and (on the binds) no tickets: every new TLS
    # connection of tls_new_* is a full handshake in both proxies, where
    # wrk, which keeps its session, would otherwise resume every time.
    tune.ssl.cachesize 0

defaults
    mode http
    option http-keep-alive
    timeout connect 5s
    timeout client 120s
    timeout server 120s
    timeout http-keep-alive 120s
    timeout http-request 10s

frontend fe_http
    bind 127.0.0.1:$HTTP_PORT
    default_backend be_http

backend be_http
    server nginx 127.0.0.1:$NGX_PORT

frontend fe_h2
    bind 127.0.0.1:$TLS_PORT ssl crt $TMP/bench.pem alpn h2,http/1.1 no-tls-tickets
    default_backend be_http

# HTTP compression (gzip, level 1 in both) of a 100 KB text body that
# nginx sends plain.
frontend fe_gzip
    bind 127.0.0.1:$GZIP_PORT
    default_backend be_gzip

backend be_gzip
    compression algo gzip
    compression type text/plain
    server nginx 127.0.0.1:$NGX_PORT

frontend fe_tls_rsa
    bind 127.0.0.1:$RSA_PORT ssl crt $TMP/bench-rsa.pem alpn http/1.1 no-tls-tickets
    default_backend be_http

# HTTP/1.1 clients, HTTP/2 to the server: streams on shared connections.
frontend fe_h2srv
    bind 127.0.0.1:$H2SRV_PORT
    default_backend be_h2srv

backend be_h2srv
    server nginx 127.0.0.1:$NGX_H2_PORT proto h2

# The stats page, scraped once a second in l7_ka_50_scraped: what the
# counters cost on the request path shows as that case's CPU per request
# beside l7_ka_50's.
listen stats
    bind 127.0.0.1:$STATS_PORT
    stats enable
    stats uri /stats

frontend fe_tcp
    mode tcp
    bind 127.0.0.1:$TCP_PORT
    default_backend be_tcp

backend be_tcp
    mode tcp
    server nginx 127.0.0.1:$NGX_PORT
EOF
"$HAPROXY" -c -q -f "$CFG" || die "haproxy rejects $CFG"
"$TMP/bulwark" -c -f "$CFG" >/dev/null || die "bulwark rejects $CFG"

# wrk's -H needs "Name: value" with a space, which the word-split argument
# lists below cannot carry; a script sets the header instead.
echo 'wrk.headers["Connection"] = "close"' >"$TMP/close.lua"
echo 'wrk.headers["Accept-Encoding"] = "gzip"' >"$TMP/gzip.lua"

# Rate-limited variant: each connection waits RATE_DELAY_MS between requests,
# so both proxies see about the same offered load (wrk2 is not packaged).
cat >"$TMP/delay.lua" <<EOF
function delay()
	return $RATE_DELAY_MS
end
EOF
# A connection per request at about a third of either proxy's capacity:
# l7_close saturates the proxy, whose p99 is then that of the machine (under
# BENCH_RT, the kernel's real-time throttling stops the proxy for 50 ms each
# second); this one compares latency at the same offered load.
cat >"$TMP/closerate.lua" <<EOF
wrk.headers["Connection"] = "close"
function delay()
	return $CLOSE_DELAY_MS
end
EOF

PROXY_PID=
start_proxy() { # name
	case $1 in
	bulwark) GOMAXPROCS=1 "${ON0[@]}" "$TMP/bulwark" -f "$CFG" >>"$OUT/bulwark.log" 2>&1 & ;;
	haproxy) "${ON0[@]}" "$HAPROXY" -db -f "$CFG" >>"$OUT/haproxy.log" 2>&1 & ;;
	esac
	PROXY_PID=$!
	PIDS+=("$PROXY_PID")
	wait_listen "$HTTP_PORT" "$PROXY_PID" && wait_listen "$TCP_PORT" "$PROXY_PID" &&
		wait_listen "$TLS_PORT" "$PROXY_PID" && wait_listen "$GZIP_PORT" "$PROXY_PID" &&
		wait_listen "$RSA_PORT" "$PROXY_PID" && wait_listen "$H2SRV_PORT" "$PROXY_PID" ||
		die "$1 did not start (see $OUT/$1.log)"
}

cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
# user_ticks PID -> utime alone: with cpu_ticks, the user/system split
# says whether a gap is the proxy's own code or the kernel's work for it.
user_ticks() { awk '{ sub(/^.*\) /, ""); print $12 }' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# wrk_args CASE -> scheme, port, path and extra wrk flags. The TLS cases
# speak HTTP/1.1 (wrk sends no ALPN). wrk reuses each connection's OpenSSL
# object (SSL_clear), which keeps its session: after a connection's first
# handshake, every new connection is a TLS 1.3 resumption (ticket and X25519,
# no certificate signature) with both proxies.
wrk_args() {
	case $1 in
	l7_ka_50) echo "http $HTTP_PORT / -c50" ;;
	l7_ka_50_scraped) echo "http $HTTP_PORT / -c50" ;;
	l7_ka_256) echo "http $HTTP_PORT / -c256" ;;
	l7_ka_50_rate) echo "http $HTTP_PORT / -c50 -s $TMP/delay.lua" ;;
	l7_close) echo "http $HTTP_PORT / -c50 -s $TMP/close.lua" ;;
	l7_close_rate) echo "http $HTTP_PORT / -c50 -s $TMP/closerate.lua" ;;
	l7_ka_50_h2srv) echo "http $H2SRV_PORT / -c50" ;;
	l4_small) echo "http $TCP_PORT / -c50" ;;
	l4_1m) echo "http $TCP_PORT /1m.bin -c8" ;;
	l7_gzip_100k) echo "http $GZIP_PORT /100k.txt -c8 -s $TMP/gzip.lua" ;;
	tls_new_p256) echo "https $TLS_PORT / -c50 -s $TMP/close.lua" ;;
	tls_new_rsa2048) echo "https $RSA_PORT / -c50 -s $TMP/close.lua" ;;
	tls_ka) echo "https $TLS_PORT / -c50" ;;
	esac
}

# parse_wrk FILE -> "requests p50_us p99_us errors"
parse_wrk() {
	awk '
	function us(v) {
		if (v ~ /us$/) { sub(/us$/, "", v); return v + 0 }
		if (v ~ /ms$/) { sub(/ms$/, "", v); return v * 1000 }
		if (v ~ /m$/) { sub(/m$/, "", v); return v * 60000000 }
		if (v ~ /s$/) { sub(/s$/, "", v); return v * 1000000 }
		return v + 0
	}
	/ requests in / { req = $1 }
	$1 == "50%" { p50 = us($2) }
	$1 == "99%" { p99 = us($2) }
	/Socket errors/ { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
	/Non-2xx/ { err += $NF }
	END { printf "%d %.0f %.0f %d\n", req, p50, p99, err }
	' "$1"
}

RAW="$OUT/raw.tsv"
printf 'case\tproxy\trep\trequests\tseconds\treq_per_s\tp50_us\tp99_us\terrors\tcpu_s\tcpu_us_per_req\tproxy_cpu_util\tuser_us_per_req\tsys_us_per_req\n' >"$RAW"

run_wrk_case() { # case proxy rep
	local c=$1 px=$2 rep=$3 scheme port path extra t0 t1 u0 u1 w0 w1 f
	read -r scheme port path extra <<<"$(wrk_args "$c")"
	start_proxy "$px"
	# Warm up pools and caches before measuring.
	# shellcheck disable=SC2086
	timeout 20 "${ON1[@]}" wrk -t1 -d1s $extra "$scheme://127.0.0.1:$port$path" >/dev/null 2>&1 || true
	f="$OUT/wrk-$c-$px-$rep.txt"
	local scraper=
	if [ "$c" = l7_ka_50_scraped ]; then
		# One stats CSV a second for the length of the run, bounded.
		(for _ in $(seq 1 $((DURATION + 2))); do
			curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$STATS_PORT/stats;csv" || true
			sleep 1
		done) &
		scraper=$!
		PIDS+=("$scraper")
	fi
	t0=$(cpu_ticks "$PROXY_PID")
	u0=$(user_ticks "$PROXY_PID")
	w0=$(date +%s.%N)
	local perfpid=
	if [ -n "${PERF:-}" ]; then
		# shellcheck disable=SC2086
		local ext=data
		[ "${PERF%% *}" = stat ] && ext=txt
		perf $PERF -p "$PROXY_PID" -o "$OUT/perf-$c-$px-$rep.$ext" >/dev/null 2>&1 &
		perfpid=$!
		PIDS+=("$perfpid")
	fi
	# shellcheck disable=SC2086
	timeout $((DURATION + 30)) "${ON1[@]}" wrk -t1 -d"${DURATION}s" --latency --timeout 5s $extra \
		"$scheme://127.0.0.1:$port$path" >"$f" 2>&1 || log "wrk failed for $c/$px"
	w1=$(date +%s.%N)
	t1=$(cpu_ticks "$PROXY_PID")
	u1=$(user_ticks "$PROXY_PID")
	# perf writes its file on SIGINT (stop_pid's TERM would lose it).
	[ -z "$perfpid" ] || { kill -INT "$perfpid" 2>/dev/null || true; wait "$perfpid" 2>/dev/null || true; forget_pid "$perfpid"; }
	[ -z "$scraper" ] || stop_pid "$scraper"
	stop_pid "$PROXY_PID"
	read -r req p50 p99 err <<<"$(parse_wrk "$f")"
	awk -v c="$c" -v px="$px" -v rep="$rep" -v req="$req" -v p50="$p50" -v p99="$p99" \
		-v err="$err" -v t0="$t0" -v t1="$t1" -v u0="$u0" -v u1="$u1" -v w0="$w0" -v w1="$w1" -v hz="$(getconf CLK_TCK)" 'BEGIN {
		cpu = (t1 - t0) / hz; usr = (u1 - u0) / hz; wall = w1 - w0
		printf "%s\t%s\t%d\t%d\t%.2f\t%.0f\t%s\t%s\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\n", c, px, rep, req, wall,
			(wall > 0 ? req / wall : 0), p50, p99, err, cpu, (req > 0 ? cpu * 1e6 / req : 0), (wall > 0 ? cpu / wall : 0),
			(req > 0 ? usr * 1e6 / req : 0), (req > 0 ? (cpu - usr) * 1e6 / req : 0)
	}' | tee -a "$RAW" >&2
}

# HTTP/2 over TLS with h2load: 50 connections, 10 concurrent streams each,
# for DURATION seconds after a 1 s warm-up. h2load reports no percentiles:
# p50/p99 are left at 0.
run_h2_case() { # proxy rep
	local px=$1 rep=$2 t0 t1 u0 u1 w0 w1 f req err
	start_proxy "$px"
	f="$OUT/h2load-$px-$rep.txt"
	t0=$(cpu_ticks "$PROXY_PID")
	u0=$(user_ticks "$PROXY_PID")
	w0=$(date +%s.%N)
	timeout $((DURATION + 30)) "${ON1[@]}" h2load -c 50 -m 10 -t 1 -D "$DURATION" --warm-up-time=1 \
		"https://127.0.0.1:$TLS_PORT/" >"$f" 2>&1 || log "h2load failed for $px"
	w1=$(date +%s.%N)
	t1=$(cpu_ticks "$PROXY_PID")
	u1=$(user_ticks "$PROXY_PID")
	stop_pid "$PROXY_PID"
	read -r req err <<<"$(awk '/^requests:/ { gsub(/,/, ""); print $8, $10 }' "$f")"
	awk -v px="$px" -v rep="$rep" -v req="${req:-0}" -v err="${err:-0}" -v t0="$t0" -v t1="$t1" \
		-v u0="$u0" -v u1="$u1" -v w0="$w0" -v w1="$w1" -v d="$DURATION" -v hz="$(getconf CLK_TCK)" 'BEGIN {
		cpu = (t1 - t0) / hz; usr = (u1 - u0) / hz; wall = w1 - w0
		printf "h2_tls\t%s\t%d\t%d\t%.2f\t%.0f\t0\t0\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\n", px, rep, req, wall,
			(d > 0 ? req / d : 0), err, cpu, (req > 0 ? cpu * 1e6 / req : 0), (wall > 0 ? cpu / wall : 0),
			(req > 0 ? usr * 1e6 / req : 0), (req > 0 ? (cpu - usr) * 1e6 / req : 0)
	}' | tee -a "$RAW" >&2
}

IDLE_RAW="$OUT/idle.tsv"
printf 'case\tproxy\trep\tconns\trss_before_kb\trss_after_kb\tbytes_per_conn\tserver_conns\tsettle_s\n' >"$IDLE_RAW"
IDLE_WAIT=${IDLE_WAIT:-60}
IDLE_STABLE=${IDLE_STABLE:-5}

# settle_rss PID -> "RSS_KB SECONDS": reads the RSS once a second after the
# idle client is ready until it has not fallen (by more than 0.5 % below
# the lowest reading so far) for IDLE_STABLE readings in a row, or for
# IDLE_WAIT seconds at most; prints the last reading and the seconds
# waited. The same rule for both proxies: memory a proxy hands back after
# the burst that opened the connections counts, memory it keeps counts.
settle_rss() {
	local pid=$1 low r stable=0 waited=0
	low=$(rss_kb "$pid")
	r=$low
	while [ "$stable" -lt "$IDLE_STABLE" ] && [ "$waited" -lt "$IDLE_WAIT" ]; do
		sleep 1
		waited=$((waited + 1))
		r=$(rss_kb "$pid")
		if [ $((r * 1000)) -lt $((low * 995)) ]; then
			stable=0
		else
			stable=$((stable + 1))
		fi
		[ "$r" -ge "$low" ] || low=$r
	done
	echo "$r $waited"
}

run_idle_case() { # proxy rep
	local px=$1 rep=$2 r0 r1 ready cpid i srv waited
	start_proxy "$px"
	timeout 20 "${ON1[@]}" wrk -t1 -c10 -d1s "http://127.0.0.1:$HTTP_PORT/" >/dev/null 2>&1 || true
	sleep 1
	r0=$(rss_kb "$PROXY_PID")
	"${ON1[@]}" "$TMP/idle" -addr "127.0.0.1:$HTTP_PORT" -n "$IDLE_CONNS" -hold "$((IDLE_WAIT + 88))s" \
		>"$TMP/idle.out" 2>"$OUT/idle-$px-$rep.err" &
	cpid=$!
	PIDS+=("$cpid")
	ready=
	for i in $(seq 1 600); do
		ready=$(awk '/^ready/ { print $2 }' "$TMP/idle.out")
		[ -n "$ready" ] && break
		kill -0 "$cpid" 2>/dev/null || break
		sleep 0.1
	done
	read -r r1 waited <<<"$(settle_rss "$PROXY_PID")"
	# Idle server connections the proxy keeps are part of its figure.
	srv=$(ss -Htn state established "( dport = :$NGX_PORT )" | wc -l)
	stop_pid "$cpid"
	stop_pid "$PROXY_PID"
	[ -n "$ready" ] && [ "$ready" -gt 0 ] || { log "idle client failed for $px"; ready=0; }
	awk -v px="$px" -v rep="$rep" -v n="$ready" -v r0="$r0" -v r1="$r1" -v srv="$srv" -v w="$waited" 'BEGIN {
		printf "idle\t%s\t%d\t%d\t%d\t%d\t%.0f\t%d\t%d\n", px, rep, n, r0, r1, (n > 0 ? (r1 - r0) * 1024 / n : 0), srv, w
	}' | tee -a "$IDLE_RAW" >&2
}

{
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "nproc: $(nproc)"
	echo "cpu: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	echo "kernel: $(uname -r)"
	echo "go: $(go version)"
	echo "haproxy: $("$HAPROXY" -v | head -1)"
	echo "nginx: $("$NGINX" -v 2>&1)"
	echo "wrk: $(wrk -v 2>&1 | head -1)"
	echo "openssl: $(openssl version)"
	echo "duration=${DURATION}s reps=$REPS idle_conns=$IDLE_CONNS rate_delay_ms=$RATE_DELAY_MS close_delay_ms=$CLOSE_DELAY_MS idle_wait=${IDLE_WAIT}s idle_stable=$IDLE_STABLE"
	echo "ulimit_n=$NOFILE maxconn=$MAXCONN bench_rt=$BENCH_RT"
	echo "loadavg_at_start: $(cat /proc/loadavg)"
} >"$OUT/machine.txt"

log "results in $OUT"
for c in $CASES; do
	reps=$REPS
	[ "$c" = idle ] && reps=$(( REPS < 2 ? REPS : 2 ))
	for rep in $(seq 1 "$reps"); do
		for px in ${PROXIES:-bulwark haproxy}; do
			log "case $c, $px, run $rep/$reps"
			if [ "$c" = idle ]; then
				run_idle_case "$px" "$rep"
			elif [ "$c" = h2_tls ]; then
				run_h2_case "$px" "$rep"
			else
				run_wrk_case "$c" "$px" "$rep"
			fi
		done
	done
done

# Summary: median over the repetitions, and the Bulwark/HAProxy ratio.
summarize() {
	awk -F'\t' '
	function median(key,   n, i, j, t, a) {
		n = cnt[key]
		for (i = 1; i <= n; i++) a[i] = val[key, i]
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		if (n == 0) return ""
		return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function add(c, px, m, v,   k) {
		k = c SUBSEP px SUBSEP m
		val[k, ++cnt[k]] = v
		if (!((c, m) in seen)) { seen[c, m] = 1; order[++no] = c SUBSEP m }
	}
	FNR == 1 { next }
	FILENAME ~ /raw.tsv$/ {
		add($1, $2, "cpu_us_per_req", $11); add($1, $2, "req_per_s", $6)
		add($1, $2, "p50_us", $7); add($1, $2, "p99_us", $8); add($1, $2, "errors", $9)
		add($1, $2, "proxy_cpu_util", $12)
		if (NF >= 14) { add($1, $2, "user_us_per_req", $13); add($1, $2, "sys_us_per_req", $14) }
	}
	FILENAME ~ /idle.tsv$/ { add($1, $2, "rss_bytes_per_conn", $7); add($1, $2, "server_conns", $8); add($1, $2, "settle_s", $9) }
	END {
		printf "%-14s %-20s %12s %12s %8s\n", "case", "metric", "bulwark", "haproxy", "ratio"
		for (i = 1; i <= no; i++) {
			split(order[i], cm, SUBSEP)
			b = median(cm[1] SUBSEP "bulwark" SUBSEP cm[2]); h = median(cm[1] SUBSEP "haproxy" SUBSEP cm[2])
			r = (h + 0 > 0) ? sprintf("%.2f", b / h) : "-"
			printf "%-14s %-20s %12s %12s %8s\n", cm[1], cm[2], b, h, r
		}
	}' "$RAW" "$IDLE_RAW"
}
summarize | tee "$OUT/summary.txt"
echo "loadavg_at_end: $(cat /proc/loadavg)" >>"$OUT/machine.txt"

# The same table in Markdown, with what it was measured on, for
# docs/performance.md.
{
	echo "<!-- run.sh summary: begin (written by bench/run.sh; do not edit by hand) -->"
	echo "Last \`bench/run.sh\` run: $(awk -F': ' '/^date:/ { print $2 }' "$OUT/machine.txt"), cases \`$CASES\`,"
	echo "DURATION=${DURATION}s, REPS=$REPS (medians), $(nproc) CPUs ($(awk -F': ' '/^cpu:/ { print $2 }' "$OUT/machine.txt")),"
	echo "kernel $(uname -r), $(go version | awk '{ print $3 }'), $("$HAPROXY" -v | head -1 | awk '{ print $1, $2, $3 }'),"
	echo "$("$NGINX" -v 2>&1 | sed 's/^nginx version: //'), $(openssl version | awk '{ print $1, $2 }'), bench_rt=$BENCH_RT."
	echo "Load average at start / end: $(awk -F': ' '/^loadavg_at_start:/ { print $2 }' "$OUT/machine.txt" | cut -d' ' -f1-3) /"
	echo "$(awk -F': ' '/^loadavg_at_end:/ { print $2 }' "$OUT/machine.txt" | cut -d' ' -f1-3) (the machine is shared: CPU per request is the figure to read)."
	echo
	echo "| case | metric | Bulwark | HAProxy | ratio |"
	echo "|---|---|---:|---:|---:|"
	awk 'NR > 1 { printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5 }' "$OUT/summary.txt"
	echo "<!-- run.sh summary: end -->"
} >"$OUT/summary.md"
DOC="$ROOT/docs/performance.md"
if [ "${BENCH_DOCS:-1}" = 1 ] && [ -f "$DOC" ]; then
	if grep -q '^<!-- run.sh summary: begin' "$DOC"; then
		awk -v f="$OUT/summary.md" '
		/^<!-- run.sh summary: begin/ { while ((getline l < f) > 0) print l; skip = 1; next }
		/^<!-- run.sh summary: end/ { skip = 0; next }
		!skip' "$DOC" >"$TMP/perf.md" && cat "$TMP/perf.md" >"$DOC"
	else
		{ echo; echo "## Latest run.sh summary"; echo; cat "$OUT/summary.md"; } >>"$DOC"
	fi
	log "summary written to $DOC"
fi
log "raw results: $OUT"
