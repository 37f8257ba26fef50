#!/usr/bin/env bash
# Benchmark of the export path against PostgreSQL itself, measured side by side in one run.
#
#   bench/run.sh [--rows 1000000] [--rounds 5] [--big-rows 0]
#   bench/run.sh --sinks [--rows 1000000] [--rounds 3]     (only the S3-vs-local sink comparison, see below)
#   bench/run.sh --sinks --formats --rounds 3               (both: the measures of issue 27 in one run)
#   bench/run.sh --parallel [--rows 1000000] [--rounds 3] [--big-rows 0] [--sinks] [--formats]
#   bench/run.sh --formats [--rows 1000000] [--rounds 3]
#   bench/run.sh --triggers [--rounds 3]     (only the capture triggers' cost on writers, ~3.5 minutes)
#   bench/run.sh --iceberg [--rows 1000000] [--rounds 3]   (only Iceberg vs parquet files, see iceberg_bench)
#
# Log-based capture (CAPTURE_MODE=logical, issue 23): bench/logical.sh, on a PostgreSQL server of its own.
# Creates a scratch database on the local server (PGHOST/PGPORT/PGUSER, default 127.0.0.1:5432 postgres), starts the
# packaged service on it, and interleaves rounds of `psql \copy` and the service's export of the same query in the
# same CSV format. Prints every target of issue 6 as median [min–max] of per-round ratios, plus rows/s and MB/s.
# Job durations are the service's own (start to commit, from its job resource). It never fails on timing.
# --big-rows M (e.g. 10000000) adds the linearity run and the heap figure with -Xmx128m; it takes a while.
# --parallel runs the parallel-export section (issues 16, 27): wall time of a full export from the POST to the
# job seen completed, over one `psql \copy` stream of the same rows, at the defaults, at EXPORT_PARALLELISM 1, 2, 4
# and under C1 alone, on --rows and (with --big-rows) on that many rows; output compared with cmp, heap under
# -Xmx128m, the CPU-seconds each export costs the machine (the floor they put under its wall time), the latency a
# polling client sees, the first export after start with and without the start-up warm-up. With --sinks and/or
# --formats it runs those sections after it: `bench/run.sh --parallel --sinks --formats --big-rows 10000000`
# prints every measure of issue 27 in one run.
# --formats runs only the formats section: every export format of the same users, side by side (see formats_bench).
# --triggers runs only the capture triggers' cost on writers (issue 23, see trigger_cost_bench); BENCH_JAR picks the
# jar whose migrations install the triggers (e.g. one built from another commit), TRIGGER_SECONDS each run's length.
# --iceberg runs only the Iceberg destination's section (issue 25): full and 1% delta exports applied to an Iceberg
# table vs the same exports as parquet files, heap under -Xmx128m, and the jar's size with and without Iceberg
# (BENCH_JAR_BEFORE=<a jar built from the commit before Iceberg> adds that jar's measured size).
set -Eeuo pipefail
trap 'echo "bench: line $LINENO: $BASH_COMMAND failed" >&2' ERR
cd "$(dirname "$0")/.."

ROWS=1000000
ROUNDS=5
BIG_ROWS=0
SINKS=no
PARALLEL=0
FORMATS_ONLY=no
TRIGGERS_ONLY=no
ICEBERG_ONLY=no
while [ $# -gt 0 ]; do
  case $1 in
    --formats) FORMATS_ONLY=yes; ROUNDS=3; shift ;;
    --triggers) TRIGGERS_ONLY=yes; ROUNDS=3; shift ;;
    --iceberg) ICEBERG_ONLY=yes; ROUNDS=3; shift ;;
    --rows) ROWS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --big-rows) BIG_ROWS=$2; shift 2 ;;
    --sinks) SINKS=yes; shift ;;
    --parallel) PARALLEL=1; shift ;;
    *) echo "usage: bench/run.sh [--rows N] [--rounds R] [--big-rows M] [--sinks | --parallel | --formats | --triggers | --iceberg]" >&2; exit 2 ;;
  esac
done

export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
# psql runs in the session the service's own connections use: no JIT compiling (see DataSourceConfig)
export PGOPTIONS='-c client_min_messages=warning -c jit=off'
DB=${BENCH_DB:-cdc_bench}   # the sinks and formats sections use ${DB}_sinks and ${DB}_formats
PORT=${BENCH_PORT:-18080}
WORK=$(mktemp -d /tmp/cdc-bench.XXXXXX)
SVC=""
EXTRA_PIDS=""
# (|| true: under set -e a failing kill, e.g. of a service that already exited, would end the trap early)
trap 'for p in $SVC $EXTRA_PIDS; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$WORK"' EXIT

JAR=${BENCH_JAR:-$(ls target/cdc-export-*.jar 2>/dev/null | head -n 1 || true)}
if [ -z "$JAR" ]; then
  ./mvnw -q -B package -DskipTests
  JAR=$(ls target/cdc-export-*.jar | head -n 1)
fi

now() { date +%s.%N; }
calc() { echo "scale=6; $*" | bc; }
# median [min–max] of the numbers on stdin
summary() { sort -g | awk '{v[NR]=$1} END {m = NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2;
  printf "%.3f [%.3f–%.3f]", m, v[1], v[NR]}'; }

fresh_db() { psql -q -d postgres -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" >/dev/null; }

# start_service DB SEED_USERS JAVA_ARGS: sets SVC (pid) and STARTUP (seconds to /health answering)
start_service() {
  local t0
  t0=$(now)
  DATABASE_URL="postgresql://$PGUSER@$PGHOST:$PGPORT/$1" EXPORT_TABLES=${EXPORT_TABLES:-users} PORT=$PORT EXPORT_OUTPUT_DIR="$WORK/out" SEED_USERS=$2 \
    EXPORT_WORKERS=4 AUTH_MODE=off RATE_LIMIT_PER_MINUTE=0 EXPORTS_PER_HOUR=0 java $3 > "$WORK/${SERVICE_LOG:-service.log}" 2>&1 &
  SVC=$!
  until curl -sf "localhost:$PORT/health" >/dev/null; do
    kill -0 "$SVC" 2>/dev/null || { tail -20 "$WORK/${SERVICE_LOG:-service.log}"; exit 1; }
    sleep 0.02
  done
  STARTUP=$(calc "$(now) - $t0")
}
stop_service() { kill "$SVC"; wait "$SVC" 2>/dev/null || true; SVC=""; }
await_seeded() { until grep -qE 'Seeded [0-9]+ users|seeding skipped' "$WORK/service.log"; do sleep 0.1; done
  grep -oE 'Seeded [0-9]+ users in [0-9.]+ s' "$WORK/service.log" | grep -oE '[0-9.]+ s$' | tr -d ' s'; }

# export_job TYPE CONSUMER: prints the job's durationSeconds once it completed; its file name goes to $WORK/last
# (callers run it in a subshell, so a variable would not reach them)
export_job() { # TYPE CONSUMER [TABLE]
  local job status
  job=$(curl -s -X POST "localhost:$PORT/exports/$1?table=${3:-users}" -H "X-Consumer-ID: $2" | jq -r .jobId)
  while :; do
    status=$(curl -s "localhost:$PORT/exports/jobs/$job")
    case $(jq -r .status <<<"$status") in
      completed) jq -r .durationSeconds <<<"$status"; jq -r .outputFilename <<<"$status" > "$WORK/last"; return ;;
      failed|cancelled) echo "export failed: $status" >&2; exit 1 ;;
    esac
    sleep 0.01
  done
}

# The service's own SELECT for each export (see ExportQuery), so psql runs exactly the same work.
TS="'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'"
ts() { echo "CASE WHEN isfinite(t.\"$1\") THEN to_char(t.\"$1\" AT TIME ZONE 'UTC', $TS) ELSE t.\"$1\"::text END AS \"$1\""; }
COLUMNS="t.\"id\" AS \"id\", t.\"name\" AS \"name\", t.\"email\" AS \"email\", $(ts created_at), $(ts updated_at), \
t.\"is_deleted\"::text AS \"is_deleted\""
# A change window over the change log: keys of entries visible in the export's snapshot, not in the previous one.
window() { # TABLE KEYTYPE SNAPSHOT → a predicate on t's key
  echo "(t.\"id\") IN (SELECT (l.key ->> 0)::$2 FROM \"cdc\".change_log l WHERE l.table_oid = $(psql -At -d "$DB" \
    -c "SELECT '$1'::regclass::oid") AND l.change_xid >= pg_snapshot_xmin('$3'::pg_snapshot) AND NOT \
    pg_visible_in_snapshot(l.change_xid, '$3'::pg_snapshot))"; }
psql_copy() { # WHERE-clause → seconds
  local t0
  # a new file each time: ext4 flushes a file that was truncated and rewritten when it is closed, a cost the
  # export (which always writes a new file) never pays
  rm -f "$WORK/psql.csv"
  t0=$(now)
  psql -q -d "$DB" -c "\\copy (SELECT $COLUMNS FROM \"public\".\"users\" t WHERE TRUE AND NOT t.is_deleted AND $1 ORDER BY t.\"id\") TO '$WORK/psql.csv' WITH (FORMAT csv, HEADER, FORCE_QUOTE (\"name\", \"email\"))"
  calc "$(now) - $t0"
}
ORDER_COLUMNS="t.\"id\" AS \"id\", t.\"customer\" AS \"customer\", t.\"total\" AS \"total\", t.\"status\" AS \"status\""
psql_copy_orders() { # WHERE-clause → seconds
  local t0
  t0=$(now)
  psql -q -d "$DB" -c "\\copy (SELECT $ORDER_COLUMNS FROM \"public\".\"bench_orders\" t WHERE TRUE AND TRUE AND $1 ORDER BY t.\"id\") TO '$WORK/psql-orders.csv' WITH (FORMAT csv, HEADER, FORCE_QUOTE (\"customer\", \"status\"))"
  calc "$(now) - $t0"
}
snapshot_of() { psql -At -d "$DB" -c "SELECT snapshot::text FROM cdc.watermarks WHERE consumer_id = '$1' AND table_name = '${2:-public.users}'"; }

