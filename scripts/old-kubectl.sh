#!/usr/bin/env bash
# Prints the path of an old kubectl (Debian bookworm's `kubernetes-client`, 1.20), fetched into
# .cache/kubectl-old/ with `apt-get download` + `dpkg -x`. It is never installed: the package
# conflicts with the kubectl that owns /usr/bin/kubectl on these machines. Idempotent: a second
# run only prints the path. Everything but the path goes to stderr.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="$repo/.cache/kubectl-old"
root="$cache/root"
bin="$root/usr/bin/kubectl"

if [[ -x "$bin" ]]; then
  echo "$bin"
  exit 0
fi

mkdir -p "$cache"
cd "$cache"
download() { apt-get download kubernetes-client >&2; }
if ! download; then
  # A fresh machine may have no package lists yet.
  echo "old-kubectl: apt-get download failed; running apt-get update and retrying" >&2
  apt-get update >&2
  download
fi

deb="$(ls -t "$cache"/kubernetes-client_*.deb | head -n 1)"
rm -rf "$root.tmp"
dpkg -x "$deb" "$root.tmp"
# Move into place only when complete, so an interrupted run is not mistaken for a finished one.
rm -rf "$root"
mv "$root.tmp" "$root"
rm -f "$deb"

if [[ ! -x "$bin" ]]; then
  echo "old-kubectl: $deb did not contain usr/bin/kubectl" >&2
  exit 1
fi
echo "$bin"
