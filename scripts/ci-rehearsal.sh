#!/usr/bin/env bash
# Rehearses CI from nothing: runs `CI=true bash .ci/run` on a fresh clone of a branch, in an isolated environment
# where no broker runs at first, so scripts/brokers.sh has to start RabbitMQ and ActiveMQ itself. The shared
# brokers of this machine are neither seen nor touched. As root, on the Debian machine of scripts/brokers.sh.
#
#   scripts/ci-rehearsal.sh [--repo DIR] [--keep] [--copy-config] [BRANCH]     (default: the current branch)
#
# The environment (see docs/brokers.md):
#   - a new network namespace (only loopback, up): the machine's brokers are unreachable, and the ports are free;
#   - a new PID namespace: every process started in it (RabbitMQ's Erlang node and epmd, ActiveMQ's JVM, the
#     tests) ends with it;
#   - a new mount namespace with empty tmpfs over /run, /var/lib/rabbitmq, /var/log/rabbitmq, /var/lib/activemq
#     and /var/log/activemq, and copies of /etc/rabbitmq and /etc/activemq bound over the originals, stripped of
#     what scripts/brokers.sh and the TLS test harness add (--copy-config keeps them as they are);
#   - PostgreSQL (127.0.0.1:5432) and NATS (127.0.0.1:4222), which CI pre-starts, relayed into the namespace with
#     socat through Unix sockets;
#   - npm works offline (npm_config_offline=true): the namespace has no route out; packages come from npm's
#     cache (~/.npm), as on a CI runner with a warm cache.
# Only committed work is rehearsed (it is a clone). It prints the duration and the result, checks that no
# process still holds the brokers.sh lock when the run ends (the fd 9 bug of issue 8), and keeps the full log.
# Exit status: that of .ci/run, or 1 when the lock is still held; 2 on bad usage or a missing prerequisite.
set -euo pipefail

SELF=$(readlink -f "$0")
LOCK=/run/tscollective-brokers.lock
# Services CI pre-starts, relayed into the namespace: name, port.
RELAYED=(postgresql:5432 nats:4222)
# Broker ports that must be closed when the run starts.
BROKER_PORTS=(5672 61613 61614 61616)

log() { printf 'ci-rehearsal: %s\n' "$*"; }
die() { printf 'ci-rehearsal: ERROR: %s\n' "$*" >&2; exit 2; }
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# ---- inside the namespaces -----------------------------------------------------------------------------------

# A fresh, empty tmpfs at $1 owned by $2 with mode $3.
fresh_dir() {
  mount -t tmpfs -o "mode=$3" tmpfs "$1"
  chown "$2" "$1"
}

