#!/usr/bin/env bash
# Makes PostgreSQL and Redis available for `make test` and prints the environment to
# use, as `export` lines on stdout (everything else goes to stderr).
#   - DATABASE_URL / REDIS_URL set and answering: used as they are.
#   - otherwise localhost (127.0.0.1:5432 trust auth, 127.0.0.1:6379) if it answers;
#   - otherwise a throwaway server started from the installed binaries in a temporary
#     directory, on a free port, stopped by hack/test.sh when the tests end.
#   - CATALYST_TEST_FAKETIME="2027-12-31 23:59:30": a throwaway PostgreSQL whose clock
#     reads that date (Debian's faketime, as an offset), so a test that leans on the
#     database's now() instead of the injected clock fails (make test-clock). Redis
#     keeps the real time: libfaketime breaks its jemalloc, and Redis TIME is only the
#     production rate limiter's clock (tests inject theirs).
set -euo pipefail

say() { echo "make test: $*" >&2; }
state_dir=${CATALYST_TEST_STATE:-$(mktemp -d -t catalyst-test-XXXXXX)}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# install PKG...: installs Debian packages when missing and we may (root with apt-get).
install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing $* from Debian's packages"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
  else
    say "need $* installed (apt-get install $*)"; exit 1
  fi
}

# Servers run under faketime when CATALYST_TEST_FAKETIME is set.
clock=()
if [ -n "${CATALYST_TEST_FAKETIME:-}" ]; then
  command -v faketime >/dev/null 2>&1 || install faketime
  # An offset, not an absolute start: every process PostgreSQL forks then agrees on
  # the time, and pg_ctl's wait sees the server it started.
  offset=$(( $(date -ud "$CATALYST_TEST_FAKETIME" +%s) - $(date +%s) ))
  clock=(env DONT_FAKE_MONOTONIC=1 faketime -f "$(printf %+d "$offset")s")
  say "starting a throwaway PostgreSQL whose clock reads $CATALYST_TEST_FAKETIME"
fi

pg_answers() { # $1 = URL
  command -v psql >/dev/null 2>&1 && psql "$1" -Atqc 'select 1' >/dev/null 2>&1
}

redis_answers() { # $1 = URL
  command -v redis-cli >/dev/null 2>&1 && [ "$(redis-cli -u "$1" ping 2>/dev/null)" = PONG ]
}

# The README walkthrough test keeps ids with jq, as the README does.
command -v jq >/dev/null 2>&1 || install jq

# --- PostgreSQL -------------------------------------------------------------------
db_url=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
if [ ${#clock[@]} = 0 ] && pg_answers "$db_url"; then
  say "PostgreSQL answers at ${db_url%%\?*}; using it"
else
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ] || ! command -v psql >/dev/null 2>&1; then
    install postgresql postgresql-client
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  fi
  port=$(free_port)
  data="$state_dir/pg"
  mkdir -p "$data"
  runas=()
  if [ "$(id -u)" = 0 ]; then chown -R postgres "$state_dir"; runas=(runuser -u postgres --); fi
  say "PostgreSQL does not answer at ${db_url%%\?*}; starting a throwaway one on 127.0.0.1:$port in $data"
  "${runas[@]}" "$bindir/initdb" -D "$data" -A trust -U postgres >/dev/null
  if [ ${#clock[@]} = 0 ]; then
    "${runas[@]}" "$bindir/pg_ctl" -D "$data" -o "-p $port -k $data -c listen_addresses=127.0.0.1" -l "$data/log" -w start >/dev/null
  else # pg_ctl's wait compares its clock with the server's pid file: start the server itself
    "${runas[@]}" setsid "${clock[@]}" "$bindir/postgres" -D "$data" -p "$port" -k "$data" -c listen_addresses=127.0.0.1 >"$data/log" 2>&1 </dev/null &
    for _ in $(seq 100); do "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" && break; sleep 0.1; done
  fi
  echo "$bindir/pg_ctl -D $data -m immediate stop" >> "$state_dir/stop"
  [ "$(id -u)" = 0 ] && sed -i "\$s#^#runuser -u postgres -- #" "$state_dir/stop"
  db_url="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
fi

# --- Redis ------------------------------------------------------------------------
redis_url=${REDIS_URL:-redis://127.0.0.1:6379/0}
if redis_answers "$redis_url"; then
  say "Redis answers at $redis_url; using it"
else
  if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    install redis-server redis-tools
  fi
  port=$(free_port)
  say "Redis does not answer at $redis_url; starting a throwaway one on 127.0.0.1:$port"
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
    --dir "$state_dir" --pidfile "$state_dir/redis.pid" --logfile "$state_dir/redis.log"
  echo "redis-cli -p $port shutdown nosave >/dev/null 2>&1 || true" >> "$state_dir/stop"
  redis_url="redis://127.0.0.1:$port/0"
  for _ in $(seq 50); do redis_answers "$redis_url" && break; sleep 0.1; done
fi

echo "export DATABASE_URL='$db_url'"
echo "export REDIS_URL='$redis_url'"
echo "export CATALYST_TEST_STATE='$state_dir'"
