#!/usr/bin/env bash
# Benchmarks of bedrock-hook against the process-spawn floor and against ccusage, as
# described in BENCHMARKS.md. Every figure is a median over repeated whole-process runs,
# and every ratio is taken against the floor measured in the same hyperfine invocation.
#
#   bench/run.sh [--size 1G] [--quick] [--only GROUPS]
#
#   --size SIZE    corpus size for the import and ccusage comparisons (default 1G)
#   --quick        fewer rounds and runs (for trying the script, not for figures)
#   --only GROUPS  comma-separated subset of: statusline,corpus,growing,hook,hook-busy,import,report,memory
#
# BENCH_BIN=/path/to/bedrock-hook measures another build of bedrock-hook (e.g. a branch
# built elsewhere) with this tree's floor, generator and data.
#
# Installs what it needs itself (hyperfine with --input, GNU time, jq, ccusage pinned) into
# bench/.cache; writes raw hyperfine JSON and results.md into bench/out/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

SIZE=1G
QUICK=0
ONLY="statusline,corpus,growing,hook,hook-busy,import,report,memory"
while [ $# -gt 0 ]; do
  case "$1" in
    --size) SIZE="$2"; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --only) ONLY="$2"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

CCUSAGE_VERSION=20.0.24
HYPERFINE_VERSION=1.19.0
CACHE="${BENCH_CACHE:-$ROOT/bench/.cache}"
WORK="$CACHE/work"
OUT="$ROOT/bench/out"
RAW="$OUT/raw"
# Rounds of hyperfine per group, runs per command per round (fast commands).
# Short rounds keep the floor and the command it is compared with close in time.
if [ "$QUICK" = 1 ]; then ROUNDS=2; RUNS=40; GROW_RUNS=100; SLOW_RUNS=2; else ROUNDS=10; RUNS=30; GROW_RUNS=300; SLOW_RUNS=5; fi
WARMUP=10