# --- S3 sink vs local sink (--sinks; issues 15 and 27) --------------------------------------------------------------
# Three instances on one database, all with -Xmx128m: one writes to a local directory, one to S3Mock, one to S3Proxy
# (two real S3 APIs on this machine, from target/s3mock/s3mock.jar and target/s3proxy/s3proxy.jar; S3Proxy with its
# filesystem backend). Every round: a full export on the local sink, then for each S3 server the same export to it
# and, alone, the raw upload: the local export's file uploaded by a plain multipart upload (bench/RawUpload.java:
# the sink's client settings, its part size, its parts in flight, a warm JVM), then one CopyObject of that object,
# which is what the sink's publish costs beyond the upload (the attempt's object copied to the final name, see
# S3Upload). Each measure records the CPU-seconds its processes spent besides the wall time (see cpu_during: the
# service, the S3 server, PostgreSQL's backends, the uploader): on N cores the read and the upload cannot overlap
# beyond (CPU of the local export + CPU of the raw upload) / N.
S3_SERVERS="s3mock s3proxy"
sinks_bench() {
  [ -f target/s3mock/s3mock.jar ] && [ -f target/s3proxy/s3proxy.jar ] || ./mvnw -q -B generate-test-resources
  local lport=$PORT lpid r l s name srv cores part inflight pids="" raw rawc raws copy lc sc
  declare -A s3port=([s3mock]=$((PORT + 2)) [s3proxy]=$((PORT + 4))) svcport=([s3mock]=$((PORT + 1)) [s3proxy]=$((PORT + 3)))
  declare -A s3pid svcpid
  cores=$(nproc); part=$((8 * 1048576)); inflight=2   # the sink's defaults, S3_PART_SIZE and S3_PARTS_IN_FLIGHT
  echo "   load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
  mkdir -p "$WORK/s3mock-root" "$WORK/s3proxy-root/bench"
  java -Xmx512m -jar target/s3mock/s3mock.jar --com.adobe.testing.s3mock.http-port=$((PORT + 2)) --server.port=0 \
    --server.address=127.0.0.1 --com.adobe.testing.s3mock.store.root="$WORK/s3mock-root" \
    --com.adobe.testing.s3mock.store.initial-buckets=bench --logging.level.root=warn > "$WORK/s3mock.log" 2>&1 &
  pids="$pids $!"; s3pid[s3mock]=$!
  printf 's3proxy.endpoint=http://127.0.0.1:%s\ns3proxy.authorization=none\njclouds.provider=filesystem\njclouds.filesystem.basedir=%s\n' \
    $((PORT + 4)) "$WORK/s3proxy-root" > "$WORK/s3proxy.conf"
  java -Xmx512m -jar target/s3proxy/s3proxy.jar --properties "$WORK/s3proxy.conf" > "$WORK/s3proxy.log" 2>&1 &
  pids="$pids $!"; s3pid[s3proxy]=$!
  EXTRA_PIDS="$EXTRA_PIDS $pids"
  until curl -sf "http://127.0.0.1:${s3port[s3mock]}/" >/dev/null; do sleep 0.2; done
  until curl -sf "http://127.0.0.1:${s3port[s3proxy]}/bench" >/dev/null; do sleep 0.2; done
  # the yardstick's classes, compiled against the jar's own AWS SDK
  java -Djarmode=tools -jar "$JAR" extract --destination "$WORK/sdk" >/dev/null
  mkdir -p "$WORK/raw"; javac -nowarn -cp "$WORK/sdk/lib/*" -d "$WORK/raw" bench/RawUpload.java
  fresh_db ${DB}_sinks
  PORT=$lport SERVICE_LOG=local.log start_service ${DB}_sinks "$ROWS" "-Xmx128m -jar $JAR"
  lpid=$SVC; pids="$pids $SVC"; EXTRA_PIDS="$EXTRA_PIDS $pids"; SVC=""
  until grep -qE 'Seeded [0-9]+ users|seeding skipped' "$WORK/local.log"; do sleep 0.1; done
  psql -q -d ${DB}_sinks -c "VACUUM ANALYZE users" >/dev/null
  for srv in $S3_SERVERS; do
    EXPORT_SINK=s3 S3_BUCKET=bench S3_ENDPOINT="http://127.0.0.1:${s3port[$srv]}" S3_PATH_STYLE=true AWS_REGION=us-east-1 \
      AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench PORT=${svcport[$srv]} SERVICE_LOG=$srv.log \
      start_service ${DB}_sinks 0 "-Xmx128m -jar $JAR"
    svcpid[$srv]=$SVC; pids="$pids $SVC"; EXTRA_PIDS="$EXTRA_PIDS $pids"; SVC=""
    echo 0 > "$WORK/heap.${svcport[$srv]}"
  done
  echo 0 > "$WORK/heap.$lport"
  rm -f "$WORK"/sink.*
  local identical=yes
  # one unmeasured export on each instance (JIT, class loading, the S3 client's connections)
  sampled_export "$lport" warm >/dev/null; name=$(cat "$WORK/last")
  for srv in $S3_SERVERS; do sampled_export "${svcport[$srv]}" warm >/dev/null; done
  rm -f "$WORK/out/$name" "$WORK/out/${name%.csv}.manifest.json"
  for r in $(seq 1 "$ROUNDS"); do
    read -r l lc <<<"$(cpu_during ${DB}_sinks "$lpid" sampled_export "$lport" "local-$r")"; name=$(cat "$WORK/last")
    echo "$l" >> "$WORK/sink.local"; echo "$lc" >> "$WORK/sink.local.cpu"
    for srv in $S3_SERVERS; do
      read -r s sc <<<"$(cpu_during ${DB}_sinks "${svcpid[$srv]} ${s3pid[$srv]}" sampled_export "${svcport[$srv]}" "$srv-$r")"
      curl -s -o "$WORK/object" "http://127.0.0.1:${s3port[$srv]}/bench/$(cat "$WORK/last")"
      cmp "$WORK/object" "$WORK/out/$name" >&2 || identical=no
      rm -f "$WORK/object"
      # wall, CPU of the uploader and of the server meanwhile; seconds of the CopyObject after it
      read -r raw rawc raws copy <<<"$(java -Dserver.pid="${s3pid[$srv]}" -cp "$WORK/raw:$WORK/sdk/lib/*" RawUpload \
        "http://127.0.0.1:${s3port[$srv]}" bench "raw-$r" "$WORK/out/$name" $part $inflight copy)"
      rawc=$(calc "$rawc + $raws")
      echo "$s" >> "$WORK/sink.$srv"; echo "$sc" >> "$WORK/sink.$srv.cpu"; echo "$raw" >> "$WORK/sink.$srv.raw"
      echo "$rawc" >> "$WORK/sink.$srv.raw.cpu"; echo "$copy" >> "$WORK/sink.$srv.copy"
      calc "$s / $l" >> "$WORK/sink.$srv.ratio"
      awk -v s="$s" -v l="$l" -v raw="$raw" -v copy="$copy" -v lc="$lc" -v rc="$rawc" -v n="$cores" \
        -v out="$WORK/sink.$srv" 'BEGIN {
        m = l > raw ? l : raw; print s / m >> (out ".aim")
        c = l > raw + copy ? l : raw + copy; print s / c >> (out ".copyaim")
        f = (lc + rc) / n; f = f > m ? f : m; print s / f >> (out ".floor") }'
    done
    rm -f "$WORK/out/$name" "$WORK/out/${name%.csv}.manifest.json"
  done
  printf '\n%-66s %s\n' "full export of $ROWS users (median [min–max] of $ROUNDS rounds)" "result (aim)"
  printf '%-66s %s s; CPU %s s\n' "local sink: job duration" "$(summary < "$WORK/sink.local")" \
    "$(summary < "$WORK/sink.local.cpu")"
  for srv in $S3_SERVERS; do
    printf '%s\n' "against $srv:"
    printf '%-66s %s s; CPU %s s\n' "  S3 sink: job duration" "$(summary < "$WORK/sink.$srv")" \
      "$(summary < "$WORK/sink.$srv.cpu")"
    printf '%-66s %s s; CPU %s s\n' "  raw multipart upload of the same file, alone" \
      "$(summary < "$WORK/sink.$srv.raw")" "$(summary < "$WORK/sink.$srv.raw.cpu")"
    printf '%-66s %s s\n' "  CopyObject of that object (the publish's copy), alone" "$(summary < "$WORK/sink.$srv.copy")"
    printf '%-66s %s\n' "  S3 sink / local sink" "$(summary < "$WORK/sink.$srv.ratio")"
    printf '%-66s %s (≤ 1.10)\n' "  S3 sink / max(local, raw upload)" "$(summary < "$WORK/sink.$srv.aim")"
    printf '%-66s %s\n' "  S3 sink / max(local, raw upload + copy)" "$(summary < "$WORK/sink.$srv.copyaim")"
    printf '%-66s %s\n' "  S3 sink / max(local, raw, (CPU local + CPU raw) / $cores cores)" \
      "$(summary < "$WORK/sink.$srv.floor")"
  done
  printf '%-66s %s\n' "every object identical to the local file" "$identical"
  printf '%-66s %s MiB / %s MiB / %s MiB\n' "max heap used with -Xmx128m, local / S3Mock / S3Proxy instance" \
    "$(( $(cat "$WORK/heap.$lport") / 1048576 ))" "$(( $(cat "$WORK/heap.${svcport[s3mock]}") / 1048576 ))" \
    "$(( $(cat "$WORK/heap.${svcport[s3proxy]}") / 1048576 ))"
  echo "   load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  # shellcheck disable=SC2086
  kill $pids 2>/dev/null || true; wait $pids 2>/dev/null || true
  psql -q -d postgres -c "DROP DATABASE IF EXISTS ${DB}_sinks WITH (FORCE)" >/dev/null
}

# cpu_during DB "PID..." COMMAND...: the command's output and the CPU-seconds that these processes and PostgreSQL's
# backends on database DB spent while it ran (user and system time from /proc: other load on the machine does not
# count; a backend that ended meanwhile is missed, the service keeps its connections pooled)
cpu_during() {
  local db=$1 pids=$2 out
  shift 2
  cpu_snapshot "$db" $pids > "$WORK/cpu.before"
  out=$("$@")
  echo "$out $(cpu_snapshot "$db" $pids | awk -v hz="$(getconf CLK_TCK)" 'NR == FNR {b[$1] = $2; next}
    {s += $2 - b[$1]} END {printf "%.2f", s / hz}' "$WORK/cpu.before" -)"
}
cpu_snapshot() { # DB PID... → "pid ticks" lines
  local db=$1 p
  shift
  for p in "$@" $(psql -At -d postgres -c "SELECT pid FROM pg_stat_activity WHERE datname = '$db'"); do
    [ -r "/proc/$p/stat" ] && awk '{sub(/^.*\) /, ""); print "'"$p"'", $12 + $13}' "/proc/$p/stat"
  done
}

# sampled_export PORT CONSUMER: a full export on that instance; prints its duration, keeps the instance's peak heap
# (jvm_memory_used_bytes, heap areas summed, every 100 ms) in $WORK/heap.PORT
sampled_export() {
  local port=$1 job status heap max
  max=$(cat "$WORK/heap.$port")
  job=$(curl -s -X POST "localhost:$port/exports/full" -H "X-Consumer-ID: $2" | jq -r .jobId)
  while :; do
    heap=$(curl -s "localhost:$port/actuator/prometheus" | awk '/^jvm_memory_used_bytes/ && /area="heap"/ {s += $NF} END {printf "%d", s}')
    [ "$heap" -gt "$max" ] && max=$heap
    status=$(curl -s "localhost:$port/exports/jobs/$job")
    case $(jq -r .status <<<"$status") in
      completed) jq -r .durationSeconds <<<"$status"; jq -r .outputFilename <<<"$status" > "$WORK/last"; break ;;
      failed|cancelled) echo "export failed: $status" >&2; exit 1 ;;
    esac
    sleep 0.1
  done
  echo "$max" > "$WORK/heap.$port"
}


# health_under_load: three batches of 4 concurrent full exports (EXPORT_WORKERS=4), /health asked every 20 ms
# throughout (a few hundred samples); prints its p99 in ms and the number of requests
health_under_load() {
  local batch c health_n
  : > "$WORK/health.ms.s"
  for batch in 1 2 3; do
    for c in 1 2 3 4; do curl -s -X POST "localhost:$PORT/exports/full" -H "X-Consumer-ID: load-$c" >/dev/null; done
    while [ "$(curl -s "localhost:$PORT/exports/jobs?status=running" | jq '.jobs | length')" != 0 ] \
       || [ "$(curl -s "localhost:$PORT/exports/jobs?status=queued" | jq '.jobs | length')" != 0 ]; do
      for _ in $(seq 1 20); do
        curl -s -o /dev/null -w '%{time_total}\n' "localhost:$PORT/health" >> "$WORK/health.ms.s"; sleep 0.02
      done
    done
    rm -f "$WORK"/out/*.csv
  done
  awk '{printf "%.3f\n", $1 * 1000}' "$WORK/health.ms.s" > "$WORK/health.ms"
  health_n=$(wc -l < "$WORK/health.ms")
  echo "$(sort -g "$WORK/health.ms" | awk -v n="$health_n" '{v[NR]=$1} END {i=int(n*0.99); if (i<1) i=1; print v[i]}') $health_n"
}

# --- parallel full export (issues 16, 27): wall time from the POST to the job seen completed -------------------------
# busy_cpu: CPU seconds every process of the machine has spent (user, system, irq), from /proc/stat
busy_cpu() { awk -v hz="$(getconf CLK_TCK)" '/^cpu /{printf "%.3f\n", ($2 + $3 + $4 + $7 + $8) / hz}' /proc/stat; }
# service_cpu: CPU seconds the service's JVM has spent (user + system)
service_cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.3f\n", ($14 + $15) / hz}' "/proc/$SVC/stat"; }
# export_wall CONSUMER: seconds from the POST until the job completed (its finishedAt: the moment the service
# committed it, on this machine's clock), the file's name to $WORK/last, the greatest heap in use during the export
# to $WORK/heap: the largest heap before any collection while it ran, from the service's GC log ($WORK/gc.log), so
# measuring the heap costs the service nothing. Polls are few and light (curl alone, every 0.5 s): each one costs
# the service's JVM CPU the export would otherwise have; finishedAt keeps their interval out of the figure.
# $WORK/cpu gets "service-CPU-s machine-CPU-s" spent from the POST to the commit (plus at most one poll's).
export_wall() {
  local t0 job status finished gc_lines c0 b0
  gc_lines=$(wc -l < "$WORK/gc.log")
  c0=$(service_cpu); b0=$(busy_cpu)
  t0=$(now)
  job=$(curl -s -X POST "localhost:$PORT/exports/full" -H "X-Consumer-ID: $1" | jq -r .jobId)
  while :; do
    sleep 0.5
    status=$(curl -s "localhost:$PORT/exports/jobs/$job")
    case $status in
      *'"status":"completed"'*)
        echo "$(calc "$(service_cpu) - $c0") $(calc "$(busy_cpu) - $b0")" > "$WORK/cpu"
        finished=$(jq -r .finishedAt <<<"$status")
        calc "$(date -d "$finished" +%s.%N) - $t0"; jq -r .outputFilename <<<"$status" > "$WORK/last"
        # "GC(7) Pause Young (Normal) (G1 Evacuation Pause) 61M->9M(128M) 2.1ms": 61 MiB were in use
        # (no collection during a short export: no line, which is no failure)
        tail -n +"$((gc_lines + 1))" "$WORK/gc.log" | { grep -oE '[0-9]+M->' || true; } | sed 's/M->//' | sort -n | tail -1 \
          | awk '{print $1 * 1048576} END {if (NR == 0) print 0}' > "$WORK/heap"
        return ;;
      *'"status":"failed"'*|*'"status":"cancelled"'*) echo "export failed: $status" >&2; exit 1 ;;
    esac
  done
}
# export_seen CONSUMER: the export as a client sees it, polling every 20 ms; prints "POST→seen POST→claim
# commit→seen" in seconds (the claim is the job's startedAt, the commit its finishedAt, on this machine's clock)
export_seen() {
  local t0 t1 job status
  t0=$(now)
  job=$(curl -s -X POST "localhost:$PORT/exports/full" -H "X-Consumer-ID: $1" | jq -r .jobId)
  while :; do
    status=$(curl -s "localhost:$PORT/exports/jobs/$job")
    case $status in
      *'"status":"completed"'*) t1=$(now); break ;;
      *'"status":"failed"'*|*'"status":"cancelled"'*) echo "export failed: $status" >&2; exit 1 ;;
    esac
    sleep 0.02
  done
  rm -f "$WORK/out/$(jq -r .outputFilename <<<"$status")"
  echo "$(calc "$t1 - $t0") $(calc "$(date -d "$(jq -r .startedAt <<<"$status")" +%s.%N) - $t0") \
$(calc "$t1 - $(date -d "$(jq -r .finishedAt <<<"$status")" +%s.%N)")"
}
# export_waited CONSUMER: as export_seen, but the client asks once with ?wait=60, which the service answers when the
# job ends; prints "POST→answer commit→answer" in seconds
export_waited() {
  local t0 t1 job status
  t0=$(now)
  job=$(curl -s -X POST "localhost:$PORT/exports/full" -H "X-Consumer-ID: $1" | jq -r .jobId)
  while :; do
    status=$(curl -s "localhost:$PORT/exports/jobs/$job?wait=60")
    case $status in
      *'"status":"completed"'*) t1=$(now); break ;;
      *'"status":"failed"'*|*'"status":"cancelled"'*) echo "export failed: $status" >&2; exit 1 ;;
    esac
  done
  rm -f "$WORK/out/$(jq -r .outputFilename <<<"$status")"
  echo "$(calc "$t1 - $t0") $(calc "$t1 - $(date -d "$(jq -r .finishedAt <<<"$status")" +%s.%N)")"
}
# psql_copy_cpu: psql_copy "TRUE" and, to $WORK/psql.cpu, the machine's CPU seconds it took (backend and psql)
psql_copy_cpu() { local b0; b0=$(busy_cpu); psql_copy "TRUE"; calc "$(busy_cpu) - $b0" > "$WORK/psql.cpu"; }
# two psql streams over the two halves of the ids at once: what splitting the table buys PostgreSQL itself
psql_halves() {
  local t0 mid half n=0 pids=()
  mid=$(psql -At -d "$DB" -c "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY id) FROM users WHERE NOT is_deleted")
  rm -f "$WORK"/half-*.csv
  t0=$(now)
  for half in "t.id <= $mid" "t.id > $mid"; do
    n=$((n + 1))
    psql -q -d "$DB" -c "\\copy (SELECT $COLUMNS FROM \"public\".\"users\" t WHERE NOT t.is_deleted AND $half ORDER BY t.\"id\") TO '$WORK/half-$n.csv' WITH (FORMAT csv, HEADER, FORCE_QUOTE (\"name\", \"email\"))" &
    pids+=($!)
  done
  wait "${pids[@]}"
  calc "$(now) - $t0"
}
# await_warm_up: until the service logged its start-up warm-up (or 20 s passed, or it runs none)
await_warm_up() {
  local i
  for i in $(seq 1 200); do
    grep -q 'Export path warmed up\|Export warm-up' "$WORK/${SERVICE_LOG:-service.log}" && return
    sleep 0.1
  done
}
# parallel_bench ROWS ROUNDS: one table of ROWS seeded users; per setting a service restarted with -Xmx128m, and
# rounds of psql \copy and the export interleaved. SETTINGS, of: the defaults; EXPORT_PARALLELISM 1, 2, 4; the
# defaults under C1 alone (-XX:TieredStopAtLevel=1, the container's JIT before issue 27); and, for the first export
# only, the defaults without the start-up warm-up (EXPORT_WARM_UP_ROWS=0).
parallel_bench() { # ROWS ROUNDS SETTINGS
  local rows=$1 rounds=$2 settings=$3 setting p s label jvm warm
  DB=cdc_bench_parallel
  fresh_db "$DB"
  start_service "$DB" "$rows" "-Xmx128m -jar $JAR"
  await_seeded >/dev/null
  stop_service
  psql -q -d "$DB" -c "VACUUM ANALYZE users" >/dev/null
  : > "$WORK/halves"
  for r in $(seq 1 "$rounds"); do
    p=$(psql_copy "TRUE"); s=$(psql_halves); calc "$s / $p" >> "$WORK/halves"
  done
  printf '\n%-62s %s\n' "full export of $rows users, wall time / one psql \\copy" "median [min–max], $rounds rounds"
  for setting in $settings; do
    jvm=""; warm=""
    [ $setting = c1 ] && jvm="-XX:TieredStopAtLevel=1"
    [ $setting = cold ] && warm=0
    # A setting above the instance's default reader budget (one per core) raises the budget with it, so that the
    # export alone really reads with that many connections.
    EXPORT_WARM_UP_ROWS=${warm:-300000} \
    EXPORT_PARALLELISM=$(case $setting in default|c1|cold) echo 0 ;; *) echo $setting ;; esac) \
    EXPORT_READERS=$(case $setting in default|c1|cold) echo 0 ;; *) [ "$setting" -gt "$(nproc)" ] && echo "$setting" || echo 0 ;; esac) \
      start_service "$DB" 0 \
      "-Xmx128m -Xlog:gc:file=$WORK/gc.log $jvm -jar $JAR"
    # as a user's first export comes: after the instance started, and warmed its export path when it does
    await_warm_up
    : > "$WORK/par.ratios"; : > "$WORK/par.heap"; : > "$WORK/par.jvm"; : > "$WORK/par.floor"; : > "$WORK/par.psqlcpu"
    identical=yes
    # The first export after start-up: what a freshly started instance does; the rounds measure a running service.
    p=$(psql_copy "TRUE"); s=$(export_wall "par-$setting-0"); rm -f "$WORK/out/$(cat "$WORK/last")"
    calc "$s / $p" > "$WORK/par.first"
    if [ $setting = cold ]; then
      printf '%-62s %s\n' "  first export after start without the warm-up (EXPORT_WARM_UP_ROWS=0)" \
        "$(printf '%.3f' "$(cat "$WORK/par.first")")"
      stop_service
      continue
    fi
    # A second export, not measured: the JIT is still compiling the path after the first (a second or two of CPU
    # the rounds would otherwise share at random).
    export_wall "par-$setting-warm" > /dev/null; rm -f "$WORK/out/$(cat "$WORK/last")"
    for r in $(seq 1 "$rounds"); do
      p=$(psql_copy_cpu)
      s=$(export_wall "par-$setting-$r")
      cmp -s "$WORK/psql.csv" "$WORK/out/$(cat "$WORK/last")" || identical=no
      rm -f "$WORK/out/$(cat "$WORK/last")"
      calc "$s / $p" >> "$WORK/par.ratios"; cat "$WORK/heap" >> "$WORK/par.heap"
      read -r jvm_cpu all_cpu < "$WORK/cpu"
      echo "$jvm_cpu" >> "$WORK/par.jvm"; cat "$WORK/psql.cpu" >> "$WORK/par.psqlcpu"
      # the least wall time the export's CPU allows: all of it (service, backends) spread over every core
      calc "$all_cpu / $(nproc) / $p" >> "$WORK/par.floor"
    done
    case $setting in
      default) label="  defaults ($(( $(nproc) < 2 ? 2 : ($(nproc) > 8 ? 8 : $(nproc)) )) readers on $(nproc) cores)" ;;
      c1) label="  defaults, C1 only (-XX:TieredStopAtLevel=1)" ;;
      *) label="  EXPORT_PARALLELISM=$setting" ;;
    esac
    summary < "$WORK/par.ratios" | cut -d' ' -f1 > "$WORK/par.median.$setting"
    printf '%-62s %s (≤ 0.60); identical to the serial file: %s; max heap %s MiB; first export after start %s\n' "$label" \
      "$(summary < "$WORK/par.ratios")" "$identical" "$(( $(sort -g "$WORK/par.heap" | tail -1) / 1048576 ))" \
      "$(printf '%.3f' "$(cat "$WORK/par.first")")"
    printf '%-62s %s; the service %s of it (psql: %s)\n' "    CPU-seconds of the machine per export: floor (CPU / cores / psql)" \
      "$(summary < "$WORK/par.floor")" "$(summary < "$WORK/par.jvm" | cut -d' ' -f1) s" \
      "$(summary < "$WORK/par.psqlcpu" | cut -d' ' -f1) s of CPU"
    if [ $setting = default ] && [ "$rows" = "$ROWS" ]; then
      : > "$WORK/seen"
      for r in $(seq 1 "$rounds"); do
        p=$(psql_copy "TRUE"); read -r seen claim answer <<<"$(export_seen "seen-$r")"
        echo "$(calc "$seen / $p") $claim $answer" >> "$WORK/seen"
      done
      printf '%-62s %s; POST → claim %s ms, commit → seen %s ms (medians)\n' \
        "    as a client sees it (POST → completed, 20 ms polls) / psql" "$(cut -d' ' -f1 "$WORK/seen" | summary)" \
        "$(cut -d' ' -f2 "$WORK/seen" | awk '{print $1 * 1000}' | summary | cut -d' ' -f1)" \
        "$(cut -d' ' -f3 "$WORK/seen" | awk '{print $1 * 1000}' | summary | cut -d' ' -f1)"
      : > "$WORK/waited"
      for r in $(seq 1 "$rounds"); do
        p=$(psql_copy "TRUE"); read -r seen answer <<<"$(export_waited "waited-$r")"
        echo "$(calc "$seen / $p") $answer" >> "$WORK/waited"
      done
      printf '%-62s %s; commit → answer %s ms (median)\n' \
        "    as a client sees it (POST, then one GET ?wait=60) / psql" "$(cut -d' ' -f1 "$WORK/waited" | summary)" \
        "$(cut -d' ' -f2 "$WORK/waited" | awk '{print $1 * 1000}' | summary | cut -d' ' -f1)"
    fi
    if { [ $setting = default ] || [ $setting = 1 ]; } && [ "$rows" = "$ROWS" ]; then
      read -r health_p99 health_n <<<"$(health_under_load)"
      printf '%-62s %s ms over %s requests (< 100)\n' "    /health p99 while 4 such exports run" "$health_p99" "$health_n"
    fi
    stop_service
  done
  [ -f "$WORK/par.median.1" ] && printf '%-62s %s\n' "  defaults / EXPORT_PARALLELISM=1 (medians)" \
    "$(printf '%.3f' "$(calc "$(cat "$WORK/par.median.default") / $(cat "$WORK/par.median.1")")")"
  rm -f "$WORK"/par.median.*
  printf '%-62s %s\n' "  for reference: two psql streams over two halves / one" "$(summary < "$WORK/halves")"
  echo "   load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  psql -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
}

# --parallel with --sinks and/or --formats runs those sections too, after it (issue 27's measures in one run)
if [ "$PARALLEL" = 1 ]; then
  echo "== CDC parallel export benchmark: $ROWS (and ${BIG_ROWS}) rows, $(nproc) cores, $(date -u +%FT%TZ)"
  parallel_bench "$ROWS" "$ROUNDS" "${PARALLEL_SETTINGS:-default 1 2 4 c1 cold}"
  # the big table at the defaults only (seeding 10M rows alone takes minutes)
  [ "$BIG_ROWS" -gt 0 ] && parallel_bench "$BIG_ROWS" "$ROUNDS" "default cold"
  [ "$SINKS" = yes ] || [ "$FORMATS_ONLY" = yes ] || exit 0
fi

# --- formats: every format of one full export of the same users, side by side ---------------------------------------
# One service with -Xmx128m on $ROWS seeded users; rounds interleave the formats, so each ratio compares exports of
# the same rows on the same machine moments apart. Time is the job's own duration (start to commit); size is the
# file's; heap is the greatest heap in use sampled (actuator, every 0.2 s) while each export ran.
FORMATS=${BENCH_FORMATS:-csv csv.gz csv.zst jsonl jsonl.gz jsonl.zst parquet}
export_format() { # FORMAT CONSUMER → "seconds bytes heap-bytes"
  local job status heap max_heap=0
  job=$(curl -s -X POST "localhost:$PORT/exports/full?format=$1" -H "X-Consumer-ID: $2" | jq -r .jobId)
  while :; do
    status=$(curl -s "localhost:$PORT/exports/jobs/$job")
    case $(jq -r .status <<<"$status") in
      completed) break ;;
      failed|cancelled) echo "export failed: $status" >&2; exit 1 ;;
    esac
    heap=$(curl -s "localhost:$PORT/actuator/prometheus" | awk '/^jvm_memory_used_bytes/ && /area="heap"/ {s += $NF} END {printf "%d", s}')
    [ "$heap" -gt "$max_heap" ] && max_heap=$heap
    sleep 0.2
  done
  echo "$(jq -r .durationSeconds <<<"$status") $(stat -c %s "$WORK/out/$(jq -r .outputFilename <<<"$status")") $max_heap"
  rm -f "$WORK/out/$(jq -r .outputFilename <<<"$status")" "$WORK/out/$(jq -r .manifestFilename <<<"$status")"
}
formats_bench() {
  echo "== CDC export benchmark, formats: $ROWS users, $ROUNDS rounds, -Xmx128m, $(nproc) cores, $(date -u +%FT%TZ)"
  echo "   load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
  fresh_db ${DB}_formats
  start_service ${DB}_formats "$ROWS" "-Xmx128m -jar $JAR"
  await_seeded >/dev/null
  psql -q -d ${DB}_formats -c "VACUUM ANALYZE users" >/dev/null
  local f r n=0 line csv_s
  for f in $FORMATS; do export_format "$f" "warm-$n" >/dev/null; n=$((n + 1)); done  # JIT and class loading
  rm -f "$WORK"/fmt-*
  for r in $(seq 1 "$ROUNDS"); do
    for f in $FORMATS; do
      # "seconds bytes heap-bytes CPU-seconds" (the service's and PostgreSQL's)
      line=$(cpu_during ${DB}_formats "$SVC" export_format "$f" "r$r-${f//./-}")
      [ "$f" = csv ] && csv_s=${line%% *} && csv_b=$(cut -d' ' -f2 <<<"$line")
      echo "$line" | cut -d' ' -f1 >> "$WORK/fmt-$f.s"
      echo "$line" | cut -d' ' -f3 >> "$WORK/fmt-$f.heap"
      echo "$line" | cut -d' ' -f4 >> "$WORK/fmt-$f.cpu"
      calc "${line%% *} / $csv_s" >> "$WORK/fmt-$f.ratio"
      calc "$(cut -d' ' -f2 <<<"$line") / $csv_b" >> "$WORK/fmt-$f.size"
      echo "$(cut -d' ' -f2 <<<"$line")" > "$WORK/fmt-$f.bytes"
      # the least time this format can take on these cores: all the CPU its export spent, spread over every core,
      # and never less than csv's own time (PostgreSQL renders the same CSV)
      awk -v s="$csv_s" -v c="$(cut -d' ' -f4 <<<"$line")" -v n="$(nproc)" \
        'BEGIN {f = c / n; print (f > s ? f : s) / s}' >> "$WORK/fmt-$f.floor"
    done
  done
  stop_service
  psql -q -d postgres -c "DROP DATABASE IF EXISTS ${DB}_formats WITH (FORCE)" >/dev/null
  printf '\n%-10s %-22s %-22s %-8s %-22s %-8s %s\n' format "seconds" "time / csv" "MB" "size / csv" "CPU s" \
    "max heap MiB"
  for f in $FORMATS; do
    printf '%-10s %-22s %-22s %-8s %-22s %-8s %s\n' "$f" "$(summary < "$WORK/fmt-$f.s")" \
      "$(summary < "$WORK/fmt-$f.ratio")" "$(calc "$(cat "$WORK/fmt-$f.bytes") / 1048576" | cut -c1-6)" \
      "$(summary < "$WORK/fmt-$f.size")" "$(summary < "$WORK/fmt-$f.cpu" | cut -d' ' -f1)" \
      "$(( $(sort -n "$WORK/fmt-$f.heap" | tail -1) / 1048576 ))"
  done
  echo "(CPU s: what the service and PostgreSQL's backends spent while the export ran, median)"
  if [ -f "$WORK/fmt-csv.gz.s" ]; then
    printf '%-66s %s (≤ 1.30)\n' "csv.gz / csv, time" "$(summary < "$WORK/fmt-csv.gz.ratio")"
    printf '%-66s %s (≤ 0.33)\n' "csv.gz / csv, size" "$(summary < "$WORK/fmt-csv.gz.size")"
    printf '%-66s %s\n' "  csv.gz's floor / csv: max(csv time, CPU of csv.gz / $(nproc) cores) / csv time" \
      "$(summary < "$WORK/fmt-csv.gz.floor")"
  fi
  echo "aims: csv.gz ≤ 1.3× the time of csv at ≤ 0.33× its size; parquet ≤ 2× the time; heap flat under -Xmx128m"
  echo "   load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
}
# --sinks and --formats together run both sections, one after the other (issue 27's measures in one run)
if [ "$SINKS" = yes ]; then
  echo "== CDC export sinks benchmark: $ROWS rows, $ROUNDS rounds, $(nproc) cores, $(date -u +%FT%TZ)"
  sinks_bench
fi
if [ "$FORMATS_ONLY" = yes ]; then
  formats_bench
fi
[ "$SINKS" = yes ] || [ "$FORMATS_ONLY" = yes ] && exit 0

# --- Iceberg destination vs parquet files (--iceberg; issue 25) ----------------------------------------------------
# One service with -Xmx128m and a GC log on $ROWS seeded users (seeded by an earlier start without the limit), its
# warehouse the default ($EXPORT_OUTPUT_DIR/iceberg). (a) Full exports with format=iceberg (consumer ice_full, so
# every round replaces the files of one existing table, as a repeated full export does) vs format=parquet (pq_full),
# after one unmeasured export of each. (b) Deltas: consumers ice_delta and pq_delta each make a first delta (the whole
# table: their watermarks), then before every round 1% of the users change (an UPDATE of the ids ≡ r mod 100, spread
# over the table), plus 10 deletes and 10 inserts, and each consumer's delta reads exactly that window. Which format
# runs first alternates by round. Times are wall times from the POST to the export's commit, on this machine's clock:
# the job's finishedAt for a file, the table's new metadata file for Iceberg (see ice_export). Heap: the largest heap
# in use before a collection during each series' exports (from the GC log), and the live heap after a full collection
# (jcmd GC.run) before and after all rounds.
ICEBERG_LIBS='^(iceberg-.*|avro-.*|RoaringBitmap-.*|httpclient5-.*|httpcore5-.*)\.jar$'
# ice_export TYPE FORMAT CONSUMER → seconds from the POST to the export's end (see below); the job to $WORK/last.json,
# the greatest heap in use before and retained after a collection during it to $WORK/heap ("before after", bytes), an
# Iceberg export's commit (finishedAt to the new metadata file) to $WORK/commit
ice_export() {
  local t0 job status gc_lines finished end
  gc_lines=$(wc -l < "$WORK/gc.log")
  t0=$(now)
  job=$(curl -s -X POST "localhost:$PORT/exports/$1?format=$2" -H "X-Consumer-ID: $3" | jq -r .jobId)
  while :; do
    sleep 0.25
    status=$(curl -s "localhost:$PORT/exports/jobs/$job")
    case $status in
      *'"status":"completed"'*)
        finished=$(date -d "$(jq -r .finishedAt <<<"$status")" +%s.%N)
        # finishedAt is stamped as the commit transaction starts (ExportCommitter), before an Iceberg attempt
        # writes its manifests and the new metadata file in that transaction: an Iceberg export ends when it
        # wrote its last file, the table's new metadata file (the pointer's swap and the COMMIT follow, a few ms,
        # as the file export's watermark updates and COMMIT follow its finishedAt)
        if [ "$2" = iceberg ]; then
          end=$(find "$WORK/out/iceberg/$3" -name '*.metadata.json' -printf '%T@\n' | sort -g | tail -1)
          end=$(echo "$end $finished" | awk '{print ($1 > $2 ? $1 : $2)}')
          calc "$end - $finished" > "$WORK/commit"
        else
          end=$finished
        fi
        calc "$end - $t0"
        echo "$status" > "$WORK/last.json"
        tail -n +"$((gc_lines + 1))" "$WORK/gc.log" | grep -oE '[0-9]+M->[0-9]+M' | tr -d M | tr '>' ' ' | tr -d - \
          | awk '$1 > b {b = $1} $2 > a {a = $2} END {print b * 1048576, a * 1048576}' > "$WORK/heap"
        if [ "$2" = parquet ]; then
          stat -c %s "$WORK/out/$(jq -r .outputFilename <<<"$status")" > "$WORK/bytes.$1"
          rm -f "$WORK/out/$(jq -r .outputFilename <<<"$status")" "$WORK/out/$(jq -r .manifestFilename <<<"$status")"
        fi
        return ;;
      *'"status":"failed"'*|*'"status":"cancelled"'*) echo "export failed: $status" >&2; exit 1 ;;
    esac
  done
}
# live heap after a full collection, MiB
live_heap() {
  local gc_lines; gc_lines=$(wc -l < "$WORK/gc.log")
  jcmd "$SVC" GC.run >/dev/null
  sleep 0.5
  tail -n +"$((gc_lines + 1))" "$WORK/gc.log" | grep 'Pause Full' | grep -oE '[0-9]+M->[0-9]+M' | tail -1 \
    | sed -E 's/.*->([0-9]+)M/\1/'
}
# ice_round KIND FIRST-FORMAT: one export of each format (FIRST-FORMAT first); KIND full or delta
ice_round() {
  local f s hb ha
  for f in $2 $([ "$2" = parquet ] && echo iceberg || echo parquet); do
    s=$(ice_export "$1" "$f" "$([ "$f" = parquet ] && echo pq || echo ice)_$1")
    echo "$s" >> "$WORK/ice-$1-$f.s"
    read -r hb ha < "$WORK/heap"; echo "$hb" >> "$WORK/ice-$1-$f.heap"; echo "$ha" >> "$WORK/ice-$1-$f.live"
    jq -r '.files[0].rows' "$WORK/last.json" >> "$WORK/ice-$1-$f.rows"
    [ "$f" = iceberg ] && cat "$WORK/commit" >> "$WORK/ice-$1-commit.s"
  done
  calc "$(tail -1 "$WORK/ice-$1-iceberg.s") / $(tail -1 "$WORK/ice-$1-parquet.s")" >> "$WORK/ice-$1.ratios"
}
iceberg_bench() {
  local db=cdc_bench_iceberg r k f warehouse live_before live_after
  echo "== CDC export benchmark, Iceberg table vs parquet file: $ROWS users, $ROUNDS rounds, -Xmx128m, $(nproc) cores, $(date -u +%FT%TZ)"
  echo "   load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
  fresh_db $db
  start_service $db "$ROWS" "-jar $JAR"
  await_seeded >/dev/null
  stop_service
  psql -q -d $db -c "VACUUM ANALYZE users" >/dev/null
  : > "$WORK/gc.log"
  start_service $db 0 "-Xmx128m -Xlog:gc:file=$WORK/gc.log -jar $JAR"
  warehouse="$WORK/out/iceberg"
  rm -f "$WORK"/ice-*
  # warm-up (JIT, class loading, the Iceberg table's creation), not measured
  for f in parquet iceberg; do ice_export full "$f" "$([ "$f" = parquet ] && echo pq || echo ice)_full" >/dev/null; done
  live_before=$(live_heap)
  for r in $(seq 1 "$ROUNDS"); do
    ice_round full "$([ $((r % 2)) = 1 ] && echo parquet || echo iceberg)"
  done
  # the deltas' consumers: a first delta each (the whole table), which sets their watermarks
  for f in parquet iceberg; do ice_export delta "$f" "$([ "$f" = parquet ] && echo pq || echo ice)_delta" >/dev/null; done
  for r in $(seq 1 "$ROUNDS"); do
    psql -q -d $db -v ON_ERROR_STOP=1 \
      -c "UPDATE users SET name = left(name, 240) || ' $r', updated_at = now() WHERE id % 100 = $r" \
      -c "DELETE FROM users WHERE id % $((ROWS / 10)) = $((50 + r))" \
      -c "INSERT INTO users (name, email, created_at, updated_at) SELECT 'bench $r-' || g,
          'bench-$r-' || g || '@example.com', now(), now() FROM generate_series(1, 10) g" >/dev/null
    ice_round delta "$([ $((r % 2)) = 1 ] && echo parquet || echo iceberg)"
  done
  live_after=$(live_heap)
  stop_service
  echo "   load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  psql -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
  # the greatest heap in use before a collection during a series' exports, MiB; "no collection" if none ran
  # and the most it retained after one of them
  heap_of() { paste <(sort -g "$WORK/ice-$1.heap" | tail -1) <(sort -g "$WORK/ice-$1.live" | tail -1) \
    | awk '{if ($1 > 0) printf "%d MiB (%d after)", $1 / 1048576, $2 / 1048576; else printf "no collection"}'; }
  printf '\n%-62s %s\n' "measure (wall time from the POST to the commit, $ROUNDS rounds)" "median [min–max] (aim)"
  printf '%-62s %s (≤ 1.25)\n' "full export of $ROWS users: iceberg / parquet" "$(summary < "$WORK/ice-full.ratios")"
  printf '%-62s %s s / %s s\n' "  seconds, parquet / iceberg" "$(summary < "$WORK/ice-full-parquet.s")" \
    "$(summary < "$WORK/ice-full-iceberg.s")"
  printf '%-62s %s (≤ 2)\n' "delta, 1% updated + 10 deleted + 10 inserted: iceberg / parquet" \
    "$(summary < "$WORK/ice-delta.ratios")"
  printf '%-62s %s s / %s s\n' "  seconds, parquet / iceberg" "$(summary < "$WORK/ice-delta-parquet.s")" \
    "$(summary < "$WORK/ice-delta-iceberg.s")"
  printf '%-62s %s s (full), %s s (delta)\n' "  of which Iceberg's commit: finishedAt to the new metadata file" \
    "$(summary < "$WORK/ice-full-commit.s")" "$(summary < "$WORK/ice-delta-commit.s")"
  printf '%-62s %s / %s (full), %s / %s (delta)\n' "  rows per export, parquet / iceberg" \
    "$(sort -u "$WORK/ice-full-parquet.rows" | paste -sd,)" "$(sort -u "$WORK/ice-full-iceberg.rows" | paste -sd,)" \
    "$(sort -u "$WORK/ice-delta-parquet.rows" | paste -sd,)" "$(sort -u "$WORK/ice-delta-iceberg.rows" | paste -sd,)"
  printf '%-62s %s / %s (full), %s / %s (delta)\n' "max heap in use (after a collection), parquet / iceberg" \
    "$(heap_of full-parquet)" "$(heap_of full-iceberg)" "$(heap_of delta-parquet)" "$(heap_of delta-iceberg)"
  printf '%-62s %s MiB before the rounds, %s MiB after them (%s collections, %s full)\n' \
    "  live heap after a full collection (jcmd GC.run)" "$live_before" "$live_after" "$(grep -c 'Pause' "$WORK/gc.log")" \
    "$(grep -c 'Pause Full' "$WORK/gc.log")"
  printf '%-62s %s bytes as a parquet file, %s as the Iceberg data file; warehouse at the end: %s MiB in %s files\n' \
    "full export's size" "$(cat "$WORK/bytes.full")" \
    "$(find "$warehouse" -path '*ice_full*' -name '*-data.parquet' -printf '%s\n' | sort -n | tail -1)" \
    "$(du -sm "$warehouse" | cut -f1)" "$(find "$warehouse" -type f | wc -l)"
  jar_sizes
}
# The packaged jar's size and the part of it Iceberg brought: the jars iceberg-core pulled into BOOT-INF/lib (none of
# them was in the jar before it) and the destination's own classes. BENCH_JAR_BEFORE (a jar built from the commit
# before, e.g. HEAD~1) adds the measured size of that jar and the list of libraries only the current jar has.
jar_sizes() {
  local size libs classes
  mb() { awk -v b="$1" 'BEGIN {printf "%.2f", b / 1000000}'; }
  size=$(stat -c %s "$JAR")
  libs=$(unzip -l "$JAR" 'BOOT-INF/lib/*' | awk '{n = $4; sub(".*/", "", n)} n ~ /'"$ICEBERG_LIBS"'/ {s += $1; c++; l = l " " n} END {printf "%d %d%s", s, c, l}')
  classes=$(unzip -l "$JAR" 'BOOT-INF/classes/com/cdcexport/export/destination/iceberg/*' | awk '/iceberg\// {s += $1} END {printf "%d", s}')
  printf '%-62s %s bytes (%s MB)\n' "jar size now ($(basename "$JAR"))" "$size" "$(mb "$size")"
  printf '%-62s %s bytes (%s MB) in %s jars:%s\n' "  Iceberg's libraries in BOOT-INF/lib" "${libs%% *}" \
    "$(mb "${libs%% *}")" "$(cut -d' ' -f2 <<<"$libs")" "$(cut -d' ' -f3- <<<"$libs" | sed 's/^/ /')"
  printf '%-62s %s bytes\n' "  the destination's own classes" "$classes"
  printf '%-62s %s bytes (%s MB), computed: now − those libraries − those classes\n' "jar size before Iceberg" \
    "$((size - ${libs%% *} - classes))" "$(mb $((size - ${libs%% *} - classes)))"
  if [ -n "${BENCH_JAR_BEFORE:-}" ]; then
    printf '%-62s %s bytes (%s MB), measured: %s\n' "  BENCH_JAR_BEFORE" "$(stat -c %s "$BENCH_JAR_BEFORE")" \
      "$(mb "$(stat -c %s "$BENCH_JAR_BEFORE")")" "$BENCH_JAR_BEFORE"
    printf '%-62s %s\n' "  libraries only in the jar now" "$(comm -13 \
      <(unzip -Z1 "$BENCH_JAR_BEFORE" 'BOOT-INF/lib/*' | sort) <(unzip -Z1 "$JAR" 'BOOT-INF/lib/*' | sort) \
      | sed 's|BOOT-INF/lib/||' | paste -sd' ')"
  fi
}
if [ "$ICEBERG_ONLY" = yes ]; then
  iceberg_bench
  exit 0
