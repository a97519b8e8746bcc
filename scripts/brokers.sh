#!/usr/bin/env bash
# Brokers for tscollective's STOMP (and AMQP) connectors, on a Debian 12 machine, as root,
# without systemd. Idempotent: run it as often as you like.
#
#   scripts/brokers.sh start|stop|status|restart [activemq|rabbitmq|rabbitmq-bench]   (default: activemq and rabbitmq)
#
# What "start" sets up (see docs/brokers.md):
#   RabbitMQ  AMQP 127.0.0.1:5672, STOMP 127.0.0.1:61613 (rabbitmq_stomp), vhost "/"
#   ActiveMQ  STOMP 127.0.0.1:61614, OpenWire 127.0.0.1:61616 (both loopback only)
#   both      user "mcollective", password "marionette" (override: STOMP_USER / STOMP_PASSWORD)
#   rabbitmq-bench (only when named; `npm run bench:fleet` starts and stops it): a second, dedicated RabbitMQ
#             node for fleet benchmarks, AMQP 127.0.0.1:5680 (RABBITMQ_BENCH_PORT), guest/guest, no plugins,
#             node tscbench@localhost with its own mnesia and log directories under $BENCH_DIR and a raised
#             open-file limit, so it takes thousands of connections without touching the shared node.
#
# "stop rabbitmq" stops the RabbitMQ application (every listener and connection goes away) but
# keeps the Erlang node, so "start" brings it back in seconds; "stop activemq" stops the JVM.
# Works unattended (CI=true, no stdin). Exit status: 0 when every requested broker is up (start,
# restart, status) or down (stop); non-zero otherwise.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

STOMP_USER="${STOMP_USER:-mcollective}"
STOMP_PASSWORD="${STOMP_PASSWORD:-marionette}"
WAIT_SECONDS="${BROKERS_WAIT_SECONDS:-120}"

RABBIT_AMQP_PORT=5672
RABBIT_STOMP_PORT="${RABBITMQ_STOMP_PORT:-61613}"
RABBIT_CONF=/etc/rabbitmq/rabbitmq.conf

BENCH_NODE=tscbench@localhost
BENCH_AMQP_PORT="${RABBITMQ_BENCH_PORT:-5680}"
BENCH_DIR=/var/lib/rabbitmq/tscollective-bench
BENCH_NOFILE="${RABBITMQ_BENCH_NOFILE:-20000}"

AMQ_INSTANCE=tscollective
AMQ_STOMP_PORT="${ACTIVEMQ_STOMP_PORT:-61614}"
AMQ_OPENWIRE_PORT="${ACTIVEMQ_OPENWIRE_PORT:-61616}"
AMQ_HOME=/usr/share/activemq
AMQ_CONF_DIR="/etc/activemq/instances-available/$AMQ_INSTANCE"
AMQ_BASE="/var/lib/activemq/$AMQ_INSTANCE"
AMQ_LOG_DIR=/var/log/activemq
AMQ_LOG="$AMQ_LOG_DIR/$AMQ_INSTANCE.log"
AMQ_PIDFILE="/run/activemq/$AMQ_INSTANCE.pid"

log() { printf 'brokers: %s\n' "$*"; }
die() { printf 'brokers: ERROR: %s\n' "$*" >&2; exit 1; }

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# Waits (bounded) until every given port accepts connections; $1 names the broker.
wait_ports() {
  local name=$1; shift
  local deadline=$((SECONDS + WAIT_SECONDS)) port
  for port in "$@"; do
    until port_open "$port"; do
      if ((SECONDS >= deadline)); then
        log "$name: NOT accepting connections on 127.0.0.1:$port after ${WAIT_SECONDS}s"
        return 1
      fi
      sleep 1
    done
  done
  log "$name: up, accepting connections on 127.0.0.1:$(IFS=,; echo "$*")"
}

# Waits (bounded) until none of the given ports accepts connections.
wait_ports_closed() {
  local name=$1; shift
  local deadline=$((SECONDS + WAIT_SECONDS)) port
  for port in "$@"; do
    while port_open "$port"; do
      if ((SECONDS >= deadline)); then
        log "$name: still accepting connections on 127.0.0.1:$port after ${WAIT_SECONDS}s"
        return 1
      fi
      sleep 1
    done
  done
  log "$name: stopped"
}

