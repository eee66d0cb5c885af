#!/usr/bin/env bash
# A real, throw-away Elasticsearch node for tests and local use.
#
#   scripts/elasticsearch.sh start    download (cached), unpack and start a single node in the background
#   scripts/elasticsearch.sh wait     block until _cluster/health is yellow or green (or fail after a timeout)
#   scripts/elasticsearch.sh stop     stop the node and delete its data directory
#   scripts/elasticsearch.sh kill     kill the node at once (SIGKILL, as a crash would) and keep its
#                                     data: the next `start` restarts it on the same data
#   scripts/elasticsearch.sh status   say whether the node runs, with its health
#
# Every subcommand is idempotent: `start` on a running node, or `stop` on a stopped one, succeeds.
# The node is Maven Central's integ-test-zip build: core modules only, no bundled JDK, no x-pack.
#
# Environment (all optional):
#   FOI_ES_VERSION   Elasticsearch version (default 8.19.21; integ-test-zip 9.x is not published)
#   FOI_ES_PORT      HTTP port on 127.0.0.1 (default 9200)
#   FOI_ES_CACHE     download/unpack cache (default <repo>/.cache/elasticsearch)
#   FOI_ES_HEAP      JVM heap (default 512m)
#   FOI_ES_TIMEOUT   seconds `wait` waits (default 180)
#   ES_JAVA_HOME     JDK to run on (default: OpenJDK 17 for 8.x, Temurin 25 for 9.x, else JAVA_HOME)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VERSION="${FOI_ES_VERSION:-8.19.21}"
PORT="${FOI_ES_PORT:-9200}"
CACHE="${FOI_ES_CACHE:-$ROOT/.cache/elasticsearch}"
HEAP="${FOI_ES_HEAP:-512m}"
TIMEOUT="${FOI_ES_TIMEOUT:-180}"
ES_USER="foi-es"
URL="http://127.0.0.1:${PORT}"
HOME_DIR="$CACHE/elasticsearch-$VERSION"
STATE="$CACHE/node-$PORT"   # holds the node's work directory path (data, logs, config, pid)
ZIP_URL="https://repo1.maven.org/maven2/org/elasticsearch/distribution/integ-test-zip/elasticsearch/$VERSION/elasticsearch-$VERSION.zip"

log() { echo "elasticsearch.sh: $*" >&2; }

health() {
  # Prints the health JSON; fails when nothing answers. The integ-test build has no `GET /`.
  curl -fsS --max-time 3 "$URL/_cluster/health" 2>/dev/null
}

work_dir() { [ -f "$STATE" ] && cat "$STATE" || true; }

