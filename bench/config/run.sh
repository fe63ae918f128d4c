#!/usr/bin/env bash
# Compares the time "bulwark -c" and "haproxy -c" take to check the same
# large generated configuration (bench/config/gen: 2,000 backends x 10
# servers, about 34,000 lines). Both commands run RUNS times, interleaved
# (Bulwark, HAProxy, Bulwark, ...) after one unmeasured warm-up each, so that
# other load on the machine hits both alike. Prints each run's wall time,
# then the median, mean and minimum per program and the ratio of medians
# Bulwark / HAProxy. The target (issue 2) is judged on the wall-time medians.
#
# With hyperfine installed (and HYPERFINE=1, the default) hyperfine does the
# runs instead; it does not interleave the two commands.
#
# Environment: RUNS (default 15), BACKENDS (2000), SERVERS (10),
# FRONTENDS (4), HAPROXY (/usr/sbin/haproxy), HYPERFINE (1), OUT (directory
# for the config and raw times; default a fresh temporary directory, kept).
set -euo pipefail

RUNS=${RUNS:-15}
BACKENDS=${BACKENDS:-2000}
SERVERS=${SERVERS:-10}
FRONTENDS=${FRONTENDS:-4}
HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
HYPERFINE=${HYPERFINE:-1}

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${OUT:-$(mktemp -d /tmp/bulwark-configbench.XXXXXX)}
mkdir -p "$OUT"

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ -x "$HAPROXY" ] || die "$HAPROXY not found (apt-get install haproxy)"
command -v go >/dev/null || die "go not found in PATH"

log "building bulwark and the generator into $OUT"
(cd "$ROOT" && go build -o "$OUT/bulwark" ./cmd/bulwark && go build -o "$OUT/gen" ./bench/config/gen)
CFG=$OUT/big.cfg
"$OUT/gen" -o "$CFG" -backends "$BACKENDS" -servers "$SERVERS" -frontends "$FRONTENDS"
log "config: $CFG ($(wc -l <"$CFG") lines, $(wc -c <"$CFG") bytes)"

BUL=("$OUT/bulwark" -c -q -f "$CFG")
HAP=("$HAPROXY" -c -q -f "$CFG")

# Both must accept the file, or the comparison means nothing.
"${BUL[@]}" >"$OUT/bulwark.out" 2>&1 || die "bulwark -c failed: $(cat "$OUT/bulwark.out")"
"${HAP[@]}" >"$OUT/haproxy.out" 2>&1 || die "haproxy -c failed: $(cat "$OUT/haproxy.out")"

{
	echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "cpus: $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
	echo "kernel: $(uname -r)"
	echo "go: $(go version | cut -d' ' -f3-)"
	echo "haproxy: $("$HAPROXY" -v | head -1)"
	echo "loadavg: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "git: $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$ROOT" && git diff --quiet 2>/dev/null || echo ' (dirty)')"
} | tee "$OUT/machine.txt"

if [ "$HYPERFINE" = 1 ] && command -v hyperfine >/dev/null; then
	log "running hyperfine ($RUNS runs each)"
	hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$OUT/hyperfine.json" \
		-n bulwark "${BUL[*]}" -n haproxy "${HAP[*]}"
	exit 0
fi

# ms prints "WALL CPU" for one run of "$@" in milliseconds: wall time from
# date (ns resolution), CPU time (user+system, all threads) from GNU time
# (10 ms resolution; "-" without /usr/bin/time). CPU time is the steadier
# figure on a shared machine: it leaves out time spent waiting for a CPU.
ms() {
	local t0 t1 cpu=-
	if [ -x /usr/bin/time ]; then
		t0=$(date +%s%N)
		/usr/bin/time -f '%U %S' -o "$OUT/time.tmp" "$@" >/dev/null 2>&1 || die "$* failed"
		t1=$(date +%s%N)
		cpu=$(awk '{ printf "%.0f", ($1 + $2) * 1000 }' "$OUT/time.tmp")
	else
		t0=$(date +%s%N)
		"$@" >/dev/null 2>&1 || die "$* failed"
		t1=$(date +%s%N)
	fi
	awk -v a="$t0" -v b="$t1" -v c="$cpu" 'BEGIN { printf "%.3f\t%s\n", (b - a) / 1e6, c }'
}

log "warm-up"
ms "${BUL[@]}" >/dev/null
ms "${HAP[@]}" >/dev/null
: >"$OUT/times.tsv"
for i in $(seq 1 "$RUNS"); do
	b=$(ms "${BUL[@]}")
	h=$(ms "${HAP[@]}")
	# columns: run, bulwark wall, bulwark cpu, haproxy wall, haproxy cpu
	printf '%d\t%s\t%s\n' "$i" "$b" "$h" | tee -a "$OUT/times.tsv"
done

# stats COLUMN prints "median mean min" of a column of times.tsv.
stats() {
	cut -f"$1" "$OUT/times.tsv" | sort -n | awk '
		{ v[NR] = $1; s += $1 }
		END {
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.1f %.1f %.1f\n", m, s / NR, v[1]
		}'
}
read -r bmed bmean bmin < <(stats 2)
read -r hmed hmean hmin < <(stats 4)
bcpu=- hcpu=-
if [ -x /usr/bin/time ]; then
	read -r bcpu _ _ < <(stats 3)
	read -r hcpu _ _ < <(stats 5)
fi
{
	printf 'runs: %d each, interleaved\n' "$RUNS"
	printf '%-8s wall median %8.1f ms  mean %8.1f ms  min %8.1f ms  cpu median %s ms\n' bulwark "$bmed" "$bmean" "$bmin" "$bcpu"
	printf '%-8s wall median %8.1f ms  mean %8.1f ms  min %8.1f ms  cpu median %s ms\n' haproxy "$hmed" "$hmean" "$hmin" "$hcpu"
	awk -v b="$bmed" -v h="$hmed" -v bm="$bmin" -v hm="$hmin" 'BEGIN {
		r = b / h
		printf "ratio bulwark/haproxy (wall): %.2f (medians), %.2f (minimums)\n", r, bm / hm
		printf "target (< 200 ms and <= 0.5 x haproxy): %s\n", (b < 200 && r <= 0.5) ? "met" : "NOT met"
	}'
	if [ "$bcpu" != - ]; then
		awk -v b="$bcpu" -v h="$hcpu" 'BEGIN { if (h > 0) printf "ratio bulwark/haproxy (cpu, medians): %.2f\n", b / h }'
	fi
} | tee "$OUT/summary.txt"
log "raw results in $OUT"