apt_updated=0
# Installs the given Debian packages when missing.
ensure_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0
  [[ $(id -u) == 0 ]] || die "need root to install ${missing[*]}"
  if ((apt_updated == 0)); then
    log "apt-get update"
    apt-get update -qq </dev/null >/dev/null 9>&-
    apt_updated=1
  fi
  log "installing ${missing[*]}"
  # policy-rc.d may refuse to start services from maintainer scripts; this script starts them.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null 9>&-
}

# ---- RabbitMQ --------------------------------------------------------------------------------

# Every RabbitMQ command may start long-lived Erlang processes (the node, epmd). They must not inherit the
# lock's descriptor (fd 9), or the lock stays held after this script exits and every later run waits on it.
rabbitmq-server() { command rabbitmq-server "$@" 9>&-; }
rabbitmqctl() { command rabbitmqctl "$@" 9>&-; }
rabbitmq-plugins() { command rabbitmq-plugins "$@" 9>&-; }

rabbit_node_up() { rabbitmqctl -q ping >/dev/null 2>&1; }
# eval runs on the broker's node: it must only inspect, never halt.
rabbit_app_up() { [[ $(rabbitmqctl -q eval 'lists:keymember(rabbit, 1, application:which_applications()).' 2>/dev/null) == true ]]; }

rabbit_configure() {
  # The STOMP listener must be loopback-only, also after a node restart: rabbitmq.conf is read
  # at boot (only once rabbitmq_stomp is enabled, or the key is unknown), the running node
  # gets the same value through application:set_env before the plugin starts.
  rabbitmqctl -q eval "application:load(rabbitmq_stomp), application:set_env(rabbitmq_stomp, tcp_listeners, [{\"127.0.0.1\", $RABBIT_STOMP_PORT}])." >/dev/null
  if ! rabbitmq-plugins -q is_enabled rabbitmq_stomp >/dev/null 2>&1; then
    log "rabbitmq: enabling rabbitmq_stomp"
    rabbitmq-plugins -q enable rabbitmq_stomp >/dev/null
  fi
  if ! grep -q '^stomp.listeners.tcp.1' "$RABBIT_CONF" 2>/dev/null; then
    log "rabbitmq: STOMP listener 127.0.0.1:$RABBIT_STOMP_PORT added to $RABBIT_CONF"
    printf '# tscollective (scripts/brokers.sh): STOMP on loopback only\nstomp.listeners.tcp.1 = 127.0.0.1:%s\n' "$RABBIT_STOMP_PORT" >>"$RABBIT_CONF"
  fi
  if ! rabbitmqctl -q list_users 2>/dev/null | awk '{print $1}' | grep -qx "$STOMP_USER"; then
    log "rabbitmq: creating user $STOMP_USER"
    rabbitmqctl -q add_user "$STOMP_USER" "$STOMP_PASSWORD" >/dev/null
  else
    # Keeps the documented password even if someone changed it.
    rabbitmqctl -q change_password "$STOMP_USER" "$STOMP_PASSWORD" >/dev/null
  fi
  rabbitmqctl -q set_permissions -p / "$STOMP_USER" '.*' '.*' '.*' >/dev/null
}

rabbit_start() {
  ensure_packages rabbitmq-server
  if ! grep -q '^listeners.tcp' "$RABBIT_CONF" 2>/dev/null; then
    # Read at the next boot of the node; a fresh install has not booted one yet.
    log "rabbitmq: AMQP listener 127.0.0.1:$RABBIT_AMQP_PORT added to $RABBIT_CONF"
    printf '# tscollective (scripts/brokers.sh): AMQP on loopback only\nlisteners.tcp.local = 127.0.0.1:%s\n' "$RABBIT_AMQP_PORT" >>"$RABBIT_CONF"
  fi
  if ! rabbit_node_up; then
    log "rabbitmq: starting node (rabbitmq-server -detached)"
    rabbitmq-server -detached </dev/null >/dev/null 2>&1 || true
    local deadline=$((SECONDS + WAIT_SECONDS))
    until rabbitmqctl -q await_startup >/dev/null 2>&1; do
      ((SECONDS < deadline)) || { log "rabbitmq: node did not start within ${WAIT_SECONDS}s"; return 1; }
      sleep 2
    done
  elif ! rabbit_app_up; then
    log "rabbitmq: starting application (rabbitmqctl start_app)"
    rabbitmqctl -q start_app >/dev/null
  fi
  rabbit_configure
  wait_ports rabbitmq "$RABBIT_AMQP_PORT" "$RABBIT_STOMP_PORT"
}

