#!/usr/bin/env bash
# Log-based capture (CAPTURE_MODE=logical, issue 23) measured side by side in one run.
#
#   bench/logical.sh [--rounds 3] [--seconds 8] [--changes 1000000] [--rows 100000] [--samples 300] [--rate 5000]
#                    [--jfr FILE]
#
# Starts a PostgreSQL server of its own (the Debian binaries in PGBIN, default /usr/lib/postgresql/15/bin, run as
# `nobody`, data under /var/tmp, port BENCH_PG_PORT, default 5497) with wal_level=logical, fsync on and
# track_commit_timestamp on, and the packaged service on it (port BENCH_PORT, default 18097). Stops both and removes
# the data directory on exit. Prints, as median [min–max] over rounds where there are rounds:
#  1. the writers' cost: pgbench (2 clients, single-row and 100-row UPDATEs, a typical and a narrow table) on a
#     logically captured table, a trigger-captured one and an uncaptured twin, alternating, each for --seconds,
#     with the service running and decoding; and WAL bytes per changed row for each (the writer's own WAL, and for
#     the logical table also with the decoder's change-log writes), plus the uncaptured table at wal_level=replica;
#  2. decoding throughput: --changes single-column updates (10,000 rows per transaction) written while the service is
#     stopped, then the time from the decoder's "(this instance leads)" line until its applied_lsn passes a marker
#     written after them; the CPU of the JVM, the walsender and the decoder's writing backend over that time;
#  3. the delay from a source commit to exportable at --rate changes/s (10-row inserts by pgbench --rate): the wait
#     an export makes (a WAL marker until applied_lsn passes it), and per entry the decoder's commit minus the
#     source's commit (both commit timestamps of the server).
# --jfr FILE records a JFR profile of the service while it decodes in part 2 (see `jfr print --events
# jdk.ExecutionSample FILE`). It never fails on timing. About 13 minutes with the defaults: 5 of pgbench rounds, 3
# of decoding the million changes at the decoder's present speed.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=3
RUN_SECONDS=8
CHANGES=1000000
ROWS=100000
SAMPLES=300
RATE=5000
JFR=""
usage() { echo "usage: bench/logical.sh [--rounds R] [--seconds S] [--changes N] [--rows N] [--samples N] [--rate N] [--jfr FILE]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --seconds) RUN_SECONDS=$2; shift 2 ;;
    --changes) CHANGES=$2; shift 2 ;;
    --rows) ROWS=$2; shift 2 ;;
    --samples) SAMPLES=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --jfr) JFR=$(realpath -m "$2"); shift 2 ;;
    *) usage ;;
  esac
done
[ "$ROWS" -ge 10000 ] || { echo "--rows must be at least 10000 (the decoding run updates 10,000 rows at a time)" >&2; exit 2; }

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PG_PORT=${BENCH_PG_PORT:-5497}
PORT=${BENCH_PORT:-18097}
export PGHOST=127.0.0.1 PGPORT=$PG_PORT PGUSER=postgres PGDATABASE=bench
export PGOPTIONS='-c client_min_messages=warning'
if pg_isready -q -h 127.0.0.1 -p "$PG_PORT" || ss -ltn | grep -q ":$PG_PORT "; then
  echo "port $PG_PORT is taken: set BENCH_PG_PORT" >&2; exit 1
fi
if curl -s -o /dev/null "localhost:$PORT"; then echo "port $PORT is taken: set BENCH_PORT" >&2; exit 1; fi

