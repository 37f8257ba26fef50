#!/usr/bin/env bash
# Reading exports from a hot standby (DATABASE_READ_URL, issue 26) measured side by side in one run.
#
#   bench/standby.sh [--rows 1000000] [--rounds 3] [--settle 11]
#
# Starts two PostgreSQL servers of its own (the Debian binaries in PGBIN, default /usr/lib/postgresql/15/bin, run as
# `nobody`, data under /var/tmp): a primary on port BENCH_PG_PORT (default 5495; wal_level=replica, fsync on,
# pg_stat_statements, track_io_timing) and a hot standby of it made by `pg_basebackup -R -X stream` on the next port
# (hot_standby_feedback on, so vacuum on the primary cannot cancel an export). It loads --rows rows of an
# orders-like table (bigint key, text, numeric, timestamptz, jsonb; ~230 bytes a row) into database bench_p and
# copies it as bench_s (CREATE DATABASE … TEMPLATE: the same pages), waits for the standby to replay, and starts the
# packaged service twice on the primary:
#   (a) on bench_p with DATABASE_URL only: exports read on the primary (port BENCH_PORT, default 18095);
#   (b) on bench_s with DATABASE_READ_URL = the standby's bench_s: exports read there (the next port).
# Two databases because two instances on one database share one job queue: either would claim the other's jobs.
# Both run all the time with the same settings (EXPORT_TABLES=app.orders, SEED_USERS=0, AUTH_MODE=off, default
# parallelism), so each one's idle bookkeeping is in every window, and the idle baselines hold it too.
#
# Each round runs a full export on (a) and on (b), the first of the two alternating, each followed by an idle
# baseline of the same length (both services running, nobody exporting, the finished job polled as often). For
# each window it measures, on the primary and on the standby:
#   - the CPU time of the cluster's processes (utime+stime of the postmaster and its children from /proc, plus the
#     postmaster's cutime+cstime: the children that exited meanwhile), from the POST to the job seen completed;
#   - pg_stat_statements' total_exec_time and shared_blks_hit+read summed over every statement outside the
#     monitoring database (reset at the window's start), over the same time;
#   - pg_stat_database's blks_hit+blks_read and tup_returned of the export's database, over the same time plus
#     --settle seconds: a backend flushes its counters when it goes idle, but no more often than once a second and
#     otherwise up to 10 s later, so the window waits for them (and every window starts --settle seconds after the
#     last activity for the same reason).
# Prints, median [min–max] over rounds: the wall time of (b) / (a) (the job's startedAt→finishedAt, and the POST
# → finishedAt), the primary's cost during (b)'s export as a % of (a)'s, raw and minus the baseline, the standby's
# cost, and the manifests' readFrom, which must be `primary` and `standby-1` (it fails otherwise). It checks that
# the two files are the same bytes (the manifests' sha256). It never fails on timing. About 2 + 1.6 × rounds minutes
# at 1M rows (7 minutes with the defaults).
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=1000000
ROUNDS=3
SETTLE=11
usage() { echo "usage: bench/standby.sh [--rows N] [--rounds R] [--settle SECONDS]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --rows) ROWS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --settle) SETTLE=$2; shift 2 ;;
    *) usage ;;
  esac
done
[ "$ROWS" -ge 1000 ] && [ "$ROUNDS" -ge 1 ] || usage

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PG_PORT=${BENCH_PG_PORT:-5495}
SB_PORT=$((PG_PORT + 1))
PORT_A=${BENCH_PORT:-18095}
PORT_B=$((PORT_A + 1))
export PGHOST=127.0.0.1 PGUSER=postgres
export PGOPTIONS='-c client_min_messages=warning'
for p in $PG_PORT $SB_PORT; do
  if pg_isready -q -h 127.0.0.1 -p "$p" || ss -ltn | grep -q ":$p "; then
    echo "port $p is taken: set BENCH_PG_PORT (the primary's; the standby takes the next)" >&2; exit 1
  fi