fi

# --- the capture triggers' cost on writers, issue 23 (--triggers; also at the end of a full run) -------------------
# An application's typical table (~300-byte rows: text, numeric, two timestamps, a ~150-byte jsonb, a secondary
# index) and a narrow one (three columns), each captured by the service (running, as in production) beside an
# identical uncaptured twin. Two pgbench clients run single-row updates and 100-row `UPDATE … WHERE id BETWEEN`
# statements for TRIGGER_SECONDS, alternating captured and twin (the order swapping every round), so each ratio
# compares runs moments apart on this shared machine. WAL per changed row is pg_current_wal_insert_lsn() around a
# batch of 5,000 changed rows (one client) among the table's first 5,000, the least of three batches run after a
# first one: that first batch takes the full-page images the next checkpoint cycle's first changes of those pages
# write, which would otherwise swamp the figure (the LSN is the whole server's; other sessions only add to it).
TRIGGER_ROWS=100000
trigger_tps() { # DB SCRIPT → transactions per second
  pgbench -n -c 2 -j 2 -T "${TRIGGER_SECONDS:-8}" -f "$2" "$1" 2>/dev/null | grep -oE 'tps = [0-9.]+' | head -1 \
    | grep -oE '[0-9.]+'
}
trigger_wal() { # DB SCRIPT ROWS-PER-STATEMENT → WAL bytes per changed row
  local lsn try
  pgbench -n -c 1 -t $((5000 / $3)) -f "$2" "$1" >/dev/null 2>&1
  for try in 1 2 3; do
    lsn=$(psql -At -d "$1" -c "SELECT pg_current_wal_insert_lsn()")
    pgbench -n -c 1 -t $((5000 / $3)) -f "$2" "$1" >/dev/null 2>&1
    psql -At -d "$1" -c "SELECT round(pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '$lsn') / 5000.0)"
  done | sort -n | head -1
}
trigger_cost_bench() {
  local tdb=cdc_bench_triggers t w r side first second line
  echo "== capture triggers' cost on writers: $ROUNDS rounds of ${TRIGGER_SECONDS:-8} s, 2 clients, $(nproc) cores, $(date -u +%FT%TZ)"
  fresh_db $tdb
  psql -q -d $tdb -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE TABLE bench_typical (id BIGINT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, amount NUMERIC(12, 2),
  status TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL, attrs JSONB);
CREATE INDEX ON bench_typical (email);
INSERT INTO bench_typical SELECT g, 'customer number ' || g, 'customer' || g || '@example.com', g % 1000 + 0.25,
  'active', now() - g * interval '1 minute', now(), jsonb_build_object('plan', 'premium', 'region', 'eu-west-' || g % 3,
  'tags', jsonb_build_array('a' || g % 7, 'b' || g % 11), 'score', g % 97, 'note', md5(g::text), 'opt_in', g % 2 = 0)
  FROM generate_series(1, $TRIGGER_ROWS) g;
CREATE TABLE bench_typical_twin (LIKE bench_typical INCLUDING ALL);
INSERT INTO bench_typical_twin SELECT * FROM bench_typical;
CREATE TABLE bench_narrow (id BIGINT PRIMARY KEY, v INT NOT NULL, flag BOOLEAN NOT NULL);
INSERT INTO bench_narrow SELECT g, g % 1000, FALSE FROM generate_series(1, $TRIGGER_ROWS) g;
CREATE TABLE bench_narrow_twin (LIKE bench_narrow INCLUDING ALL);
INSERT INTO bench_narrow_twin SELECT * FROM bench_narrow;
SQL
  EXPORT_TABLES=public.bench_typical,public.bench_narrow SERVICE_LOG=triggers.log start_service $tdb 0 "-jar $JAR"
  psql -q -d $tdb -c "VACUUM ANALYZE bench_typical, bench_typical_twin, bench_narrow, bench_narrow_twin" >/dev/null
  for t in typical narrow; do
    local set; set=$([ $t = typical ] && echo "amount = amount + 1, updated_at = now()" || echo "v = v + 1")
    for side in "" _twin; do
      printf '\\set id random(1, %d)\nUPDATE bench_%s%s SET %s WHERE id = :id;\n' $TRIGGER_ROWS $t "$side" "$set" \
        > "$WORK/trig-$t$side-1.sql"
      printf '\\set a random(1, %d)\nUPDATE bench_%s%s SET %s WHERE id BETWEEN :a AND :a + 99;\n' \
        $((TRIGGER_ROWS - 99)) $t "$side" "$set" > "$WORK/trig-$t$side-100.sql"
      printf '\\set id random(1, 5000)\nUPDATE bench_%s%s SET %s WHERE id = :id;\n' $t "$side" "$set" \
        > "$WORK/trig-wal-$t$side-1.sql"
      printf '\\set a random(1, 4901)\nUPDATE bench_%s%s SET %s WHERE id BETWEEN :a AND :a + 99;\n' $t "$side" "$set" \
        > "$WORK/trig-wal-$t$side-100.sql"
    done
  done
  for r in $(seq 1 "$ROUNDS"); do
    for w in typical-1 typical-100 narrow-1 narrow-100; do
      t=${w%-*}
      if [ $((r % 2)) = 1 ]; then first=""; second=_twin; else first=_twin; second=""; fi
      for side in "$first" "$second"; do
        trigger_tps $tdb "$WORK/trig-$t$side-${w#*-}.sql" > "$WORK/trig-$w$side.tps"
      done
      calc "$(cat "$WORK/trig-$w.tps") / $(cat "$WORK/trig-${w}_twin.tps")" >> "$WORK/trig-$w.ratios"
    done
  done
  for w in typical-1 typical-100 narrow-1 narrow-100; do
    for side in "" _twin; do
      trigger_wal $tdb "$WORK/trig-wal-${w%-*}$side-${w#*-}.sql" "${w#*-}" > "$WORK/trig-$w$side.wal"
    done
  done
  stop_service
  psql -q -d postgres -c "DROP DATABASE IF EXISTS $tdb WITH (FORCE)" >/dev/null
  printf '\n%-44s %-26s %s\n' "workload (captured / uncaptured twin)" "throughput ratio" "WAL per changed row"
  for w in typical-1 typical-100 narrow-1 narrow-100; do
    local aim; case $w in typical-1) aim="≥ 0.92" ;; typical-100) aim="≥ 0.60" ;; narrow-100) aim="≥ 0.70" ;; *) aim="" ;; esac
    local cap twin; cap=$(cat "$WORK/trig-$w.wal"); twin=$(cat "$WORK/trig-${w}_twin.wal")
    printf '%-44s %-26s %s B (twin %s B, capture +%s B)\n' \
      "${w%-*} table, $([ "${w#*-}" = 1 ] && echo "single-row updates" || echo "100-row updates") $aim" \
      "$(summary < "$WORK/trig-$w.ratios")" "$cap" "$twin" "$((cap - twin))"
  done
}
if [ "$TRIGGERS_ONLY" = yes ]; then
  trigger_cost_bench
  exit 0