WORK=$(mktemp -d /var/tmp/cdc-logical.XXXXXX)
chown nobody:nogroup "$WORK"
SVC=""
WRITER=""
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; }
cleanup() {
  set +e
  for p in $SVC $WRITER; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  [ -f "$WORK/pg/postmaster.pid" ] && as_nobody "$PGBIN/pg_ctl" -D "$WORK/pg" -m immediate -w stop >/dev/null 2>&1
  if [ -n "${KEEP:-}" ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

JAR=${BENCH_JAR:-$(ls target/cdc-export-*.jar 2>/dev/null | head -n 1 || true)}
if [ -z "$JAR" ]; then
  ./mvnw -q -B package -DskipTests
  JAR=$(ls target/cdc-export-*.jar | head -n 1)
fi

now() { date +%s.%N; }
phase() { echo "[$(date +%T)] $*" >&2; }  # progress, on stderr
calc() { echo "scale=6; $*" | bc; }
q() { psql -X -At -v ON_ERROR_STOP=1 -c "$1"; }
# median [min–max] of the numbers on stdin
summary() { sort -g | awk -v f="${1:-%.3f}" '{v[NR]=$1} END {m = NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2;
  printf f " [" f "–" f "]", m, v[1], v[NR]}'; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # CPU time of a process so far, in clock ticks

# --- the server ---------------------------------------------------------------------------------------------------
pg_start() { # WAL_LEVEL
  as_nobody "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w -t 120 -o "-p $PG_PORT -k $WORK \
    -c listen_addresses=127.0.0.1 -c wal_level=$1 -c max_replication_slots=8 -c max_wal_senders=8 -c fsync=on \
    -c track_commit_timestamp=on -c shared_buffers=256MB -c max_wal_size=8GB -c checkpoint_timeout=30min \
    -c jit=off" start >/dev/null
}
pg_stop() { as_nobody "$PGBIN/pg_ctl" -D "$WORK/pg" -m fast -w stop >/dev/null; }
as_nobody "$PGBIN/initdb" -D "$WORK/pg" -U postgres -A trust -E UTF8 --no-locale --no-sync >/dev/null

# --- the service --------------------------------------------------------------------------------------------------
LOGICAL_TABLES="app.t_logical app.n_logical app.d_logical"
TABLES="app.t_logical:logical,app.t_trigger:trigger,app.n_logical:logical,app.n_trigger:trigger,app.d_logical:logical"
start_service() { # LOG → sets SVC, T_START
  T_START=$(now)
  DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/bench" EXPORT_TABLES=$TABLES PORT=$PORT SEED_USERS=0 \
    AUTH_MODE=off RATE_LIMIT_PER_MINUTE=0 EXPORTS_PER_HOUR=0 EXPORT_OUTPUT_DIR="$WORK/out" LOG_FORMAT=text \
    java -jar "$JAR" > "$WORK/$1" 2>&1 &
  SVC=$!
}
# await_leader LOG: waits for the decoder's "(this instance leads)" line; T_LEAD is its moment, LEAD_AFTER the seconds
# from T_START (no subshell: it sets globals)
await_leader() {
  until grep -qs "this instance leads" "$WORK/$1"; do
    kill -0 "$SVC" 2>/dev/null || { echo "the service stopped:" >&2; tail -30 "$WORK/$1" >&2; exit 1; }
    sleep 0.02
  done
  T_LEAD=$(now)
  LEAD_AFTER=$(calc "$T_LEAD - $T_START")
}
stop_service() { kill "$SVC"; wait "$SVC" 2>/dev/null || true; SVC=""; }
# a marker as an export writes it, then a commit with an xid: it flushes the WAL, which a marker outside any
# transaction does not, and the walsender decodes only flushed WAL (exports do not flush yet: see part 3)
marker() { psql -X -At -v ON_ERROR_STOP=1 -c "SELECT pg_logical_emit_message(false, 'cdc_export', 'bench')" \
  -c "SELECT pg_current_xact_id() IS NULL" | sed -n 1p; }
applied() { q "SELECT applied_lsn FROM cdc.logical_capture"; }
await_applied() { # LSN [POLL_SECONDS]
  until [ "$(q "SELECT applied_lsn >= '$1' FROM cdc.logical_capture")" = t ]; do
    kill -0 "$SVC" 2>/dev/null || { echo "the service stopped" >&2; exit 1; }
    sleep "${2:-0.05}"
  done
}
logical_entries() { q "SELECT count(*) FROM cdc.change_log WHERE table_oid IN ('app.t_logical'::regclass, \
  'app.n_logical'::regclass, 'app.d_logical'::regclass)"; }

echo "== log-based capture (issue 23): $ROWS rows, $ROUNDS rounds of $RUN_SECONDS s, $CHANGES changes decoded, \
$SAMPLES delay samples at $RATE changes/s; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
BEGAN=$(now)

# --- tables -------------------------------------------------------------------------------------------------------
phase "tables"
# The typical and narrow tables of bench/run.sh --triggers, three identical copies of each: captured by decoding
# (t_logical), by triggers (t_trigger), and not at all (t_none). d_logical takes the inserts of the delay run.
pg_start replica
psql -X -q -d postgres -c "CREATE DATABASE bench"
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE SCHEMA app;
CREATE TABLE app.t_none (id BIGINT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, amount NUMERIC(12, 2),
  status TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL, attrs JSONB);
CREATE INDEX ON app.t_none (email);
INSERT INTO app.t_none SELECT g, 'customer number ' || g, 'customer' || g || '@example.com', g % 1000 + 0.25,
  'active', now() - g * interval '1 minute', now(), jsonb_build_object('plan', 'premium', 'region', 'eu-west-' || g % 3,
  'tags', jsonb_build_array('a' || g % 7, 'b' || g % 11), 'score', g % 97, 'note', md5(g::text), 'opt_in', g % 2 = 0)
  FROM generate_series(1, $ROWS) g;
CREATE TABLE app.t_logical (LIKE app.t_none INCLUDING ALL);
INSERT INTO app.t_logical SELECT * FROM app.t_none;
CREATE TABLE app.t_trigger (LIKE app.t_none INCLUDING ALL);
INSERT INTO app.t_trigger SELECT * FROM app.t_none;
CREATE TABLE app.n_none (id BIGINT PRIMARY KEY, v INT NOT NULL, flag BOOLEAN NOT NULL);
INSERT INTO app.n_none SELECT g, g % 1000, FALSE FROM generate_series(1, $ROWS) g;
CREATE TABLE app.n_logical (LIKE app.n_none INCLUDING ALL);
INSERT INTO app.n_logical SELECT * FROM app.n_none;
CREATE TABLE app.n_trigger (LIKE app.n_none INCLUDING ALL);
INSERT INTO app.n_trigger SELECT * FROM app.n_none;
CREATE TABLE app.d_logical (id BIGSERIAL PRIMARY KEY, payload TEXT NOT NULL);
VACUUM ANALYZE;
SQL
for t in t n; do
  set_clause=$([ $t = t ] && echo "amount = amount + 1, updated_at = now()" || echo "v = v + 1")
  for side in none logical trigger; do
    printf '\\set id random(1, %d)\nUPDATE app.%s_%s SET %s WHERE id = :id;\n' "$ROWS" $t $side "$set_clause" \
      > "$WORK/$t-$side-1.sql"
    printf '\\set a random(1, %d)\nUPDATE app.%s_%s SET %s WHERE id BETWEEN :a AND :a + 99;\n' $((ROWS - 99)) $t \
      $side "$set_clause" > "$WORK/$t-$side-100.sql"
  done
done

# wal_per_row SCRIPT ROWS_PER_STATEMENT: WAL bytes per changed row of 5,000 changed rows, the same rows every time
# (a fixed random seed). A first batch, not counted, dirties the pages since the last checkpoint, so the counted
# ones carry no full-page images; the least of two (autovacuum and the service's heartbeats only ever add WAL).
# synchronous_commit=off only makes the batch quicker: a commit record is the same either way.
wal_per_row() {
  local lsn try
  for try in 0 1 2; do
    lsn=$(q "SELECT pg_current_wal_insert_lsn()")
    PGOPTIONS="$PGOPTIONS -c synchronous_commit=off" pgbench -n -c 1 -t $((5000 / $2)) --random-seed=23 -f "$1" \
      >/dev/null 2>&1
    [ $try = 0 ] || q "SELECT round(pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '$lsn') / 5000.0)"
  done | sort -n | head -1
}
pg_stop
pg_start logical

# --- 1. the writers' cost -----------------------------------------------------------------------------------------
phase "writers: WAL with the decoder, then pgbench rounds"
start_service service-1.log
await_leader service-1.log; STARTUP_FIRST=$LEAD_AFTER
until curl -sf "localhost:$PORT/health" >/dev/null; do sleep 0.1; done
STARTUP_HEALTH=$(calc "$(now) - $T_START")
await_applied "$(marker)"

# WAL with the decoder running: the logical tables' batches plus what the decoder writes for them into the change
# log, up to the decoder's commit past a marker written after the batch (the marker's own few bytes included).
wal_with_decoder() { # SCRIPT ROWS_PER_STATEMENT
  local lsn try m
  for try in 0 1 2; do
    lsn=$(q "SELECT pg_current_wal_insert_lsn()")
    PGOPTIONS="$PGOPTIONS -c synchronous_commit=off" pgbench -n -c 1 -t $((5000 / $2)) --random-seed=23 -f "$1" \
      >/dev/null 2>&1
    m=$(marker); await_applied "$m" 0.02
    [ $try = 0 ] || q "SELECT round(pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '$lsn') / 5000.0)"
  done | sort -n | head -1
}
for w in t-1 t-100 n-1 n-100; do
  wal_with_decoder "$WORK/${w%-*}-logical-${w#*-}.sql" "${w#*-}" > "$WORK/wal-decoder-$w"
done

PGBENCH_BEGAN=$(now)
tps() { # SCRIPT → transactions per second of 2 clients for RUN_SECONDS (deadlocks of the 100-row form retried)
  pgbench -n -c 2 -j 2 -T "$RUN_SECONDS" --max-tries=100 -f "$1" 2>/dev/null | grep -oE 'tps = [0-9.]+' | head -1 \
    | grep -oE '[0-9.]+'
}
SIDES=(none logical trigger)
for r in $(seq 1 "$ROUNDS"); do
  for w in t-1 t-100 n-1 n-100; do
    # each round starts with a different one of the three, so no side always runs first or last
    for i in 0 1 2; do
      side=${SIDES[$(( (i + r) % 3 ))]}
      tps "$WORK/${w%-*}-$side-${w#*-}.sql" > "$WORK/tps-$w-$side"
      # the decoder's backlog is decoded before the next run, which would otherwise share the cores with it
      t0=$(now); await_applied "$(marker)" 0.05
      [ "$side" != logical ] || calc "$(now) - $t0" >> "$WORK/backlog-$w"
    done
    for side in logical trigger; do
      calc "$(cat "$WORK/tps-$w-$side") / $(cat "$WORK/tps-$w-none")" >> "$WORK/ratio-$w-$side"
    done
    cat "$WORK/tps-$w-none" >> "$WORK/tps-$w-none.all"
  done
done
PGBENCH_DONE=$(now)

# --- 3. the delay from a source commit to exportable --------------------------------------------------------------
phase "delay from commit to exportable"
# pgbench inserts 10 rows per transaction at RATE/10 transactions per second; meanwhile one session of the server
# samples, every 10–30 ms, what an export waits for: a marker into the WAL, then applied_lsn polled every ms until
# it passes the marker (each poll a new snapshot: a volatile function in READ COMMITTED), at most 10 s a sample.
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE FUNCTION public.bench_export_waits(samples int) RETURNS SETOF float8 LANGUAGE plpgsql AS $$
DECLARE
  m pg_lsn;
  t0 timestamptz;
BEGIN
  FOR i IN 1..samples LOOP
    PERFORM pg_sleep(0.01 + random() * 0.02);
    t0 := clock_timestamp();
    m := pg_logical_emit_message(false, 'cdc_export', 'bench');
    WHILE (SELECT applied_lsn FROM cdc.logical_capture) < m AND clock_timestamp() < t0 + interval '10 s' LOOP
      PERFORM pg_sleep(0.001);
    END LOOP;
    RETURN NEXT extract(epoch FROM clock_timestamp() - t0) * 1000;
  END LOOP;
END $$;
SQL
printf 'INSERT INTO app.d_logical (payload) SELECT md5(random()::text) FROM generate_series(1, 10);\n' \
  > "$WORK/insert.sql"
# The decoder first catches up with the pgbench rounds (the 100-row ones outrun it), then the writer runs until the
# sampler is done (then it is stopped): its rate is the rows it inserted over that time.
t0=$(now); await_applied "$(marker)"; catch_up=$(calc "$(now) - $t0")
pgbench -n -c 2 -j 2 -R $((RATE / 10)) -T 600 -f "$WORK/insert.sql" > "$WORK/writer.out" 2>&1 &
WRITER=$!
sleep 2  # the writer at its pace
rows0=$(q "SELECT count(*) FROM app.d_logical"); t0=$(now)
psql -X -At -v ON_ERROR_STOP=1 -c "SELECT * FROM bench_export_waits($SAMPLES)" > "$WORK/waits"
writer_rate=$(calc "($(q "SELECT count(*) FROM app.d_logical") - $rows0) / ($(now) - $t0)" | cut -d. -f1)
kill "$WRITER"; wait "$WRITER" 2>/dev/null || true
WRITER=""
kill -0 "$SVC"
# The same wait on a database nobody writes to, as an export makes it: the marker (a WAL record outside any
# transaction, not flushed by itself), then a commit with an xid, which flushes the WAL past it (see LogicalWindow).
: > "$WORK/idle-waits"
for _ in $(seq 1 20); do
  sleep 0.2
  t0=$(now); await_applied "$(marker)" 0.001
  calc "($(now) - $t0) * 1000" >> "$WORK/idle-waits"
done
await_applied "$(marker)"
# per entry: the decoder's commit (the entry's xmin) minus its source transaction's commit; changed_at is the latter
# as the WAL carries it, checked against the server's own record of it
q "SELECT round(extract(epoch FROM pg_xact_commit_timestamp(l.xmin) - pg_xact_commit_timestamp(xid(l.change_xid)))
     * 1000, 3), (l.changed_at = pg_xact_commit_timestamp(xid(l.change_xid)))::int
     FROM cdc.change_log l WHERE l.table_oid = 'app.d_logical'::regclass" > "$WORK/arrivals"
arrivals=$(wc -l < "$WORK/arrivals")
changed_at_matches=$(awk -F'|' '{s += $2} END {print s + 0}' "$WORK/arrivals")
cut -d'|' -f1 "$WORK/arrivals" > "$WORK/arrival.ms"
stop_service

# --- 2. decoding throughput ---------------------------------------------------------------------------------------
phase "decoding throughput: WAL per row with the service stopped, then the updates"
# The writer's own WAL per changed row, with nobody decoding (the triggers still run: they are the writer's).
for w in t-1 t-100 n-1 n-100; do
  for side in none logical trigger; do
    wal_per_row "$WORK/${w%-*}-$side-${w#*-}.sql" "${w#*-}" > "$WORK/wal-$w-$side"
  done
done
# CHANGES single-column updates of the typical logical table, 10,000 rows per transaction, written while the slot
# retains the WAL; then the service starts and decodes them (and the WAL batches above).
entries_before=$(logical_entries)
lsn_before=$(q "SELECT pg_current_wal_insert_lsn()")
statements=$(( CHANGES / 10000 ))
for i in $(seq 0 $((statements - 1))); do
  a=$(( (i * 10000) % (ROWS - ROWS % 10000) + 1 ))
  echo "UPDATE app.t_logical SET amount = amount + 1 WHERE id BETWEEN $a AND $((a + 9999));"
done > "$WORK/updates.sql"
t0=$(now)
psql -X -q -v ON_ERROR_STOP=1 -f "$WORK/updates.sql"
write_seconds=$(calc "$(now) - $t0")
end_marker=$(marker)
wal_mb=$(q "SELECT round(pg_wal_lsn_diff('$end_marker', '$lsn_before') / 1048576)")
phase "decoding"
start_service service-2.log
await_leader service-2.log; STARTUP_DECODE=$LEAD_AFTER
hz=$(getconf CLK_TCK)
walsender=""; backend=""
for _ in $(seq 1 200); do
  walsender=$(q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'walsender'
                 AND application_name = 'cdc-export logical decoder'")
  backend=$(q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend'
               AND application_name = 'cdc-export logical decoder'")
  [ -n "$walsender" ] && [ -n "$backend" ] && break
  sleep 0.01
done
cpu0_jvm=$(ticks "$SVC"); cpu0_ws=$(ticks "$walsender"); cpu0_be=$(ticks "$backend"); t_cpu0=$(now)
[ -z "$JFR" ] || jcmd "$SVC" JFR.start name=decode settings=profile filename="$JFR" >/dev/null
await_applied "$end_marker" 0.1
t_done=$(now)
cpu1_jvm=$(ticks "$SVC"); cpu1_ws=$(ticks "$walsender"); cpu1_be=$(ticks "$backend")
[ -z "$JFR" ] || jcmd "$SVC" JFR.stop name=decode >/dev/null
decode_seconds=$(calc "$t_done - $T_LEAD")
decoded=$(( $(logical_entries) - entries_before ))
share() { calc "($2 - $1) / $hz / ($t_done - $t_cpu0)" | awk '{printf "%.2f", $1}'; }
per_change() { calc "($2 - $1) * 1000000 / $hz / $decoded" | awk '{printf "%.0f", $1}'; }  # CPU µs per change
grep -E 'Log-based capture interrupted|ERROR|WARN' "$WORK/service-2.log" | head -5 > "$WORK/decoder-warnings" || true
stop_service
# The uncaptured tables once more at wal_level=replica, the server's setting before anyone asks for logical decoding
# (a server with a logical slot does not start at that level: nothing reads the slot any more).
q "SELECT pg_drop_replication_slot('cdc_export')" >/dev/null
pg_stop
pg_start replica
for w in t-1 t-100 n-1 n-100; do
  wal_per_row "$WORK/${w%-*}-none-${w#*-}.sql" "${w#*-}" > "$WORK/wal-replica-$w"
done
FINISHED=$(now)

# --- report -------------------------------------------------------------------------------------------------------
label() { case $1 in t-1) echo "typical, single-row UPDATE" ;; t-100) echo "typical, 100-row UPDATE … BETWEEN" ;;
  n-1) echo "narrow, single-row UPDATE" ;; n-100) echo "narrow, 100-row UPDATE … BETWEEN" ;; esac; }
