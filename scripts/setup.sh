#!/usr/bin/env bash
# Installs what kubemeta needs on a Debian machine with Node >= 20: nats-server, etcd, protoc and
# chromium (the web console's browser test drives /usr/bin/chromium with playwright-core) from
# Debian's packages (only when missing), python3-protobuf and python3-kubernetes (the Python
# example agent and the official Python client's test against the sim), the npm dependencies
# (npm ci), and the build (dist/). Idempotent: a second run takes a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "kubemeta needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

missing=()
command -v nats-server >/dev/null || missing+=(nats-server)
command -v etcd >/dev/null || missing+=(etcd-server)
command -v protoc >/dev/null || missing+=(protobuf-compiler)
dpkg -s python3-protobuf >/dev/null 2>&1 || missing+=(python3-protobuf) # examples/python-agent
dpkg -s python3-kubernetes >/dev/null 2>&1 || missing+=(python3-kubernetes) # the official Python client against the sim
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v promtool >/dev/null || missing+=(prometheus) # promtool checks deploy/monitoring's alert rules; the package's service does not start without systemd
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "== installing ${missing[*]} (Debian packages)" >&2
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== npm ci" >&2
  npm ci --no-audit --no-fund >&2
fi

# The compiled CLI and packages (dist/, packages/sdk/dist/): what `kubemeta` runs. Silent, and a
# no-op (~0.3 s) when the build is current.
npm run --silent build