done
for p in $PORT_A $PORT_B; do
  if curl -s -o /dev/null "localhost:$p" || ss -ltn | grep -q ":$p "; then
    echo "port $p is taken: set BENCH_PORT (service a's; b takes the next)" >&2; exit 1
  fi
done

WORK=$(mktemp -d /var/tmp/cdc-standby.XXXXXX)
chown nobody:nogroup "$WORK"
SVC_A=""
SVC_B=""
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; }
cleanup() {
  set +e
  for p in $SVC_A $SVC_B; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  for d in standby primary; do
    [ -f "$WORK/$d/postmaster.pid" ] && as_nobody "$PGBIN/pg_ctl" -D "$WORK/$d" -m immediate -w stop >/dev/null 2>&1
  done
  if [ -n "${KEEP:-}" ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

JAR=${BENCH_JAR:-$(ls target/cdc-export-*.jar 2>/dev/null | head -n 1 || true)}
if [ -z "$JAR" ]; then
  ./mvnw -B -q -DskipTests package
  JAR=$(ls target/cdc-export-*.jar | head -n 1)
fi

now() { date +%s.%N; }
phase() { echo "[$(date +%T)] $*" >&2; }  # progress, on stderr
calc() { echo "scale=6; $*" | bc; }
die() { echo "FAILED: $*" >&2; exit 1; }
# q PORT DB SQL
q() { psql -X -At -v ON_ERROR_STOP=1 -p "$1" -d "$2" -c "$3"; }
# median [min–max] of the numbers on stdin
summary() { sort -g | awk -v f="${1:-%.3f}" '{v[NR]=$1} END {m = NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2;
  printf f " [" f "–" f "]", m, v[1], v[NR]}'; }
HZ=$(getconf CLK_TCK)

# --- the servers --------------------------------------------------------------------------------------------------
# The settings go into postgresql.conf, so the standby's copy has them too; the standby's own lines come after.
phase "primary and standby"
as_nobody "$PGBIN/initdb" -D "$WORK/primary" -U postgres -A trust -E UTF8 --no-locale --no-sync >/dev/null
cat >> "$WORK/primary/postgresql.conf" <<CONF

# bench/standby.sh
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$WORK'
timezone = 'UTC'
wal_level = replica
max_wal_senders = 8
max_replication_slots = 8
fsync = on
shared_buffers = 1GB
max_wal_size = 8GB
checkpoint_timeout = 30min
jit = off
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = top
track_io_timing = on
hot_standby = on
wal_receiver_status_interval = 1s
CONF
pg_start() { as_nobody "$PGBIN/pg_ctl" -D "$WORK/$1" -l "$WORK/$1.log" -w -t 300 start >/dev/null; }
pg_start primary
q "$PG_PORT" postgres "CREATE EXTENSION pg_stat_statements" >/dev/null
# -C -S: the standby's slot, so the primary keeps whatever WAL the standby has not received
as_nobody "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$PG_PORT" -U postgres -D "$WORK/standby" -R -X stream -C \
  -S bench_standby -c fast --no-sync
cat >> "$WORK/standby/postgresql.conf" <<CONF

# bench/standby.sh: the standby
port = $SB_PORT
hot_standby_feedback = on
CONF
pg_start standby
[ "$(q "$SB_PORT" postgres "SELECT pg_is_in_recovery()")" = t ] || die "the standby is not in recovery"

# await_replay: until the standby has replayed everything the primary has written so far
await_replay() {
  local lsn
  lsn=$(q "$PG_PORT" postgres "SELECT pg_current_wal_lsn()")
  until [ "$(q "$SB_PORT" postgres "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ]; do sleep 0.2; done
}

# --- the table ----------------------------------------------------------------------------------------------------
phase "loading $ROWS rows"
# Deterministic values (no now(), no random()): bench_s is a byte-for-byte copy, so the two exports' files must be
# the same bytes.
q "$PG_PORT" postgres "CREATE DATABASE bench_p" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d bench_p >/dev/null <<SQL
CREATE EXTENSION pg_prewarm;
CREATE SCHEMA app;
CREATE TABLE app.orders (id BIGINT PRIMARY KEY, customer TEXT NOT NULL, email TEXT NOT NULL, total NUMERIC(12, 2),
  status TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL, attrs JSONB);
INSERT INTO app.orders SELECT g, 'customer number ' || g, 'customer' || g || '@example.com', g % 1000 + 0.25,
  (ARRAY['new', 'paid', 'shipped', 'delivered'])[g % 4 + 1], timestamptz '2026-01-01 00:00:00+00' + g * interval '7 s',
  timestamptz '2026-06-01 00:00:00+00' + g * interval '3 s', jsonb_build_object('plan', 'premium',
  'region', 'eu-west-' || g % 3, 'tags', jsonb_build_array('a' || g % 7, 'b' || g % 11), 'score', g % 97,
  'note', md5(g::text), 'opt_in', g % 2 = 0)
  FROM generate_series(1, $ROWS) g;
VACUUM ANALYZE;
SQL
q "$PG_PORT" postgres "CREATE DATABASE bench_s TEMPLATE bench_p" >/dev/null
q "$PG_PORT" bench_s "VACUUM ANALYZE" >/dev/null
q "$PG_PORT" postgres "CHECKPOINT" >/dev/null
TABLE_MB=$(q "$PG_PORT" bench_p "SELECT round(pg_total_relation_size('app.orders') / 1048576.0)")
ROW_BYTES=$(q "$PG_PORT" bench_p "SELECT round(pg_relation_size('app.orders')::numeric / $ROWS)")
phase "waiting for the standby to replay"
await_replay

# --- the services -------------------------------------------------------------------------------------------------
start_service() { # NAME PORT DATABASE [READ_URL] → sets LAST_PID
  DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/$3" DATABASE_READ_URL="${4:-}" EXPORT_TABLES=app.orders \
    PORT=$2 SEED_USERS=0 AUTH_MODE=off RATE_LIMIT_PER_MINUTE=0 EXPORTS_PER_HOUR=0 EXPORT_OUTPUT_DIR="$WORK/out-$1" \
    LOG_FORMAT=text java -jar "$JAR" > "$WORK/service-$1.log" 2>&1 &
  LAST_PID=$!
}
await_healthy() { # PID PORT NAME
  until curl -sf "localhost:$2/health" >/dev/null; do
    kill -0 "$1" 2>/dev/null || { echo "service $3 stopped:" >&2; tail -30 "$WORK/service-$3.log" >&2; exit 1; }
    sleep 0.2
  done
}
phase "services"
start_service a "$PORT_A" bench_p; SVC_A=$LAST_PID
await_healthy "$SVC_A" "$PORT_A" a
start_service b "$PORT_B" bench_s "postgresql://postgres@127.0.0.1:$SB_PORT/bench_s"; SVC_B=$LAST_PID
await_healthy "$SVC_B" "$PORT_B" b
await_replay  # the services' migrations and capture triggers

# Both tables into both servers' buffer caches (the same pages), then one export on each service, not measured: it
# reads its table where the measured ones will, and warms the JVM.
for port in $PG_PORT $SB_PORT; do
  for db in bench_p bench_s; do q "$port" "$db" "SELECT sum(pg_prewarm(c)) FROM unnest(ARRAY['app.orders'::regclass,
    'app.orders_pkey'::regclass]) c" >/dev/null; done