pct() { sort -g | awk -v p="$1" '{v[NR]=$1} END {i = int(NR * p + 0.999999); if (i < 1) i = 1; printf "%.1f", v[i]}'; }
printf '\n1. writers: throughput / the uncaptured twin, 2 clients, %s s runs, %s rounds (aim ≥ 0.97 logical)\n' \
  "$RUN_SECONDS" "$ROUNDS"
printf '%-36s %-24s %-24s %s\n' "workload" "logical / none" "trigger / none" "none, tps"
for w in t-1 t-100 n-1 n-100; do
  printf '%-36s %-24s %-24s %s\n' "$(label $w)" "$(summary < "$WORK/ratio-$w-logical")" \
    "$(summary < "$WORK/ratio-$w-trigger")" "$(summary %.0f < "$WORK/tps-$w-none.all")"
done
printf '%-36s %s\n' "  seconds the decoder needed after each logical run" \
  "$(for w in t-1 t-100 n-1 n-100; do printf '%s: %s  ' "$w" "$(summary %.1f < "$WORK/backlog-$w")"; done)"
printf '\n   WAL bytes per changed row (5,000 rows, no full-page images)\n'
printf '%-36s %-9s %-9s %-9s %-24s %s\n' "workload" "none" "logical" "trigger" "logical + decoder's log" \
  "none at wal_level=replica"