rabbit_stop() {
  if rabbit_node_up && rabbit_app_up; then
    log "rabbitmq: stopping application (rabbitmqctl stop_app)"
    rabbitmqctl -q stop_app >/dev/null
  fi
  wait_ports_closed rabbitmq "$RABBIT_AMQP_PORT" "$RABBIT_STOMP_PORT"
}

rabbit_status() {
  if port_open "$RABBIT_AMQP_PORT" && port_open "$RABBIT_STOMP_PORT"; then
    log "rabbitmq: up (AMQP 127.0.0.1:$RABBIT_AMQP_PORT, STOMP 127.0.0.1:$RABBIT_STOMP_PORT)"
  else
    log "rabbitmq: DOWN (AMQP 127.0.0.1:$RABBIT_AMQP_PORT $(port_open "$RABBIT_AMQP_PORT" && echo open || echo closed), STOMP 127.0.0.1:$RABBIT_STOMP_PORT $(port_open "$RABBIT_STOMP_PORT" && echo open || echo closed))"
    return 1
  fi
}

# ---- the dedicated benchmark node ---------------------------------------------------------------

bench_node_up() { rabbitmqctl -n "$BENCH_NODE" -q ping >/dev/null 2>&1; }

bench_start() {
  ensure_packages rabbitmq-server
  if bench_node_up; then
    wait_ports rabbitmq-bench "$BENCH_AMQP_PORT"
    return
  fi
  install -d -o rabbitmq -g rabbitmq "$BENCH_DIR"
  printf '# Written by tscollective scripts/brokers.sh (rabbitmq-bench)\nlisteners.tcp.local = 127.0.0.1:%s\n' "$BENCH_AMQP_PORT" >"$BENCH_DIR/rabbitmq.conf"
  echo '[].' >"$BENCH_DIR/enabled_plugins"
  chown rabbitmq:rabbitmq "$BENCH_DIR/rabbitmq.conf" "$BENCH_DIR/enabled_plugins"
  log "rabbitmq-bench: starting node $BENCH_NODE (AMQP 127.0.0.1:$BENCH_AMQP_PORT, $BENCH_NOFILE open files)"
  # setpriv, not su: su's PAM session would reset the raised open-file limit to 1024 (about 830 connections).
  (
    cd /var/lib/rabbitmq
    ulimit -n "$BENCH_NOFILE"
    export HOME=/var/lib/rabbitmq RABBITMQ_NODENAME="$BENCH_NODE" RABBITMQ_NODE_PORT="$BENCH_AMQP_PORT" \
      RABBITMQ_DIST_PORT="$((BENCH_AMQP_PORT + 20000))" RABBITMQ_CONFIG_FILE="$BENCH_DIR/rabbitmq.conf" \
      RABBITMQ_ADVANCED_CONFIG_FILE="$BENCH_DIR/advanced.config" RABBITMQ_ENABLED_PLUGINS_FILE="$BENCH_DIR/enabled_plugins" \
      RABBITMQ_MNESIA_BASE="$BENCH_DIR/mnesia" RABBITMQ_LOG_BASE="$BENCH_DIR/log" RABBITMQ_PID_FILE="$BENCH_DIR/pid"
    exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups /usr/lib/rabbitmq/bin/rabbitmq-server -detached </dev/null >/dev/null 2>&1 9>&-
  ) || true
  local deadline=$((SECONDS + WAIT_SECONDS))
  until rabbitmqctl -n "$BENCH_NODE" -q await_startup >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { log "rabbitmq-bench: node did not start within ${WAIT_SECONDS}s (logs: $BENCH_DIR/log)"; return 1; }
    sleep 2
  done
  wait_ports rabbitmq-bench "$BENCH_AMQP_PORT"
}

bench_stop() {
  if bench_node_up; then
    log "rabbitmq-bench: stopping node $BENCH_NODE"
    rabbitmqctl -n "$BENCH_NODE" -q stop >/dev/null 2>&1 || true
  fi
  wait_ports_closed rabbitmq-bench "$BENCH_AMQP_PORT"
}

