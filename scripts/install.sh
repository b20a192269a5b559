#!/usr/bin/env bash
# Installs what splitbrain needs on a fresh Debian/Ubuntu machine (run as root).
#   scripts/install.sh          the harness and the databases it drives
#   scripts/install.sh --tests  also what the test suite needs (chromium, sshd, docker engine)
# Idempotent: a second run installs nothing new and only (re)starts dockerd if it is down.
# It never stops or kills a process it did not start: a failed step stops the script with the reason.
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
  postgresql-15 patroni                              # transactional targets
  nats-server                                        # the example plugin's target (examples/plugins/splitbrain-nats)
  mariadb-server galera-4 rsync                      # mariadb-galera target (rsync: state transfer)
  fuse3 python3-pyfuse3                              # lazyfs: the disk faults' filesystem
  openssh-client
)
if [ $want_tests = 1 ]; then
  packages+=(openssh-server docker.io debootstrap chromium netcat-openbsd sudo)
fi

# The service unit each packaged daemon brings (Debian's names).
declare -A daemon_units=(
  [etcd-server]=etcd.service [redis-server]=redis-server.service
  [redis-sentinel]=redis-sentinel.service [zookeeperd]=zookeeper.service
  [postgresql-15]=postgresql.service [nats-server]=nats-server.service
  [mariadb-server]=mariadb.service [patroni]=patroni.service
)

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
  apt-get update -qq || { echo "scripts/install.sh: apt-get update failed" >&2; exit 1; }
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
      >/tmp/splitbrain-apt.log 2>&1; then
    tail -20 /tmp/splitbrain-apt.log >&2
    echo "scripts/install.sh: apt-get install failed (full log: /tmp/splitbrain-apt.log)" >&2
    exit 1
  fi
  rm -f /usr/sbin/policy-rc.d
  trap - EXIT
fi
# A packaged daemon that this run just installed and that started anyway (a host without the
# policy-rc.d convention) is stopped through the service manager, by its unit's name.  Nothing
# else is touched: a daemon that was installed before this run may be the user's own service.
if [ ${#missing[@]} -gt 0 ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  for p in "${missing[@]}"; do
    unit=${daemon_units[$p]:-}
    [ -n "$unit" ] || continue
    if systemctl is-active --quiet "$unit"; then
      echo "stopping $unit (installed just now; splitbrain starts its own copies on its nodes)"
      systemctl stop "$unit"
      systemctl disable --quiet "$unit" 2>/dev/null || true
    fi
  done
fi

echo "installing splitbrain (pip install -e .[test])"
if ! PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check -e ".[test]"; then
  echo "scripts/install.sh: pip install of splitbrain failed (see above)" >&2
  exit 1
fi

# The third-party plugin example, installed as its users install it (not editable): its
# entry point registers the nats target, and tests/plugins runs its own test suite.
echo "installing the splitbrain-nats plugin (pip install ./examples/plugins/splitbrain-nats)"
if ! PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check \
    ./examples/plugins/splitbrain-nats; then
  echo "scripts/install.sh: pip install of examples/plugins/splitbrain-nats failed (see above)" >&2
  exit 1
fi

if [ $want_tests = 1 ]; then
  if ! docker info >/dev/null 2>&1; then
    echo "starting dockerd (log: /var/log/splitbrain-dockerd.log)"
    nohup dockerd >/var/log/splitbrain-dockerd.log 2>&1 &
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /var/log/splitbrain-dockerd.log" >&2; exit 1; }
  fi
fi
echo "splitbrain: install done"