done

# --- measuring ----------------------------------------------------------------------------------------------------
# cluster_ticks DIR: CPU time of a cluster's processes so far, in clock ticks: the postmaster's own and that of its
# children that exited (cutime+cstime: the postmaster waits for them), plus its live children's
cluster_ticks() {
  local pm
  pm=$(head -n 1 "$WORK/$1/postmaster.pid")
  { awk '{print $14 + $15 + $16 + $17}' "/proc/$pm/stat"
    for c in $(pgrep -P "$pm"); do awk '{print $14 + $15}' "/proc/$c/stat" 2>/dev/null || true; done
  } | awk '{s += $1} END {print s}'
}
# statements PORT: total_exec_time (ms) and shared blocks (hit+read) of every statement since the last reset,
# outside the database the measuring runs in
statements() {
  q "$1" postgres "SELECT round(coalesce(sum(total_exec_time), 0)::numeric, 3), coalesce(sum(shared_blks_hit
    + shared_blks_read), 0) FROM pg_stat_statements WHERE dbid <> (SELECT oid FROM pg_database WHERE datname =
    'postgres')" | tr '|' ' '
}
database() { # PORT DB: blocks (hit+read) and tup_returned so far
  q "$1" postgres "SELECT blks_hit + blks_read, tup_returned FROM pg_stat_database WHERE datname = '$2'" | tr '|' ' '
}
reset_statements() { for p in $PG_PORT $SB_PORT; do q "$p" postgres "SELECT pg_stat_statements_reset()" >/dev/null; done; }