bench_status() {
  if port_open "$BENCH_AMQP_PORT"; then
    log "rabbitmq-bench: up (AMQP 127.0.0.1:$BENCH_AMQP_PORT, node $BENCH_NODE)"
  else
    log "rabbitmq-bench: DOWN (AMQP 127.0.0.1:$BENCH_AMQP_PORT closed)"
    return 1
  fi
}

# ---- ActiveMQ --------------------------------------------------------------------------------

amq_write_config() {
  mkdir -p "$AMQ_CONF_DIR" "$AMQ_BASE/data" "$AMQ_BASE/tmp" "$AMQ_LOG_DIR" "$(dirname "$AMQ_PIDFILE")"
  local xml="$AMQ_CONF_DIR/activemq.xml" tmp
  tmp=$(mktemp)
  cat >"$tmp" <<XML
<!-- Written by tscollective scripts/brokers.sh; rewritten on every start. -->
<beans xmlns="http://www.springframework.org/schema/beans"
       xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
       xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans-2.0.xsd
                           http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
  <broker xmlns="http://activemq.apache.org/schema/core" brokerName="tscollective" useJmx="false"
          persistent="false" dataDirectory="$AMQ_BASE/data" schedulePeriodForDestinationPurge="10000">
    <destinationPolicy>
      <policyMap>
        <policyEntries>
          <!-- Reply queues are per client process: drop them once idle so they do not pile up. -->
          <policyEntry queue="&gt;" gcInactiveDestinations="true" inactiveTimoutBeforeGC="300000" expireMessagesPeriod="1000"/>
          <policyEntry topic="&gt;" expireMessagesPeriod="1000"/>
        </policyEntries>
      </policyMap>
    </destinationPolicy>
    <plugins>
      <simpleAuthenticationPlugin anonymousAccessAllowed="false">
        <users>
          <authenticationUser username="$STOMP_USER" password="$STOMP_PASSWORD" groups="mcollective,everyone"/>
        </users>
      </simpleAuthenticationPlugin>
    </plugins>
    <systemUsage>
      <systemUsage>
        <memoryUsage><memoryUsage limit="64 mb"/></memoryUsage>
        <tempUsage><tempUsage limit="512 mb"/></tempUsage>
      </systemUsage>
    </systemUsage>
    <transportConnectors>
      <transportConnector name="openwire" uri="tcp://127.0.0.1:$AMQ_OPENWIRE_PORT"/>
      <transportConnector name="stomp" uri="stomp+nio://127.0.0.1:$AMQ_STOMP_PORT?transport.hbGracePeriodMultiplier=1.5&amp;wireFormat.maxFrameSize=33554432&amp;wireFormat.maxDataLength=33554432"/>
    </transportConnectors>
  </broker>
</beans>
XML
  if ! cmp -s "$tmp" "$xml"; then
    log "activemq: writing $xml (STOMP 127.0.0.1:$AMQ_STOMP_PORT, OpenWire 127.0.0.1:$AMQ_OPENWIRE_PORT)"
    install -m 0640 -g activemq "$tmp" "$xml"
  fi
  rm -f "$tmp"
  # Debian's ActiveMQ logs through log4j 1.2 (slf4j-log4j12): send it to stdout, that is $AMQ_LOG.
  printf '%s\n' 'log4j.rootLogger=INFO, console' 'log4j.logger.org.apache.activemq.spring=WARN' \
    'log4j.logger.org.springframework=WARN' 'log4j.logger.org.apache.xbean=WARN' \
    'log4j.appender.console=org.apache.log4j.ConsoleAppender' \
    'log4j.appender.console.layout=org.apache.log4j.PatternLayout' \
    'log4j.appender.console.layout.ConversionPattern=%d{ISO8601} %-5p %c{1} - %m%n' >"$AMQ_CONF_DIR/log4j.properties"
  [[ -e "/etc/activemq/instances-enabled/$AMQ_INSTANCE" ]] || ln -s "$AMQ_CONF_DIR" "/etc/activemq/instances-enabled/$AMQ_INSTANCE"
  chown -R activemq:activemq "$AMQ_BASE" "$AMQ_LOG_DIR"
}