fi

echo "== CDC export benchmark: $ROWS rows, $ROUNDS rounds, $(nproc) cores, $(date -u +%FT%TZ)"

# --- seeding and start-up ------------------------------------------------------------------------------------------
fresh_db cdc_bench_small
start_service cdc_bench_small 100000 "-jar $JAR"
small_startup=$STARTUP
small_seed=$(await_seeded)
stop_service

# The container's form (see Dockerfile): extracted jar, a CDS archive from a training run (the run itself with C1 only).
IMAGE="$WORK/image"
java -Djarmode=tools -jar "$JAR" extract --destination "$IMAGE" >/dev/null
mv "$IMAGE"/cdc-export-*.jar "$IMAGE/app.jar"
fresh_db cdc_bench_train
DATABASE_URL="postgresql://$PGUSER@$PGHOST:$PGPORT/cdc_bench_train" EXPORT_OUTPUT_DIR="$WORK/train-out" SEED_USERS=0 \
  AUTH_MODE=off java -XX:ArchiveClassesAtExit="$IMAGE/app.jsa" -XX:TieredStopAtLevel=1 -Dspring.context.exit=onRefresh \
  -jar "$IMAGE/app.jar" > "$WORK/training.log" 2>&1
IMAGE_ARGS="-XX:SharedArchiveFile=$IMAGE/app.jsa -Xlog:cds=off -jar $IMAGE/app.jar"
: > "$WORK/image.startup"
for r in 1 2 3; do
  fresh_db cdc_bench_small
  start_service cdc_bench_small 100000 "$IMAGE_ARGS"
  echo "$STARTUP" >> "$WORK/image.startup"
  await_seeded >/dev/null
  stop_service
