#!/usr/bin/env bash
# Load run: N joins (INVITE → 200 → ACK → 100 ms → BYE) at RATE per second,
# by default over TCP (sipp -t t1: one connection), against a freshly built
# parleyd on random loopback ports with its default (info) logging. Prints
# sipp's summary, joins/s and parleyd's peak RSS.
#
#   test/sipp/load.sh [calls] [rate] [t1|u1]
#
# Needs sipp (Debian package sip-tester). Figures go in docs/BENCHMARKS.md.
set -euo pipefail
calls=${1:-5000}
rate=${2:-500}
transport=${3:-t1}
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

go build -o "$tmp/parleyd" "$root/cmd/parleyd"
"$tmp/parleyd" -sip-udp 127.0.0.1:0 -sip-tcp 127.0.0.1:0 -msrp 127.0.0.1:0 >"$tmp/parleyd.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q 'parleyd listening' "$tmp/parleyd.log" && break; sleep 0.1; done
line=$(grep 'parleyd listening' "$tmp/parleyd.log")
udp=$(sed -E 's/.*sip_udp=([^ ]+).*/\1/' <<<"$line")
tcp=$(sed -E 's/.*sip_tcp=([^ ]+).*/\1/' <<<"$line")
target=$tcp
[ "$transport" = u1 ] && target=$udp
echo "parleyd pid $pid at $target ($transport): $calls joins at $rate/s"

start=$(date +%s.%N)
rc=0
( cd "$tmp" && sipp -sf "$root/test/sipp/join.xml" -s loadroom -t "$transport" -i 127.0.0.1 -nostdin \
    -m "$calls" -r "$rate" -l 5000 -timeout 300s -timeout_error "$target" >"$tmp/sipp.out" 2>&1 ) || rc=$?
end=$(date +%s.%N)
grep -E "Successful call|Failed call" "$tmp/sipp.out" | tail -2
awk -v s="$start" -v e="$end" -v n="$calls" 'BEGIN{printf "wall %.2f s: %.0f joins/s end to end (each call lasts >= 100 ms)\n", e-s, n/(e-s)}'
grep -E "VmHWM" /proc/$pid/status | sed 's/^/parleyd peak RSS /'
echo "parleyd errors logged: $(grep -c 'level=ERROR' "$tmp/parleyd.log" || true)"
echo "sipp exit status: $rc"
exit $rc