node_pid() {
  local dir pid
  dir="$(work_dir)"
  [ -n "$dir" ] && [ -f "$dir/es.pid" ] || return 1
  pid="$(cat "$dir/es.pid" 2>/dev/null)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

pick_java() {
  if [ -n "${ES_JAVA_HOME:-}" ]; then echo "$ES_JAVA_HOME"; return; fi
  local candidates
  if [ "${VERSION%%.*}" -ge 9 ]; then
    candidates="/usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-21-jdk-amd64"
  else
    candidates="/usr/lib/jvm/java-17-openjdk-amd64 /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-21-jdk-amd64"
  fi
  for j in $candidates; do
    if [ -x "$j/bin/java" ]; then echo "$j"; return; fi
  done
  if [ -n "${JAVA_HOME:-}" ]; then echo "$JAVA_HOME"; return; fi
  log "no JDK found: set ES_JAVA_HOME (17+ for Elasticsearch 8, 21+ for 9)"
  exit 1
}

install() {
  [ -x "$HOME_DIR/bin/elasticsearch" ] && return
  mkdir -p "$CACHE"
  local zip="$CACHE/elasticsearch-$VERSION.zip"
  if [ ! -f "$zip" ]; then
    log "downloading $ZIP_URL"
    curl -fSL --retry 3 --retry-delay 2 -o "$zip.part" "$ZIP_URL"
    local want got
    want="$(curl -fsSL --retry 3 "$ZIP_URL.sha1" | cut -c1-40)"
    got="$(sha1sum "$zip.part" | cut -c1-40)"
    if [ "$want" != "$got" ]; then
      rm -f "$zip.part"
      log "checksum mismatch for the download ($got, expected $want)"
      exit 1
    fi
    mv "$zip.part" "$zip"
  fi
  local tmp
  tmp="$(mktemp -d "$CACHE/unpack.XXXXXX")"
  unzip -q "$zip" -d "$tmp"
  rm -rf "$HOME_DIR"
  mv "$tmp/elasticsearch-$VERSION" "$HOME_DIR"
  rm -rf "$tmp"
  # World-readable so the unprivileged node user can load it.
  chmod -R a+rX "$HOME_DIR"
}

ensure_user() {
  # Elasticsearch refuses to run as root: run it as a system user instead.
  if ! getent passwd "$ES_USER" >/dev/null; then
    log "creating system user $ES_USER"
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$ES_USER"
  fi
}

cmd_start() {
  if node_pid >/dev/null; then
    log "already running at $URL (pid $(node_pid))"
    return 0
  fi
  if health >/dev/null; then
    log "a node already answers at $URL; using it"
    return 0
  fi
  install
  local java dir
  java="$(pick_java)"
  dir="$(work_dir)"
  if [ -n "$dir" ] && [ -f "$dir/keep-data" ]; then
    # Killed by `kill`: restart on the same data and config.
    log "restarting on the data kept in $dir"
    rm -f "$dir/keep-data" "$dir/es.pid"
    launch "$java" "$dir"
    return
  fi
  # A stale work dir from a crashed run: clear it.
  if [ -n "$dir" ] && [ -d "$dir" ]; then rm -rf "$dir"; fi
  dir="$(mktemp -d "${TMPDIR:-/tmp}/foi-es-$PORT.XXXXXX")"
  mkdir -p "$dir/data" "$dir/logs" "$dir/tmp"
  cp -r "$HOME_DIR/config" "$dir/config"
  local xpack=""
  if [ -d "$HOME_DIR/modules/x-pack-security" ]; then xpack="xpack.security.enabled: false"; fi
  cat >"$dir/config/elasticsearch.yml" <<EOF
cluster.name: foi-test
node.name: foi-node-$PORT
network.host: 127.0.0.1
http.port: $PORT
transport.port: $((PORT + 100))
discovery.type: single-node
path.data: $dir/data
path.logs: $dir/logs
# Tests run on small, shared disks: never turn indices read-only over free space.
cluster.routing.allocation.disk.threshold_enabled: false
action.destructive_requires_name: false
$xpack
EOF
  echo "$dir" >"$STATE"
  launch "$java" "$dir"
}

launch() {
  local java="$1" dir="$2"
  local run=()
  if [ "$(id -u)" -eq 0 ]; then
    ensure_user
    chown -R "$ES_USER:" "$dir"
    chmod 755 "$dir"
    run=(runuser -u "$ES_USER" --)
  fi
  log "starting Elasticsearch $VERSION on $URL (java $java, work dir $dir)"
  if ! "${run[@]}" env ES_JAVA_HOME="$java" ES_PATH_CONF="$dir/config" ES_TMPDIR="$dir/tmp" \
      ES_JAVA_OPTS="-Xms$HEAP -Xmx$HEAP ${ES_JAVA_OPTS:-}" \
      "$HOME_DIR/bin/elasticsearch" -d -p "$dir/es.pid" >"$dir/startup.log" 2>&1; then
    log "failed to start; last log lines:"
    tail -n 40 "$dir/startup.log" "$dir"/logs/*.log 2>/dev/null >&2 || true
    exit 1
  fi
}

cmd_wait() {
  local deadline=$((SECONDS + TIMEOUT)) body
  while [ "$SECONDS" -lt "$deadline" ]; do
    if body="$(health)" && echo "$body" | grep -Eq '"status":"(yellow|green)"'; then
      log "ready at $URL: $body"
      return 0
    fi
    if [ -n "$(work_dir)" ] && [ -f "$(work_dir)/es.pid" ] && ! node_pid >/dev/null; then
      log "the node exited; last log lines:"
      tail -n 40 "$(work_dir)"/logs/*.log 2>/dev/null >&2 || true
      exit 1
    fi
    sleep 1
  done
  log "not ready at $URL after ${TIMEOUT}s"
  local dir
  dir="$(work_dir)"
  [ -n "$dir" ] && tail -n 40 "$dir"/logs/*.log 2>/dev/null >&2 || true
  exit 1
}

wait_gone() {
  # wait_gone PID TRIES INTERVAL: succeeds once PID has exited, fails if it still runs after that.
  local pid=$1
  for _ in $(seq 1 "$2"); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep "$3"
  done
  ! kill -0 "$pid" 2>/dev/null
}

cmd_stop() {
  local pid dir
  dir="$(work_dir)"
  if pid="$(node_pid)"; then
    log "stopping pid $pid"
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_gone "$pid" 60 0.5; then
      log "still running after 30s; killing"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  else
    log "not running (port $PORT)"
  fi
  if [ -n "$dir" ] && [ -d "$dir" ]; then rm -rf "$dir"; fi
  rm -f "$STATE"
}

cmd_kill() {
  local pid dir
  dir="$(work_dir)"
  if pid="$(node_pid)"; then
    log "killing pid $pid (data kept for the next start)"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 100 0.1 || true
  else
    log "not running (port $PORT)"
  fi
  if [ -n "$dir" ] && [ -d "$dir" ]; then touch "$dir/keep-data"; fi
}

cmd_status() {
  local pid body
  if pid="$(node_pid)"; then
    echo "running: pid $pid, $URL, work dir $(work_dir)"
  else
    echo "not started by this script (port $PORT)"
  fi
  if body="$(health)"; then
    echo "health: $body"
  else
    echo "health: no answer at $URL"
    [ -n "${pid:-}" ] || return 3
  fi
}

case "${1:-}" in
  start) cmd_start ;;
  wait) cmd_wait ;;
  stop) cmd_stop ;;
  kill) cmd_kill ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 start|wait|stop|kill|status" >&2
    exit 2
    ;;
esac
