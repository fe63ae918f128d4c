#!/bin/sh
# Installs the tools the tests drive for real (Debian's haproxy for the
# differential tests, curl and openssl for TLS and HTTP probes, nginx and wrk
# for benchmarks, h2spec for HTTP/2 conformance, pebble for ACME, chromium to render the
# audit's HTML report and the stats page, socat for the runtime API,
# node/npm for Microsoft's SARIF validator, redis-server for the redis
# health-check tests, which skip without it, ip (iproute2) for the audit's
# network-namespace test of HAP-3.2, iptables for the REDIRECT test of
# "option transparent"). Does nothing when they are already there.
set -e
missing=""
for tool in haproxy:haproxy curl:curl openssl:openssl nginx:nginx-light wrk:wrk chromium:chromium npm:npm socat:socat redis-server:redis-server ip:iproute2 iptables:iptables; do
	bin=${tool%%:*}; pkg=${tool#*:}
	if ! command -v "$bin" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$bin" ]; then
		missing="$missing $pkg"
	fi
done
# h2spec (HTTP/2 conformance, a Go module) goes to GOPATH/bin, where the
# Makefile's PATH finds it.
gobin="$(go env GOPATH)/bin"
if ! command -v h2spec >/dev/null 2>&1 && [ ! -x "$gobin/h2spec" ]; then
	echo "install-deps: installing h2spec"
	go install github.com/summerwind/h2spec/cmd/h2spec@v2.2.1+incompatible
fi
# pebble, Let's Encrypt's ACME test server, for the bulwark-acme end-to-end
# tests (internal/acme).
if ! command -v pebble >/dev/null 2>&1 && [ ! -x "$gobin/pebble" ]; then
	echo "install-deps: installing pebble"
	go install github.com/letsencrypt/pebble/v2/cmd/pebble@v2.10.3
fi
# The SARIF validator is an npm package (a self-contained .NET build).
need_sarif=""
if ! command -v sarif-multitool >/dev/null 2>&1; then
	need_sarif=yes
fi
if [ -z "$missing" ] && [ -z "$need_sarif" ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing:$missing${need_sarif:+ @microsoft/sarif-multitool} (run as root, or: sudo apt-get install -y$missing; sudo npm install -g @microsoft/sarif-multitool)" >&2
	exit 1
fi
if [ -n "$missing" ]; then
	echo "install-deps: installing$missing"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
if [ -n "$need_sarif" ]; then
	echo "install-deps: installing @microsoft/sarif-multitool (npm)"
	npm install -g --no-fund --no-audit @microsoft/sarif-multitool >/dev/null
fi