amq_pid() {
  local pid
  [[ -f $AMQ_PIDFILE ]] || return 1
  pid=$(<"$AMQ_PIDFILE")
  [[ -n $pid && -d /proc/$pid ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "activemq.base=$AMQ_BASE" && echo "$pid"
}

amq_start() {
  ensure_packages activemq default-jre-headless
  amq_write_config
  if amq_pid >/dev/null; then
    log "activemq: already running (pid $(amq_pid))"
  else
    log "activemq: starting (log $AMQ_LOG)"
    local java
    java=$(command -v java) || die "java not found"
    # setpriv execs java directly, so the recorded pid is the JVM's; no systemd, no init script.
    (cd "$AMQ_BASE" && exec setpriv --reuid=activemq --regid=activemq --init-groups \
      "$java" -Xms128M -Xmx384M -Djava.awt.headless=true \
      -Dorg.apache.activemq.UseDedicatedTaskRunner=false \
      -Djava.io.tmpdir="$AMQ_BASE/tmp" \
      -Dlog4j.configuration="file:$AMQ_CONF_DIR/log4j.properties" \
      -Dactivemq.classpath="$AMQ_CONF_DIR:$AMQ_HOME/lib/" \
      -Dactivemq.home="$AMQ_HOME" -Dactivemq.base="$AMQ_BASE" \
      -Dactivemq.conf="$AMQ_CONF_DIR" -Dactivemq.data="$AMQ_BASE/data" \
      -jar "$AMQ_HOME/bin/activemq.jar" start "xbean:file:$AMQ_CONF_DIR/activemq.xml" \
      </dev/null >>"$AMQ_LOG" 2>&1 9>&-) &
    echo $! >"$AMQ_PIDFILE"
    disown || true
  fi
  if ! wait_ports activemq "$AMQ_STOMP_PORT" "$AMQ_OPENWIRE_PORT"; then
    log "activemq: last lines of $AMQ_LOG:"
    tail -n 20 "$AMQ_LOG" | sed 's/^/    /'
    return 1
  fi
}

amq_stop() {
  local pid
  if pid=$(amq_pid); then
    log "activemq: stopping pid $pid"
    kill -TERM "$pid"
    local deadline=$((SECONDS + 30))
    while [[ -d /proc/$pid ]] && ((SECONDS < deadline)); do sleep 1; done
    if [[ -d /proc/$pid ]]; then
      log "activemq: pid $pid ignored SIGTERM for 30s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$AMQ_PIDFILE"
  wait_ports_closed activemq "$AMQ_STOMP_PORT"
}

amq_status() {
  if port_open "$AMQ_STOMP_PORT"; then
    log "activemq: up (STOMP 127.0.0.1:$AMQ_STOMP_PORT$(amq_pid >/dev/null && echo ", pid $(amq_pid)"))"
  else
    log "activemq: DOWN (STOMP 127.0.0.1:$AMQ_STOMP_PORT closed)"
    return 1
  fi
}

# ---- main ------------------------------------------------------------------------------------

usage() { echo "usage: $0 start|stop|status|restart [activemq|rabbitmq|rabbitmq-bench]" >&2; exit 2; }

action=${1:-}
[[ $# -le 2 ]] || usage
case ${2:-all} in
  all) brokers=(rabbitmq activemq) ;;
  rabbitmq|activemq|rabbitmq-bench) brokers=("$2") ;;
  *) usage ;;
esac

# Serializes concurrent runs (test files restarting brokers in parallel would interleave otherwise).
if [[ $action != status ]]; then
  exec 9>/run/tscollective-brokers.lock
  flock -w "$((WAIT_SECONDS * 3))" 9 || die "another scripts/brokers.sh still holds /run/tscollective-brokers.lock"
fi

status=0
for broker in "${brokers[@]}"; do
  case $broker in rabbitmq) prefix=rabbit ;; activemq) prefix=amq ;; rabbitmq-bench) prefix=bench ;; esac
  case $action in
    start) "${prefix}_start" || status=1 ;;
    stop) "${prefix}_stop" || status=1 ;;
    restart) { "${prefix}_stop" && "${prefix}_start"; } || status=1 ;;
    status) "${prefix}_status" || status=1 ;;
    *) usage ;;
  esac
done
exit $status