inside() {
  local work=$1 rc=0 started=$SECONDS
  ip link set lo up
  fresh_dir /run root:root 0755
  mkdir -p -m 1777 /run/lock
  fresh_dir /var/lib/rabbitmq rabbitmq:rabbitmq 0755
  fresh_dir /var/log/rabbitmq rabbitmq:rabbitmq 0755
  fresh_dir /var/lib/activemq activemq:root 0755
  install -d -o root -g root -m 0755 /var/lib/activemq/data
  fresh_dir /var/log/activemq activemq:activemq 0755
  mount --bind "$work/etc-rabbitmq" /etc/rabbitmq
  mount --bind "$work/etc-activemq" /etc/activemq

  local entry name port
  for entry in "${RELAYED[@]}"; do
    name=${entry%%:*} port=${entry##*:}
    [[ -S $work/sockets/$name.sock ]] || continue
    socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" "UNIX-CONNECT:$work/sockets/$name.sock" </dev/null >/dev/null 2>&1 &
  done
  for port in "${BROKER_PORTS[@]}"; do
    if port_open "$port"; then log "127.0.0.1:$port is open before the run: the environment is not clean"; return 2; fi
  done
  log "namespace ready: loopback only, no broker running, fresh broker state; relayed: ${RELAYED[*]}"

  cd "$work/src"
  set +e
  CI=true npm_config_offline=true npm_config_update_notifier=false bash .ci/run </dev/null 2>&1 | tee "$work/ci.log"
  rc=${PIPESTATUS[0]}
  set -e
  log ".ci/run exited $rc after $((SECONDS - started)) s"

  # The lock of scripts/brokers.sh must not outlive the script that took it (issue 8: RabbitMQ inherited fd 9).
  local holders=() fd
  for fd in /proc/[0-9]*/fd/*; do
    [[ $(readlink "$fd" 2>/dev/null) == "$LOCK" ]] && holders+=("$(cut -d/ -f3 <<<"$fd") $(tr '\0' ' ' <"/proc/$(cut -d/ -f3 <<<"$fd")/cmdline" 2>/dev/null | cut -c1-100)")
  done
  if ((${#holders[@]} > 0)); then
    log "FAIL: processes still hold $LOCK after the run:"
    printf '    %s\n' "${holders[@]}"
    ((rc != 0)) || rc=1
  else
    log "no process holds $LOCK after the run (brokers running: $(pgrep -c -f 'beam.smp|activemq.jar' || true) processes)"
  fi
  return "$rc"
}

if [[ ${1:-} == --inside ]]; then
  inside "$2"
  exit $?
fi

# ---- outside: prepare, run, report ---------------------------------------------------------------------------

usage() { echo "usage: $0 [--repo DIR] [--keep] [--copy-config] [BRANCH]" >&2; exit 2; }
repo='' keep=0 copy_config=0 branch=''
while (($# > 0)); do
  case $1 in
    --repo) [[ $# -ge 2 ]] || usage; repo=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --copy-config) copy_config=1; shift ;;
    -h|--help) usage ;;
    -*) usage ;;
    *) [[ -z $branch ]] || usage; branch=$1; shift ;;
  esac
done
[[ $(id -u) == 0 ]] || die "must run as root (namespaces, mounts, the brokers)"
for tool in git unshare ip socat npm node; do command -v "$tool" >/dev/null || die "$tool is not installed"; done
checkout=$(git -C "$(dirname "$SELF")" rev-parse --show-toplevel)
repo=${repo:-$checkout}
branch=${branch:-$(git -C "$checkout" rev-parse --abbrev-ref HEAD)}

work=$(mktemp -d /var/tmp/tsc-ci-rehearsal.XXXXXX)
chmod 0755 "$work"
relays=()
cleanup() {
  local pid
  for pid in "${relays[@]}"; do kill "$pid" 2>/dev/null || true; done
  if ((keep == 0)); then rm -rf "$work/src" "$work/etc-rabbitmq" "$work/etc-activemq" "$work/sockets"; fi
}
trap cleanup EXIT

log "cloning $branch from $repo into $work/src"
git clone --quiet --branch "$branch" --single-branch "$repo" "$work/src"
log "commit $(git -C "$work/src" log -1 --format='%h %s' | cut -c1-100)"

# Configuration as the machine has it, without what this project's scripts add (unless --copy-config).
cp -a /etc/rabbitmq "$work/etc-rabbitmq"
cp -a /etc/activemq "$work/etc-activemq"
if ((copy_config == 0)); then
  rm -rf "$work/etc-rabbitmq/tscollective-tls" "$work/etc-rabbitmq/enabled_plugins" \
    "$work/etc-activemq/instances-available/tscollective" "$work/etc-activemq/instances-enabled/tscollective"
  if [[ -f $work/etc-rabbitmq/rabbitmq.conf ]]; then
    # brokers.sh appends "# tscollective (scripts/brokers.sh): ..." and one setting; the TLS harness a marked block.
    awk '/^# BEGIN tscollective /{skip=1} skip{if(/^# END tscollective/)skip=0; next}
         /^# tscollective \(scripts\/brokers.sh\)/{getline; next} {print}' \
      "$work/etc-rabbitmq/rabbitmq.conf" >"$work/rabbitmq.conf.stripped"
    if [[ -s $work/rabbitmq.conf.stripped ]]; then
      install -m 0644 -o rabbitmq -g rabbitmq "$work/rabbitmq.conf.stripped" "$work/etc-rabbitmq/rabbitmq.conf"
    else
      rm -f "$work/etc-rabbitmq/rabbitmq.conf"
    fi
    rm -f "$work/rabbitmq.conf.stripped"
  fi
fi

mkdir -p "$work/sockets"
for entry in "${RELAYED[@]}"; do
  name=${entry%%:*} port=${entry##*:}
  if port_open "$port"; then
    socat "UNIX-LISTEN:$work/sockets/$name.sock,fork,mode=0600" "TCP:127.0.0.1:$port" </dev/null >/dev/null 2>&1 &
    relays+=($!)
  else
    log "$name is not running on 127.0.0.1:$port: not relayed (its tests will fail under CI=true)"
  fi
done
for _ in 1 2 3 4 5 6 7 8 9 10; do
  ready=1
  for entry in "${RELAYED[@]}"; do
    name=${entry%%:*}
    port_open "${entry##*:}" && [[ ! -S $work/sockets/$name.sock ]] && ready=0
  done
  ((ready)) && break
  sleep 0.2
done

log "running CI=true bash .ci/run in new network, mount and PID namespaces"
started=$SECONDS
set +e
unshare --net --mount --pid --fork --mount-proc --propagation private bash "$SELF" --inside "$work"
rc=$?
set -e
elapsed=$((SECONDS - started))
summary=$(grep -E '^# (tests|suites|pass|fail|cancelled|skipped|todo) ' "$work/ci.log" 2>/dev/null | tr -d '#' | tr '\n' ',' | sed 's/ ,/,/g; s/,$//' || true)
log "log: $work/ci.log"
log "$branch: $( ((rc == 0)) && echo PASSED || echo "FAILED (exit $rc)") in $((elapsed / 60)) min $((elapsed % 60)) s;${summary:- no test summary}"
exit "$rc"