done

fresh_db "$DB"
# An application's own table beside the seed's users: the generic capture path (a change log, no column added).
psql -q -d "$DB" -c "CREATE TABLE bench_orders (id BIGINT PRIMARY KEY, customer TEXT NOT NULL, total NUMERIC(12,2),
  status TEXT NOT NULL)" -c "INSERT INTO bench_orders SELECT g, 'customer ' || g, g % 1000 + 0.5, 'new'
  FROM generate_series(1, $ROWS) g" -c "VACUUM ANALYZE bench_orders" >/dev/null
EXPORT_TABLES=users,public.bench_orders start_service "$DB" "$ROWS" "-jar $JAR"
seed_time=$(await_seeded)
psql -q -d "$DB" -c "VACUUM ANALYZE users" >/dev/null

# --- full export vs psql --------------------------------------------------------------------------------------------
: > "$WORK/full.ratios"; : > "$WORK/full.service"; : > "$WORK/full.psql"
identical=yes
for r in $(seq 1 "$ROUNDS"); do
  p=$(psql_copy "TRUE")
  s=$(export_job full "full-$r")
  cmp -s "$WORK/psql.csv" "$WORK/out/$(cat "$WORK/last")" || identical=no
  rm -f "$WORK/out/$(cat "$WORK/last")"
  calc "$s / $p" >> "$WORK/full.ratios"; echo "$s" >> "$WORK/full.service"; echo "$p" >> "$WORK/full.psql"