for w in t-1 t-100 n-1 n-100; do
  printf '%-36s %-9s %-9s %-9s %-24s %s\n' "$(label $w)" "$(cat "$WORK/wal-$w-none")" "$(cat "$WORK/wal-$w-logical")" \
    "$(cat "$WORK/wal-$w-trigger")" "$(cat "$WORK/wal-decoder-$w")" "$(cat "$WORK/wal-replica-$w")"
done
printf '\n2. decoding throughput (aim ≥ 50,000 changes/s)\n'
printf '   %s changes (%s MB of WAL) written in %.1f s with the service stopped; decoded %s entries in %.1f s from the\n' \
  "$CHANGES" "$wal_mb" "$write_seconds" "$decoded" "$decode_seconds"
printf '   decoder taking the lead: %s changes/s\n' "$(calc "$decoded / $decode_seconds" | cut -d. -f1)"
printf '   CPU over that time (1.00 = one core): JVM %s, walsender %s, decoder'"'"'s writing backend %s\n' \
  "$(share "$cpu0_jvm" "$cpu1_jvm")" "$(share "$cpu0_ws" "$cpu1_ws")" "$(share "$cpu0_be" "$cpu1_be")"
printf '   CPU µs per change: JVM %s, walsender %s, writing backend %s; on an idle machine with a core for each process\n' \
  "$(per_change "$cpu0_jvm" "$cpu1_jvm")" "$(per_change "$cpu0_ws" "$cpu1_ws")" "$(per_change "$cpu0_be" "$cpu1_be")"
