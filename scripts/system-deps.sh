#!/usr/bin/env bash
# What the test suite needs from the system: redis-server, Chromium and docker-compose (Debian
# packages; docker-compose only parses docker-compose.yml, no engine is needed) and a reachable
# PostgreSQL. Installs what is missing when we may (root with apt-get), otherwise
# says exactly what to do.
set -euo pipefail

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v pg_ctlcluster >/dev/null 2>&1 || command -v pg_isready >/dev/null 2>&1 || need+=(postgresql)

if ((${#need[@]})); then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "system-deps: missing ${need[*]}: run 'sudo apt-get install ${need[*]}'" >&2
    exit 1
  fi
fi

# PostgreSQL for the dual-database tests: start the local cluster if it is installed but down.
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [[ $(id -u) == 0 ]]; then
    for version in $(ls /etc/postgresql 2>/dev/null); do
      pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
    done
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && break; sleep 0.5; done
  fi
fi
if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  echo "system-deps: redis-server, chromium, docker-compose and PostgreSQL are ready"
else
  echo "system-deps: PostgreSQL is not reachable on 127.0.0.1:5432; its tests will be skipped" >&2
fi
