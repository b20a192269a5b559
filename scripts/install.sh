#!/usr/bin/env bash
# Installs what splitbrain needs on a fresh Debian/Ubuntu machine (run as root).
#   scripts/install.sh          the harness and the databases it drives
#   scripts/install.sh --tests  also what the test suite needs (chromium, sshd, docker engine)
# Idempotent: a second run installs nothing new and only (re)starts dockerd if it is down.
set -euo pipefail
cd "$(dirname "$0")/.."

want_tests=0
[ "${1:-}" = "--tests" ] && want_tests=1

if [ "$(id -u)" != 0 ]; then
  echo "scripts/install.sh: run as root (it installs Debian packages and creates network namespaces)" >&2
  exit 2
fi

packages=(
  iproute2 iptables procps psmisc util-linux        # netns nodes, partitions, process faults
  faketime libfaketime                               # clock faults
  etcd-server etcd-client                            # targets
  redis-server redis-sentinel
  zookeeperd libslf4j-java
  openssh-client
)
if [ $want_tests = 1 ]; then
  packages+=(openssh-server docker.io debootstrap chromium netcat-openbsd sudo)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  # Databases must not start as host services on install: the tests start
  # their own copies inside network namespaces and containers.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
  trap - EXIT
fi
# Packaged daemons that started anyway are stopped: nothing of ours listens on the host.
for svc in etcd redis-server redis-sentinel zookeeper; do
  pkill -f "^/usr/bin/${svc}( |$)" 2>/dev/null || true
done

python3 -m pip install -q --disable-pip-version-check -e ".[test]" 2>&1 | grep -v "Running pip as the 'root' user" || true

if [ $want_tests = 1 ]; then
  if ! docker info >/dev/null 2>&1; then
    echo "starting dockerd (log: /var/log/splitbrain-dockerd.log)"
    nohup dockerd >/var/log/splitbrain-dockerd.log 2>&1 &
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /var/log/splitbrain-dockerd.log" >&2; exit 1; }
  fi
fi
echo "splitbrain: install done"