done
bytes=$(stat -c %s "$WORK/psql.csv")
live=$(psql -At -d "$DB" -c "SELECT count(*) FROM users WHERE NOT is_deleted")

# --- incremental with 1% and 0.01% changed --------------------------------------------------------------------------
export_job full inc >/dev/null; rm -f "$WORK/out/$(cat "$WORK/last")"
: > "$WORK/inc.ratios"; : > "$WORK/tiny.ms"
for r in $(seq 1 "$ROUNDS"); do
  psql -q -d "$DB" -c "UPDATE users SET name = name WHERE id % 100 = $r" >/dev/null
  p=$(psql_copy "$(window public.users bigint "$(snapshot_of inc)")")
  s=$(export_job incremental inc); rm -f "$WORK/out/$(cat "$WORK/last")"
  calc "$s / $p" >> "$WORK/inc.ratios"
  psql -q -d "$DB" -c "UPDATE users SET name = name WHERE id % 10000 = $r" >/dev/null
  s=$(export_job incremental inc); rm -f "$WORK/out/$(cat "$WORK/last")"
  calc "$s * 1000" >> "$WORK/tiny.ms"
done

# --- incremental on an application's table (generic capture), 1% changed ---------------------------------------------
export_job full ord public.bench_orders >/dev/null; rm -f "$WORK/out/$(cat "$WORK/last")"
: > "$WORK/orders-inc.ratios"; orders_identical=yes
for r in $(seq 1 "$ROUNDS"); do
  psql -q -d "$DB" -c "UPDATE bench_orders SET status = 'paid' WHERE id % 100 = $r" >/dev/null
  p=$(psql_copy_orders "$(window public.bench_orders bigint "$(snapshot_of ord public.bench_orders)")")
  s=$(export_job incremental ord public.bench_orders)
  cmp -s "$WORK/psql-orders.csv" "$WORK/out/$(cat "$WORK/last")" || orders_identical=no
  rm -f "$WORK/out/$(cat "$WORK/last")"
  calc "$s / $p" >> "$WORK/orders-inc.ratios"