step() { printf '\n== %s\n' "$*" >&2; }
want() { case ",$ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
apt_install() {
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# ---------------------------------------------------------------- tools
step "tools"
mkdir -p "$CACHE/tools" "$WORK" "$RAW"
HYPERFINE=""
for candidate in "$(command -v hyperfine || true)" "$CACHE/tools/bin/hyperfine"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" --help 2>/dev/null | grep -q -- '--input'; then
    HYPERFINE="$candidate"; break
  fi
done
if [ -z "$HYPERFINE" ]; then
  command -v hyperfine >/dev/null 2>&1 || apt_install hyperfine || true
  if command -v hyperfine >/dev/null 2>&1 && hyperfine --help | grep -q -- '--input'; then
    HYPERFINE="$(command -v hyperfine)"
  else
    # The distribution's hyperfine predates --input (1.17): without it stdin would have to
    # go through a shell, whose start-up would be timed with every command.
    echo "hyperfine without --input: building hyperfine $HYPERFINE_VERSION from crates.io" >&2
    cargo install --quiet --locked "hyperfine@$HYPERFINE_VERSION" --root "$CACHE/tools"
    HYPERFINE="$CACHE/tools/bin/hyperfine"
  fi
fi
[ -x /usr/bin/time ] || apt_install time
command -v jq >/dev/null 2>&1 || apt_install jq
CCUSAGE_DIR="$CACHE/ccusage-$CCUSAGE_VERSION"
if [ ! -f "$CCUSAGE_DIR/node_modules/ccusage/package.json" ]; then
  npm install --prefix "$CCUSAGE_DIR" --no-audit --no-fund --loglevel=error "ccusage@$CCUSAGE_VERSION" </dev/null
fi
CCUSAGE="$(ls "$CCUSAGE_DIR"/node_modules/@ccusage/ccusage-*/bin/ccusage 2>/dev/null | head -1 || true)"
if [ -n "$CCUSAGE" ]; then
  chmod +x "$CCUSAGE"   # npm unpacks it without the executable bit
  CCUSAGE_KIND="native binary"
else
  CCUSAGE="$CCUSAGE_DIR/node_modules/.bin/ccusage"
  CCUSAGE_KIND="node launcher (no native binary for this platform)"
fi
echo "hyperfine: $HYPERFINE ($("$HYPERFINE" --version))" >&2
echo "ccusage $CCUSAGE_VERSION: $CCUSAGE_KIND" >&2

# ---------------------------------------------------------------- build
step "build (release)"
cargo build --release --quiet --bin bedrock-hook --example floor --example file_floor \
  --example gen_corpus --example interleave
BIN="${BENCH_BIN:-$ROOT/target/release/bedrock-hook}"
FLOOR="$ROOT/target/release/examples/floor"
FILE_FLOOR="$ROOT/target/release/examples/file_floor"
GEN="$ROOT/target/release/examples/gen_corpus"
INTERLEAVE="$ROOT/target/release/examples/interleave"
has_command() { "$BIN" "$1" --help >/dev/null 2>&1; }

# Isolation: no config search, no real home, ccusage's cache in our tmp.
export BEDROCK_HOOK_CONFIG="$WORK/config.toml"
printf 'tpd = 500000000\ntpm = 2000000\n' >"$BEDROCK_HOOK_CONFIG"
export HOME="$WORK/home" TMPDIR="$WORK/tmp"
mkdir -p "$HOME" "$TMPDIR"
unset BEDROCK_HOOK_DATA_DIR CLAUDE_CONFIG_DIR NO_COLOR
NOW="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

# ---------------------------------------------------------------- data
step "data: ledgers of one day and one year, corpus of $SIZE, 50 MB transcript"
rm -rf "$WORK/ledger-day" "$WORK/ledger-year" "$WORK/corpus" "$WORK/corpus-data" "$WORK/hook" "$WORK/hook-data"
"$GEN" ledger --data-dir "$WORK/ledger-day" --days 1 --now "$NOW" --seed 1
"$GEN" ledger --data-dir "$WORK/ledger-year" --days 365 --now "$NOW" --seed 1
CORPUS="$WORK/corpus"
LATEST="$("$GEN" transcripts --out "$CORPUS" --size "$SIZE" --days 30 --end "$NOW" --seed 1)"
CORPUS_BYTES="$(du -sb "$CORPUS" | cut -f1)"
CORPUS_FILES="$(find "$CORPUS/projects" -name '*.jsonl' | wc -l)"
"$GEN" input statusline --transcript "$LATEST" >"$WORK/statusline.json"
"$GEN" input PreToolUse --transcript "$LATEST" >"$WORK/pre-latest.json"
HOOK_T="$("$GEN" transcripts --out "$WORK/hook" --size 50M --sessions 1 --days 1 --end "$NOW" --seed 2)"
"$GEN" input PostToolUse --transcript "$HOOK_T" >"$WORK/post-hook.json"

# The status line's transcript is already read into every data dir it runs against, as
# the hooks of a live session would have done.
for dir in ledger-day ledger-year; do
  BEDROCK_HOOK_DATA_DIR="$WORK/$dir" "$BIN" hook <"$WORK/pre-latest.json"
done
# The corpus as bedrock-hook's ledger: `import` if this build has it, else hook events.
CORPUS_DATA="$WORK/corpus-data"
if has_command import; then
  BEDROCK_HOOK_DATA_DIR="$CORPUS_DATA" "$BIN" import "$CORPUS" >/dev/null
  CORPUS_DATA_HOW="bedrock-hook import"
else
  for t in $(find "$CORPUS/projects" -mindepth 2 -maxdepth 2 -name '*.jsonl'); do
    "$GEN" input PreToolUse --transcript "$t" >"$WORK/pre-one.json"
    passes=$(( $(stat -c %s "$t") / (64 << 20) + 1 ))
    for _ in $(seq "$passes"); do
      BEDROCK_HOOK_DATA_DIR="$CORPUS_DATA" "$BIN" hook <"$WORK/pre-one.json"
    done
  done
  CORPUS_DATA_HOW="PreToolUse hook events over every transcript (import not available)"
fi
BEDROCK_HOOK_DATA_DIR="$CORPUS_DATA" "$BIN" hook <"$WORK/pre-latest.json"
BEDROCK_HOOK_DATA_DIR="$WORK/hook-data" "$BIN" hook <"$WORK/post-hook.json"
BEDROCK_HOOK_DATA_DIR="$WORK/hook-data" "$BIN" hook <"$WORK/post-hook.json"

# ---------------------------------------------------------------- measuring
# measure GROUP ROUNDS RUNS WARMUP hyperfine-args...: raw JSON per round in $RAW.
measure() {
  local group="$1" rounds="$2" runs="$3" warmup="$4"
  shift 4
  rm -f "$RAW/$group".r*.json
  for round in $(seq "$rounds"); do
    "$HYPERFINE" -N --style basic --warmup "$warmup" --runs "$runs" \
      --export-json "$RAW/$group.r$round.json" "$@" >"$RAW/$group.r$round.log" 2>&1 ||
      { cat "$RAW/$group.r$round.log" >&2; return 1; }
  done
}

# summarize GROUP: one TSV line per command: group, command, median ms, p99 ms, mean CPU
# ms (user+sys), ratio of medians to the floor (median over rounds), runs.
summarize() {
  local group="$1"
  jq -rs --arg group "$group" '
    def median: sort | if length % 2 == 1 then .[length/2|floor] else (.[length/2-1] + .[length/2]) / 2 end;
    def p99: sort | .[((length * 0.99) | ceil) - 1];
    (map(.results) | transpose) as $by_command
    | ($by_command[0][0].command == "floor") as $has_floor
    | [.[] | .results | (map(select(.command == "floor"))[0].median) as $f
       | map({(.command): (if $f then .median / $f else null end)}) | add] as $ratios
    | $by_command[] | . as $rounds
    | ($rounds[0].command) as $name
    | [$rounds[].times[]] as $times
    | [$group, $name,
       ($times | median * 1000 * 1000 | round / 1000),
       ($times | p99 * 1000 * 1000 | round / 1000),
       ([$rounds[] | (.user + .system)] | median * 1000 * 1000 | round / 1000),
       (if $has_floor then ([$ratios[][$name]] | median * 100 | round / 100) else "" end),
       ($times | length)]
    | @tsv' "$RAW/$group".r*.json
}

# peak_kb STDIN_FILE CMD...: largest max RSS (KB) over 5 runs.
peak_kb() {
  local input="$1" best=0 kb
  shift
  for _ in 1 2 3 4 5; do
    /usr/bin/time -f '%M' -o "$WORK/time.out" "$@" <"$input" >/dev/null 2>/dev/null || true
    kb="$(tail -1 "$WORK/time.out")"
    [ "$kb" -gt "$best" ] && best="$kb"
  done
  echo "$best"
}

RESULTS="$OUT/results.tsv"
MEMORY="$OUT/memory.tsv"
: >"$RESULTS"
: >"$MEMORY"
: >"$OUT/checks.tsv"
SL="$BIN statusline"

if want statusline; then
  for size in day year; do
    step "status line vs floor, ledger of one $size"
    BEDROCK_HOOK_DATA_DIR="$WORK/ledger-$size" measure "statusline-$size" "$ROUNDS" "$RUNS" "$WARMUP" \
      --input "$WORK/statusline.json" -n floor "$FLOOR" -n "bedrock-hook statusline" "$SL"
    summarize "statusline-$size" | tee -a "$RESULTS"
  done
fi

if want corpus; then
  step "status line on the $SIZE corpus: bedrock-hook vs ccusage statusline --offline"
  BEDROCK_HOOK_DATA_DIR="$CORPUS_DATA" CLAUDE_CONFIG_DIR="$CORPUS" \
    measure statusline-corpus "$ROUNDS" "$RUNS" "$WARMUP" --input "$WORK/statusline.json" \
    -n floor "$FLOOR" -n "bedrock-hook statusline" "$SL" \
    -n "ccusage statusline --offline" "$CCUSAGE statusline --offline"
  summarize statusline-corpus | tee -a "$RESULTS"
  # ccusage caches its line for a second; this is what it costs when the cache is cold.
  CLAUDE_CONFIG_DIR="$CORPUS" measure statusline-corpus-nocache 1 "$SLOW_RUNS" 1 \
    --input "$WORK/statusline.json" -n floor "$FLOOR" \
    -n "ccusage statusline --offline --no-cache" "$CCUSAGE statusline --offline --no-cache"
  summarize statusline-corpus-nocache | tee -a "$RESULTS"
fi

if want growing; then
  step "status line while the transcript grows (a writer appends a request every 200 ms)"
  "$GEN" append --transcript "$LATEST" --requests 1 --every-ms 200 --for-secs 3600 \
    --max-result 256K &
  WRITER=$!
  trap 'kill "$WRITER" 2>/dev/null || true' EXIT
  BEDROCK_HOOK_DATA_DIR="$CORPUS_DATA" \
    measure statusline-growing 1 "$GROW_RUNS" "$WARMUP" --input "$WORK/statusline.json" \
    -n floor "$FLOOR" -n "bedrock-hook statusline" "$SL"
  # ccusage re-reads the corpus whenever the transcript changed: fewer runs.
  CLAUDE_CONFIG_DIR="$CORPUS" \
    measure statusline-growing-ccusage 1 "$(( GROW_RUNS / 3 ))" 3 --input "$WORK/statusline.json" \
    -n floor "$FLOOR" -n "ccusage statusline --offline" "$CCUSAGE statusline --offline"
  kill "$WRITER" 2>/dev/null || true
  wait "$WRITER" 2>/dev/null || true
  trap - EXIT
  summarize statusline-growing | tee -a "$RESULTS"
  summarize statusline-growing-ccusage | tee -a "$RESULTS"
fi

if want hook; then
  step "hook: PostToolUse after one new request (32 KB tool result) on a 50 MB transcript"
  before="$(cat "$WORK"/hook-data/ledger/*.jsonl | wc -l)"
  APPEND="$GEN append --transcript $HOOK_T --requests 1 --result-bytes 32K"
  BEDROCK_HOOK_DATA_DIR="$WORK/hook-data" measure hook "$ROUNDS" "$RUNS" "$WARMUP" \
    --input "$WORK/post-hook.json" --prepare "$APPEND" \
    -n floor "$FLOOR" -n "bedrock-hook hook" "$BIN hook"
  summarize hook | tee -a "$RESULTS"
  after="$(cat "$WORK"/hook-data/ledger/*.jsonl | wc -l)"
  expected=$(( ROUNDS * 2 * (RUNS + WARMUP) ))
  # The same, interleaved: floor and hook in turn, each after its own new request, as
  # Claude Code runs a hook between its own work rather than many times in a row. Beside
  # them, the event's file operations alone (`examples/file_floor.rs`: the same reads,
  # appends and swaps on the same file system, nothing parsed), and with the cursor kept
  # in the live state's file: the share of the hook's ratio its files take.
  rm -rf "$WORK/file-floor" "$WORK/file-floor-one-swap"
  BEDROCK_HOOK_DATA_DIR="$WORK/hook-data" "$INTERLEAVE" --tsv hook-interleaved \
    --input "$WORK/post-hook.json" --prepare "$APPEND" --runs "$(( ROUNDS * RUNS ))" \
    -n floor "$FLOOR" \
    -n "file operations only" "$FILE_FLOOR $WORK/file-floor $HOOK_T" \
    -n "file operations only, one swap" "$FILE_FLOOR --one-swap $WORK/file-floor-one-swap $HOOK_T" \
    -n "bedrock-hook hook" "$BIN hook" | tee -a "$RESULTS"
  echo "hook runs recorded $((after - before)) new requests; $expected were appended" >&2
  echo "hook-check	$((after - before)) recorded of $expected appended" >>"$OUT/checks.tsv"
fi

if want hook-busy; then
  # The same event on a busy day: the data dir already holds 3,000 more of today's
  # requests (a 50 KB dedupe index), which every append checks.
  step "hook on a busy day: the same event after 3,000 more requests today"
  rm -rf "$WORK/hook-busy" "$WORK/hook-busy-data"
  BUSY_T="$("$GEN" transcripts --out "$WORK/hook-busy" --size 50M --sessions 1 --days 1 --end "$NOW" --seed 2)"
  "$GEN" input PostToolUse --transcript "$BUSY_T" >"$WORK/post-busy.json"
  # All 3,000 after today's (UTC) midnight, which is the ledger's day by default: spread
  # over the hours since (they would take up to 17 hours at their natural pace), and just
  # after midnight wait a little so that there is a span to spread them over.
  since_midnight=$(( $(date -u +%s) % 86400 ))
  if [ "$since_midnight" -lt 300 ]; then sleep $(( 300 - since_midnight )); since_midnight=300; fi
  "$GEN" append --transcript "$BUSY_T" --requests 3000 --result-bytes 1K \
    --within-secs $(( since_midnight - 60 ))
  for _ in 1 2 3 4 5 6 7 8; do
    BEDROCK_HOOK_DATA_DIR="$WORK/hook-busy-data" "$BIN" hook <"$WORK/post-busy.json" >/dev/null
  done
  today="$WORK/hook-busy-data/ledger/$(date -u +%Y-%m-%d).jsonl"
  before="$(wc -l <"$today")"
  BEDROCK_HOOK_DATA_DIR="$WORK/hook-busy-data" measure hook-busy "$ROUNDS" "$RUNS" "$WARMUP" \
    --input "$WORK/post-busy.json" \
    --prepare "$GEN append --transcript $BUSY_T --requests 1 --result-bytes 32K" \
    -n floor "$FLOOR" -n "bedrock-hook hook (busy day)" "$BIN hook"
  summarize hook-busy | tee -a "$RESULTS"
  echo "hook-busy-records	$before of today's requests in the ledger before the runs, $(wc -l <"$today") after" >>"$OUT/checks.tsv"
fi

if want import; then
  step "import of the $SIZE corpus vs ccusage daily --offline"
  if has_command import; then
    CLAUDE_CONFIG_DIR="$CORPUS" BEDROCK_HOOK_DATA_DIR="$WORK/import-data" \
      measure import 1 "$SLOW_RUNS" 1 \
      --prepare "rm -rf $WORK/import-data" -n "bedrock-hook import" "$BIN import $CORPUS" \
      --prepare "true" -n "ccusage daily --offline" "$CCUSAGE daily --offline"
  else
    echo "SKIPPED bedrock-hook import: this build has no 'import' subcommand" >&2
    echo "import	bedrock-hook import	skipped: no import subcommand in this build" >>"$RESULTS"
    CLAUDE_CONFIG_DIR="$CORPUS" measure import 1 "$SLOW_RUNS" 1 \
      -n "ccusage daily --offline" "$CCUSAGE daily --offline"
  fi
  summarize import | tee -a "$RESULTS"
fi

REPORT_DAY="$(date -u -d "$NOW - 1 day" +%F)"
if want report; then
  step "one-day report ($REPORT_DAY) out of the one-year ledger"
  if has_command report; then
    BEDROCK_HOOK_DATA_DIR="$WORK/ledger-year" measure report "$ROUNDS" "$RUNS" "$WARMUP" \
      -n floor "$FLOOR" -n "bedrock-hook report --date $REPORT_DAY" "$BIN report --date $REPORT_DAY"
    summarize report | tee -a "$RESULTS"
  else
    echo "SKIPPED bedrock-hook report: this build has no 'report' subcommand" >&2
    echo "report	bedrock-hook report --date	skipped: no report subcommand in this build" >>"$RESULTS"
  fi
fi

if want memory; then
  step "peak memory (max RSS over 5 runs, /usr/bin/time)"
  mem() { printf '%s\t%s\n' "$1" "$2" | tee -a "$MEMORY"; }
  mem "floor" "$(peak_kb "$WORK/statusline.json" "$FLOOR")"
  mem "bedrock-hook statusline (ledger of one day)" "$(BEDROCK_HOOK_DATA_DIR="$WORK/ledger-day" peak_kb "$WORK/statusline.json" $SL)"
  mem "bedrock-hook statusline (ledger of one year)" "$(BEDROCK_HOOK_DATA_DIR="$WORK/ledger-year" peak_kb "$WORK/statusline.json" $SL)"
  mem "bedrock-hook statusline ($SIZE corpus)" "$(BEDROCK_HOOK_DATA_DIR="$CORPUS_DATA" peak_kb "$WORK/statusline.json" $SL)"
  mem "ccusage statusline --offline ($SIZE corpus)" "$(CLAUDE_CONFIG_DIR="$CORPUS" peak_kb "$WORK/statusline.json" "$CCUSAGE" statusline --offline)"
  mem "ccusage statusline --offline --no-cache ($SIZE corpus)" "$(CLAUDE_CONFIG_DIR="$CORPUS" peak_kb "$WORK/statusline.json" "$CCUSAGE" statusline --offline --no-cache)"
  hook_peak=0
  for _ in 1 2 3 4 5; do
    "$GEN" append --transcript "$HOOK_T" --requests 1 --result-bytes 32K
    kb="$(BEDROCK_HOOK_DATA_DIR="$WORK/hook-data" peak_kb "$WORK/post-hook.json" "$BIN" hook)"
    [ "$kb" -gt "$hook_peak" ] && hook_peak="$kb"
  done
  mem "bedrock-hook hook (50 MB transcript, one new request)" "$hook_peak"
  if has_command import; then
    rm -rf "$WORK/import-data"
    BEDROCK_HOOK_DATA_DIR="$WORK/import-data" /usr/bin/time -f '%M' -o "$WORK/time.out" \
      "$BIN" import "$CORPUS" >/dev/null 2>/dev/null || true
    mem "bedrock-hook import ($SIZE corpus)" "$(tail -1 "$WORK/time.out")"
  fi
  mem "ccusage daily --offline ($SIZE corpus)" "$(CLAUDE_CONFIG_DIR="$CORPUS" peak_kb /dev/null "$CCUSAGE" daily --offline)"
  if has_command report; then
    mem "bedrock-hook report --date (ledger of one year)" "$(BEDROCK_HOOK_DATA_DIR="$WORK/ledger-year" peak_kb /dev/null "$BIN" report --date "$REPORT_DAY")"
  fi
fi

# ---------------------------------------------------------------- report
step "results"
{
  echo "# Benchmark run $NOW"
  echo
  echo "- machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  if [ -n "${BENCH_BIN:-}" ]; then
    echo "- bedrock-hook: $BENCH_BIN ($("$BIN" --version)), floor and generator from $(git rev-parse --short HEAD)"
  else
    echo "- bedrock-hook $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo ' (modified)')"
  fi
  echo "- ccusage $CCUSAGE_VERSION ($CCUSAGE_KIND), $("$HYPERFINE" --version)"
  echo "- corpus: $SIZE requested, $CORPUS_BYTES bytes in $CORPUS_FILES transcripts (seed 1, 30 days); bedrock-hook data for it: $CORPUS_DATA_HOW"
  echo "- rounds x runs per command: $ROUNDS x $RUNS (growing: 1 x $GROW_RUNS, ccusage $(( GROW_RUNS / 3 )); slow commands: $SLOW_RUNS runs)"
  echo
  echo "| group | command | median ms | p99 ms | CPU ms (user+sys) | ratio to floor | runs |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
  awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7}' "$RESULTS"
  echo
  echo "| peak memory | max RSS KB |"
  echo "| --- | ---: |"
  awk -F'\t' '{printf "| %s | %s |\n", $1, $2}' "$MEMORY"
  if [ -s "$OUT/checks.tsv" ]; then
    echo
    awk -F'\t' '{printf "- %s: %s\n", $1, $2}' "$OUT/checks.tsv"
  fi
} >"$OUT/results.md"
cat "$OUT/results.md"