printf '   that is at most %s changes/s (the JVM waits for its batch to be written: JVM + backend, or the walsender)\n' \
  "$(awk -v d="$decoded" -v hz="$hz" -v a=$((cpu1_jvm - cpu0_jvm + cpu1_be - cpu0_be)) -v b=$((cpu1_ws - cpu0_ws)) \
     'BEGIN {m = (a > b) ? a : b; printf "%d", (m > 0) ? d * hz / m : 0}')"
printf '   start-up to the decoder leading: %.1f s with %s MB to decode, %.1f s the first time (migrations,\n' \
  "$STARTUP_DECODE" "$wal_mb" "$STARTUP_FIRST"
printf '   installing capture; /health answered after %.1f s)\n' "$STARTUP_HEALTH"
[ ! -s "$WORK/decoder-warnings" ] || { echo "   the service's warnings:"; sed 's/^/     /' "$WORK/decoder-warnings"; }
[ -z "$JFR" ] || echo "   JFR profile of the decoding: $JFR"
printf '\n3. delay from a source commit to exportable, writer at %s changes/s (asked %s) (aim p99 < 1 s)\n' \
  "$writer_rate" "$RATE"
printf '   (the decoder first caught up with the pgbench rounds in %.1f s)\n' "$catch_up"
printf '   an export'"'"'s wait, marker to applied_lsn past it, %s samples: p50 %s ms, p99 %s ms, max %s ms\n' \
  "$(wc -l < "$WORK/waits")" "$(pct 0.5 < "$WORK/waits")" "$(pct 0.99 < "$WORK/waits")" "$(pct 1 < "$WORK/waits")"
printf '   the same wait with nobody writing, as an export makes it, 20 samples (a psql call per poll): p50 %s ms, max %s ms\n' \
  "$(pct 0.5 < "$WORK/idle-waits")" "$(pct 1 < "$WORK/idle-waits")"
printf '   entry committed by the decoder − source commit, %s entries: p50 %s ms, p99 %s ms, max %s ms\n' \
  "$arrivals" "$(pct 0.5 < "$WORK/arrival.ms")" "$(pct 0.99 < "$WORK/arrival.ms")" "$(pct 1 < "$WORK/arrival.ms")"
printf '   (changed_at equal to the source'"'"'s commit timestamp for %s of %s entries)\n' "$changed_at_matches" "$arrivals"
printf '\nran %.0f s (pgbench part %.0f s); load average at the end %s\n' "$(calc "$FINISHED - $BEGAN")" \
  "$(calc "$PGBENCH_DONE - $PGBENCH_BEGAN")" "$(cut -d' ' -f1-3 /proc/loadavg)"