# the counters at a window's start, and at its end; the differences as "name value" lines into FILE
begin_window() { # DB
  reset_statements
  D0_P=$(database "$PG_PORT" "$1"); D0_S=$(database "$SB_PORT" "$1")
  C0_P=$(cluster_ticks primary); C0_S=$(cluster_ticks standby)
  W0=$(now)
}
end_window() { # DB FILE  (call right when the export is seen completed)
  local db=$1 file=$2 c1_p c1_s s_p s_s d1_p d1_s
  c1_p=$(cluster_ticks primary); c1_s=$(cluster_ticks standby)
  W1=$(now)
  s_p=$(statements "$PG_PORT"); s_s=$(statements "$SB_PORT")
  sleep "$SETTLE"
  d1_p=$(database "$PG_PORT" "$db"); d1_s=$(database "$SB_PORT" "$db")
  { echo "primary_cpu $(calc "($c1_p - $C0_P) / $HZ")"
    echo "standby_cpu $(calc "($c1_s - $C0_S) / $HZ")"
    set -- $s_p; echo "primary_stmt_ms $1"; echo "primary_stmt_blocks $2"
    set -- $s_s; echo "standby_stmt_ms $1"; echo "standby_stmt_blocks $2"
    paste -d' ' <(echo "$D0_P") <(echo "$d1_p") | awk '{print "primary_blocks", $3 - $1; print "primary_tuples", $4 - $2}'
    paste -d' ' <(echo "$D0_S") <(echo "$d1_s") | awk '{print "standby_blocks", $3 - $1; print "standby_tuples", $4 - $2}'
  } > "$file"
}
POLL=0.2
# export KIND ROUND: a full export on KIND's service, measured; the window's counters to $WORK/r$ROUND-KIND.export,
# the wall times to …-KIND.wall ("job post"), its readFrom checked. Sets LEN (the window's seconds) and JOB.
export_run() {
  local kind=$1 r=$2 port db out t_post status finished started read_from want sha
  if [ "$kind" = a ]; then port=$PORT_A; db=bench_p; want=primary; else port=$PORT_B; db=bench_s; want=standby-1; fi
  out="$WORK/out-$kind"
  begin_window "$db"
  t_post=$(now)
  JOB=$(curl -sf -X POST "localhost:$port/exports/full?table=app.orders" -H "X-Consumer-ID: bench-$kind" | jq -r .jobId)
  [ -n "$JOB" ] && [ "$JOB" != null ] || die "service $kind did not accept the export"
  while :; do
    sleep "$POLL"
    status=$(curl -s "localhost:$port/exports/jobs/$JOB")
    case $(jq -r .status <<<"$status") in
      completed) break ;;
      failed|cancelled) die "service $kind's export: $status" ;;
    esac
  done
  end_window "$db" "$WORK/r$r-$kind.export"
  LEN=$(calc "$W1 - $W0")
  started=$(jq -r .startedAt <<<"$status"); finished=$(jq -r .finishedAt <<<"$status")
  echo "$(calc "$(date -d "$finished" +%s.%N) - $(date -d "$started" +%s.%N)") \
$(calc "$(date -d "$finished" +%s.%N) - $t_post")" > "$WORK/r$r-$kind.wall"
  read_from=$(jq -r .readFrom "$out/$(jq -r .manifestFilename <<<"$status")")
  [ "$read_from" = "$want" ] || die "service $kind's export read from '$read_from', not '$want'"
  echo "$read_from" > "$WORK/readfrom-$kind"
  sha=$(jq -r '.files[0].sha256' "$out/$(jq -r .manifestFilename <<<"$status")")
  echo "$sha $(jq -r '.files[0].rows' "$out/$(jq -r .manifestFilename <<<"$status")")" > "$WORK/r$r-$kind.sha"
  rm -f "$out"/*  # the next export's room on the disk
}
# baseline KIND ROUND: LEN seconds with both services idle, polling the finished job as the export was polled
baseline_run() {
  local kind=$1 r=$2 port db t_end
  if [ "$kind" = a ]; then port=$PORT_A; db=bench_p; else port=$PORT_B; db=bench_s; fi
  begin_window "$db"
  t_end=$(calc "$W0 + $LEN")
  while [ "$(calc "$(now) < $t_end")" = 1 ]; do
    sleep "$POLL"; curl -s "localhost:$port/exports/jobs/$JOB" > /dev/null
  done
  end_window "$db" "$WORK/r$r-$kind.idle"
}

phase "warm-up exports"
sleep "$SETTLE"
export_run a 0
export_run b 0
echo "== reading from a standby (issue 26): $ROWS rows ($TABLE_MB MB with its key index, $ROW_BYTES bytes a row in \
the heap), $ROUNDS rounds; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
BEGAN=$(now)
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then order="a b"; else order="b a"; fi
  for kind in $order; do
    phase "round $r: export $kind"
    sleep "$SETTLE"
    export_run "$kind" "$r"
    phase "round $r: baseline $kind ($(printf %.1f "$LEN") s)"
    baseline_run "$kind" "$r"  # its start is SETTLE after the export's last activity: end_window waited that long
  done
done
FINISHED=$(now)

# --- report -------------------------------------------------------------------------------------------------------
val() { awk -v k="$2" '$1 == k {print $2}' "$1"; }  # FILE NAME
# per round: kind's value of NAME, raw (export) or net (export − baseline)
raw() { val "$WORK/r$1-$2.export" "$3"; }
net() { calc "$(raw "$1" "$2" "$3") - $(val "$WORK/r$1-$2.idle" "$3")"; }
# ratio_pct NAME MODE: per round, b's value as % of a's
ratio_pct() {
  for r in $(seq 1 "$ROUNDS"); do
    local a b
    a=$($2 "$r" a "$1"); b=$($2 "$r" b "$1")
    if [ "$(calc "$a > 0")" = 1 ]; then calc "100 * $b / $a"; else echo nan; fi
  done | summary %.2f
}
per_round() { for r in $(seq 1 "$ROUNDS"); do $2 "$r" "$3" "$1"; done | summary "${4:-%.3f}"; }  # NAME MODE KIND [FMT]
wall() { for r in $(seq 1 "$ROUNDS"); do cut -d' ' -f"$2" "$WORK/r$r-$1.wall"; done; }  # KIND FIELD
wall_ratio() { for r in $(seq 1 "$ROUNDS"); do
  calc "$(cut -d' ' -f"$1" "$WORK/r$r-b.wall") / $(cut -d' ' -f"$1" "$WORK/r$r-a.wall")"; done | summary; }

printf '\n(a) reads on the primary, (b) on the standby; median [min–max] over %s rounds\n' "$ROUNDS"
printf '\nwall time (aim (b)/(a) ≤ 1.1)\n'
printf '  %-34s %-24s %-24s %s\n' "" "(a) primary, s" "(b) standby, s" "(b) / (a)"
printf '  %-36s %-26s %-26s %s\n' "job startedAt → finishedAt" "$(wall a 1 | summary)" "$(wall b 1 | summary)" \
  "$(wall_ratio 1)"
printf '  %-36s %-26s %-26s %s\n' "POST → finishedAt" "$(wall a 2 | summary)" "$(wall b 2 | summary)" "$(wall_ratio 2)"

# (a summary's "–" is one column in three bytes: its cells are two bytes wider than the ASCII headers)
printf '\nthe primary'"'"'s cost during the export: (b) as %% of (a) (aim ≤ 5%%), and each; raw, and net: minus an idle\n'
printf '  baseline of the same length (both services idle, the finished job polled as often)\n'
printf '  %-44s %-22s %-22s %-26s %-26s %-22s %s\n' "" "(b)/(a) raw, %" "(b)/(a) net, %" "(a) raw" "(a) net" \
  "(b) raw" "(b) net"
row() { # LABEL NAME FMT
  printf '  %-44s %-24s %-24s %-28s %-28s %-24s %s\n' "$1" "$(ratio_pct "$2" raw)" "$(ratio_pct "$2" net)" \
    "$(per_round "$2" raw a "$3")" "$(per_round "$2" net a "$3")" "$(per_round "$2" raw b "$3")" \
    "$(per_round "$2" net b "$3")"
}
row "CPU s, postgres processes" primary_cpu %.2f
row "blocks hit+read, pg_stat_database" primary_blocks %.0f
row "tup_returned, pg_stat_database" primary_tuples %.0f
row "exec ms, pg_stat_statements" primary_stmt_ms %.1f
row "shared blocks hit+read, pg_stat_statements" primary_stmt_blocks %.0f
printf '\nthe standby'"'"'s cost during the export\n'
printf '  %-44s %-26s %-26s %-26s %s\n' "" "(a) raw" "(a) net" "(b) raw" "(b) net"
srow() {
  printf '  %-44s %-28s %-28s %-28s %s\n' "$1" "$(per_round "$2" raw a "$3")" "$(per_round "$2" net a "$3")" \
    "$(per_round "$2" raw b "$3")" "$(per_round "$2" net b "$3")"
}
srow "CPU s, postgres processes" standby_cpu %.2f
srow "blocks hit+read, pg_stat_database" standby_blocks %.0f
srow "tup_returned, pg_stat_database" standby_tuples %.0f
srow "exec ms, pg_stat_statements" standby_stmt_ms %.1f
srow "shared blocks hit+read, pg_stat_statements" standby_stmt_blocks %.0f
printf '  (CPU and pg_stat_statements over the POST → seen completed; pg_stat_database over that plus %s s)\n' "$SETTLE"

printf '\nmanifests: readFrom (a) %s, (b) %s\n' "$(cat "$WORK/readfrom-a")" "$(cat "$WORK/readfrom-b")"
same=0
for r in $(seq 0 "$ROUNDS"); do
  if [ "$(cat "$WORK/r$r-a.sha")" = "$(cat "$WORK/r$r-b.sha")" ]; then same=$((same + 1)); fi
done
printf 'files: (a) and (b) the same bytes (sha256, rows %s) in %s of %s rounds (the warm-up included)\n' \
  "$(cut -d' ' -f2 "$WORK/r1-a.sha")" "$same" $((ROUNDS + 1))
[ "$same" = $((ROUNDS + 1)) ] || echo "WARNING: the files differ: a consumer could tell where they were read" >&2
printf 'ran %.0f s (the rounds); load average at the end %s\n' "$(calc "$FINISHED - $BEGAN")" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"