done

# --- /health while 4 full exports run -------------------------------------------------------------------------------
read -r health_p99 health_n <<<"$(health_under_load)"
rm -f "$WORK"/out/*.csv
stop_service

# --- the capture triggers' cost on writers -------------------------------------------------------------------------
# Single-row updates from two clients, with every trigger the service installed on the table vs with them disabled
# (ALTER TABLE ... DISABLE TRIGGER USER): the seed's writer on users, a no-op update on users, and an application's
# update of one row of its own table.
printf '\\set id random(1, %d)\nUPDATE users SET name = md5(name), updated_at = now() WHERE id = :id;\n' "$ROWS" \
  > "$WORK/update.sql"
printf '\\set id random(1, %d)\nUPDATE users SET name = name WHERE id = :id;\n' "$ROWS" > "$WORK/noop.sql"
printf '\\set id random(1, %d)\nUPDATE bench_orders SET status = md5(status), total = total + 1 WHERE id = :id;\n' \
  "$ROWS" > "$WORK/orders.sql"
tps() { pgbench -n -c 2 -j 2 -T 5 -f "$1" "$DB" 2>/dev/null | grep -oE 'tps = [0-9.]+' | head -1 | grep -oE '[0-9.]+'; }
: > "$WORK/trigger-update.ratios"; : > "$WORK/trigger-noop.ratios"; : > "$WORK/trigger-orders.ratios"
for r in $(seq 1 3); do
  for workload in update noop orders; do
    table=$([ $workload = orders ] && echo bench_orders || echo users)
    with=$(tps "$WORK/$workload.sql")
    psql -q -d "$DB" -c "ALTER TABLE $table DISABLE TRIGGER USER" >/dev/null
    without=$(tps "$WORK/$workload.sql")
    psql -q -d "$DB" -c "ALTER TABLE $table ENABLE TRIGGER USER" >/dev/null
    calc "$with / $without" >> "$WORK/trigger-$workload.ratios"
  done
done

# --- report ---------------------------------------------------------------------------------------------------------
full_median=$(summary < "$WORK/full.service" | cut -d' ' -f1)
printf '\n%-62s %s\n' "measure" "result (target)"
printf '%-62s %s (≤ 1.10)\n' "full export $ROWS rows: job / psql \\copy" "$(summary < "$WORK/full.ratios")"
printf '%-62s %s rows/s, %s MB/s; output identical to psql: %s\n' "  full export throughput (median)" \
  "$(calc "$live / $full_median" | cut -d. -f1)" "$(calc "$bytes / 1048576 / $full_median" | cut -c1-6)" "$identical"
printf '%-62s %s (≤ 1.10)\n' "incremental, 1% changed: job / psql same query" "$(summary < "$WORK/inc.ratios")"
printf '%-62s %s ms (< 100)\n' "incremental, 0.01% changed: job duration" "$(summary < "$WORK/tiny.ms")"
printf '%-62s %s s / %s s (≤ 2 / ≤ 15, the latter at 1M rows)\n' "seeding 100,000 / $ROWS users" "$small_seed" "$seed_time"
printf '%-62s %s s (≤ 8)\n' "start-up to healthy, 100k seed: container form (CDS, C1)" "$(summary < "$WORK/image.startup")"
printf '%-62s %s s\n' "  the same with java -jar on the packed jar" "$small_startup"
printf '%-62s %s ms over %s requests (< 100)\n' "/health p99 while 4 full exports run" "$health_p99" "$health_n"
printf '%-62s %s; output identical to psql: %s\n' "incremental on an application table, 1% changed: job / psql" \
  "$(summary < "$WORK/orders-inc.ratios")" "$orders_identical"
printf '%-62s %s (≥ 0.85)\n' "users update throughput with / without capture" "$(summary < "$WORK/trigger-update.ratios")"
printf '%-62s %s\n' "  no-op update of users" "$(summary < "$WORK/trigger-noop.ratios")"
printf '%-62s %s (≥ 0.85)\n' "application table update throughput with / without capture" \
  "$(summary < "$WORK/trigger-orders.ratios")"

if [ "$BIG_ROWS" -gt 0 ]; then
  fresh_db cdc_bench_big
  psql -q -d cdc_bench_big -c "SELECT 1" >/dev/null
  # The same seeder data as the 1M run, so the ratio compares like with like.
  start_service cdc_bench_big "$BIG_ROWS" "-Xmx128m -jar $JAR"
  big_seed=$(await_seeded)
  psql -q -d cdc_bench_big -c "VACUUM ANALYZE users" >/dev/null
  max_heap=0
  job=$(curl -s -X POST "localhost:$PORT/exports/full" -H "X-Consumer-ID: big" | jq -r .jobId)
  while [ "$(curl -s "localhost:$PORT/exports/jobs/$job" | jq -r .status)" = running ] \
     || [ "$(curl -s "localhost:$PORT/exports/jobs/$job" | jq -r .status)" = queued ]; do
    heap=$(curl -s "localhost:$PORT/actuator/prometheus" | awk '/^jvm_memory_used_bytes/ && /area="heap"/ {s += $NF} END {printf "%d", s}')
    [ "$heap" -gt "$max_heap" ] && max_heap=$heap
    sleep 0.2
  done
  big=$(curl -s "localhost:$PORT/exports/jobs/$job")
  rm -f "$WORK"/out/*.csv
  # psql's own 10M / 1M ratio: what the database and the disk do at ten times the size, without the service.
  DB=cdc_bench_big; big_psql=$(psql_copy "TRUE"); DB=cdc_bench
  printf '%-62s %s (completed: %s; ≤ 10.5)\n' "full export $BIG_ROWS / $ROWS rows: duration ratio" \
    "$(calc "$(jq -r .durationSeconds <<<"$big") / $full_median" | cut -c1-6)" "$(jq -r .status <<<"$big")"
  printf '%-62s %s\n' "  psql \\copy $BIG_ROWS / $ROWS rows, for reference" \
    "$(calc "$big_psql / $(summary < "$WORK/full.psql" | cut -d' ' -f1)" | cut -c1-6)"
  printf '%-62s %s MiB\n' "  max heap used during it with -Xmx128m" "$((max_heap / 1048576))"
  printf '%-62s %s s\n' "  seeding $BIG_ROWS users (with -Xmx128m)" "$big_seed"
  stop_service
  psql -q -d postgres -c "DROP DATABASE cdc_bench_big WITH (FORCE)" >/dev/null
fi
ROUNDS=3 trigger_cost_bench
psql -q -d postgres -c "DROP DATABASE IF EXISTS cdc_bench_small WITH (FORCE)" \
  -c "DROP DATABASE IF EXISTS cdc_bench_train WITH (FORCE)" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
