#!/usr/bin/env bash
# Attacks on the data dir (issue 12) against the release binary, at full size, each
# followed by a check of the live state (state.json, what the status line and the guards
# read) against the ledger. Results are described in BENCHMARKS.md ("Reliability").
#
#   bench/attacks.sh [--only LIST]
#
#   --only LIST  comma-separated subset of: kills,swap,every,full,cut,clock,fifo,links,idx,view
#
# Needs strace (kills at a rename), unshare with user namespaces (disk full: a small
# tmpfs of our own; planted temp names: a pid namespace, so the hook's pid is known) and
# jq. An attack whose tool is missing is reported as skipped. Writes its data under
# bench/.cache/attacks and the results table to bench/out/attacks.md; exits non-zero if
# any attack failed its check.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
SELF="$ROOT/bench/attacks.sh"

ONLY="kills,swap,every,full,cut,clock,fifo,links,idx,view"
INNER=""
while [ $# -gt 0 ]; do
  case "$1" in
    --only) ONLY="$2"; shift 2 ;;
    # Re-entered inside a private user + mount (+ pid) namespace: see attack_full/links.
    --inner) INNER="$2"; shift 2; break ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

CACHE="${BENCH_CACHE:-$ROOT/bench/.cache}"
WORK="$CACHE/attacks"
OUT="$ROOT/bench/out"
BIN="${BENCH_BIN:-$ROOT/target/release/bedrock-hook}"
GEN="$ROOT/target/release/examples/gen_corpus"

step() { printf '\n== %s\n' "$*" >&2; }
want() { case ",$ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

# ---------------------------------------------------------------- helpers

# Nothing from the caller's environment changes what the binary records.
for var in $(env | sed -n 's/^\(BEDROCK_HOOK_[A-Z_]*\)=.*/\1/p'); do unset "$var"; done
unset CLAUDE_CONFIG_DIR CLAUDE_CODE_MAX_OUTPUT_TOKENS ANTHROPIC_MODEL CLAUDE_CODE_SUBAGENT_MODEL
REAL_HOME="$HOME"
export NO_COLOR=1 HOME="$WORK/home"

# run DATA CMD...: the binary with DATA as its data dir and no config file.
run() {
  local data="$1"
  shift
  BEDROCK_HOOK_DATA_DIR="$data" BEDROCK_HOOK_CONFIG="$data.no-config.toml" "$BIN" "$@"
}

# session N: a session id.
session() { printf '5e55%04d-0000-4000-a000-000000000000' "$1"; }

# transcript DIR N: the transcript path of session N under a Claude config dir.
transcript() { printf '%s/projects/-home-dev-proj/%s.jsonl' "$1" "$(session "$2")"; }

# hook_json EVENT TRANSCRIPT: the payload Claude Code sends a hook.
hook_json() {
  local session
  session="$(basename "$2" .jsonl)"
  printf '{"session_id":"%s","transcript_path":"%s","cwd":"/home/dev/proj","permission_mode":"default","hook_event_name":"%s","tool_name":"Bash","tool_input":{"command":"echo hi"},"tool_use_id":"toolu_x"}\n' \
    "$session" "$2" "$1"
}

status_json() {
  printf '{"session_id":"%s","transcript_path":"%s","cwd":"/home/dev/proj","model":{"id":"us.anthropic.claude-opus-5-5","display_name":"Opus 5.5"},"version":"2.1.328"}\n' \
    "$(basename "$1" .jsonl)" "$1"
}

# requests TRANSCRIPT FIRST COUNT TS: append COUNT requests (ids req_<session>_<n>) as
# Claude Code 2.1.x writes them (tests/support/lines.rs): the api-request entry, the
# assistant entry with its usage, the tool result. One write per line.
requests() {
  local t="$1" first="$2" count="$3" ts="$4" s n id
  s="$(basename "$t" .jsonl)"
  mkdir -p "$(dirname "$t")"
  for ((n = first; n < first + count; n++)); do
    id="req_${s:0:8}_$n"
    {
      printf '{"type":"api-request","sessionId":"%s","id":"ref-%s","timestamp":"%s","version":"2.1.328","querySource":"sdk","params":{"model":"us.anthropic.claude-opus-5-5","max_tokens":128000,"thinking":{"type":"adaptive","display":"omitted"}}}\n' "$s" "$id" "$ts"
      printf '{"parentUuid":null,"isSidechain":false,"message":{"id":"msg_%s","type":"message","role":"assistant","model":"us.anthropic.claude-opus-5-5","content":[{"type":"tool_use","id":"toolu_%s","name":"Bash","input":{"command":"true"}}],"stop_reason":"tool_use","usage":{"input_tokens":100,"cache_creation_input_tokens":10,"cache_read_input_tokens":5000,"output_tokens":%d}},"requestId":"%s","requestRef":"ref-%s","type":"assistant","uuid":"u-%s","timestamp":"%s","cwd":"/home/dev/proj","sessionId":"%s","version":"2.1.328"}\n' "$id" "$id" $((11 + n)) "$id" "$id" "$id" "$ts" "$s"
      printf '{"parentUuid":null,"isSidechain":false,"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_%s","type":"tool_result","content":"ok","is_error":false}]},"toolUseResult":{"stdout":"ok","stderr":"","interrupted":false},"timestamp":"%s","sessionId":"%s"}\n' "$id" "$ts" "$s"
    } >>"$t"
  done
}

now_ts() { date -u +%Y-%m-%dT%H:%M:%S.%3NZ; }

# live DATA: "requests settled" of state.json's today.
live() {
  jq -r '[.today[]] | "\(map(.requests) | add // 0) \(map(.settled) | add // 0)"' "$1/state.json" 2>/dev/null ||
    echo "? ?"
}

# ledger DATA DAY: "requests settled" of the ledger's records of DAY (UTC), as a rebuild
# counts them (every kind but throttles; torn lines skipped).
ledger() {
  cat "$1"/ledger/*.jsonl 2>/dev/null | jq -n -R -r --arg day "$2" '
    [inputs | fromjson? | select(type == "object" and .kind != null and .id != null)
     | select((.ts // "") | startswith($day)) | select(.kind != "throttle")]
    | "\(map(select(.kind == "request")) | length) \(map(.settled // 0) | add // 0)"'
}

# recorded_ids DATA: ids of request records, one per record (duplicates kept).
recorded_ids() {
  cat "$1"/ledger/*.jsonl 2>/dev/null |
    jq -R -r 'fromjson? | select(type == "object" and .kind == "request") | .id' | sort
}

# written_ids CLAUDE_DIR: request ids the transcripts hold.
written_ids() {
  find "$1/projects" -name '*.jsonl' -print0 | xargs -0 cat |
    jq -R -r 'fromjson? | select(type == "object" and .type == "assistant") | .requestId // empty' |
    sort -u
}

# converge DATA: "short settled_short day" of the live state against the ledger, today.
converge() {
  local day l s
  day="$(jq -r .day "$1/state.json" 2>/dev/null || date -u +%F)"
  l="$(ledger "$1" "$day")"
  s="$(live "$1")"
  echo "$(( ${l% *} - ${s% *} )) $(( ${l#* } - ${s#* } )) ${l% *} ${l#* }"
}

# lost_and_twice DATA CLAUDE_DIR: "missing twice written" of the ledger against the
# transcripts.
lost_and_twice() {
  local written recorded
  written="$(written_ids "$2")"
  recorded="$(recorded_ids "$1")"
  echo "$(comm -23 <(echo "$written") <(echo "$recorded" | sort -u) | grep -c . || true) $(echo "$recorded" | uniq -d | grep -c . || true) $(echo "$written" | grep -c . || true)"
}

# quiet_event DATA CLAUDE_DIR: the next event, from a new session with nothing to read
# (SessionStart: it puts no request in flight, so the status line shows only what the
# ledger holds).
quiet_event() {
  local t
  t="$(transcript "$2" 9999)"
  mkdir -p "$(dirname "$t")"
  : >>"$t"
  hook_json SessionStart "$t" | run "$1" hook
}

RESULTS="$OUT/attacks.tsv"
FAILED=0
# result ATTACK HOW RESULT OK|FAIL|SKIPPED
result() {
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" | tee -a "$RESULTS" >&2
  [ "$4" != FAIL ] || FAILED=1
}
verdict() { if [ "$1" = 1 ]; then echo OK; else echo FAIL; fi; }

# Processes of ours that still use DATA (detached catch-up readers started by Stop).
writers_running() {
  local n=0 p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/exe" 2>/dev/null)" = "$(readlink -f "$BIN")" ] || continue
    tr '\0' '\n' <"$p/environ" 2>/dev/null | grep -qx "BEDROCK_HOOK_DATA_DIR=$1" && n=$((n + 1))
  done
  echo "$n"
}
wait_writers() {
  local tries=0
  while [ "$(writers_running "$1")" -gt 0 ] && [ $tries -lt 600 ]; do
    sleep 0.1
    tries=$((tries + 1))
  done
}

# ---------------------------------------------------------------- inside namespaces

# Disk full: DATA on a 1 MiB tmpfs left with FREE_PAGES pages free while hooks run over
# transcripts that grew, then space freed and one more event. The data dir is copied out
# for the checks.
inner_full() {
  local dir="$1" free_pages="$2" rounds="$3" no_swap="$4"
  local mnt="$dir/mnt" data="$dir/mnt/data" claude="$dir/claude" s t r
  mount -t tmpfs -o size=1m tmpfs "$mnt"
  mkdir -m 700 "$data"
  for s in 1 2 3 4; do
    hook_json PostToolUse "$(transcript "$claude" "$s")" | run "$data" hook 2>/dev/null
  done
  # Without its swap files a save must allocate: the ledger can take the last pages and
  # leave the state save to fail.
  [ "$no_swap" = 0 ] || rm -f "$data/state.swap" "$data/cursors/swap"
  dd if=/dev/zero of="$mnt/spacer" bs=4096 count="$free_pages" status=none
  dd if=/dev/zero of="$mnt/fill" bs=4096 status=none 2>/dev/null || true
  rm "$mnt/spacer"
  : >"$dir/hook.err"
  for ((r = 0; r < rounds; r++)); do
    for s in 1 2 3 4; do
      t="$(transcript "$claude" "$s")"
      requests "$t" $((1000 + r * 10)) 3 "$(now_ts)"
      hook_json PostToolUse "$t" | run "$data" hook 2>>"$dir/hook.err" || true
    done
  done
  status_json "$(transcript "$claude" 1)" | run "$data" statusline >"$dir/status-full.out" 2>/dev/null || true
  cp -a "$data" "$dir/while-full"
  rm "$mnt/fill"
  quiet_event "$data" "$claude" 2>>"$dir/hook.err"
  cp -a "$data" "$dir/freed"
  for s in 1 2 3 4; do
    hook_json PostToolUse "$(transcript "$claude" "$s")" | run "$data" hook 2>>"$dir/hook.err"
  done
  cp -a "$data" "$dir/after"
}

# Planted temp names: the hook runs as pid 2 of a new pid namespace, so the names it
# would create (state.tmp.<pid>, cursors/<key>.tmp.<pid>) are known in advance.
inner_links() {
  local data="$1" input="$2" err="$3"
  "$BIN" hook <"$input" 2>"$err" || true
}

if [ -n "$INNER" ]; then
  case "$INNER" in
    full) inner_full "$@" ;;
    links) BEDROCK_HOOK_DATA_DIR="$1" BEDROCK_HOOK_CONFIG="$1.no-config.toml" inner_links "$@" ;;
  esac
  exit 0
fi

# ---------------------------------------------------------------- build

step "build (release)"
HOME="$REAL_HOME" cargo build --release --quiet --bin bedrock-hook --example gen_corpus
command -v jq >/dev/null || { echo "jq is needed" >&2; exit 1; }
rm -rf "$WORK"
mkdir -p "$WORK" "$HOME" "$OUT"
: >"$RESULTS"
HAVE_NS=0
unshare --user --map-root-user --mount --pid --fork true 2>/dev/null && HAVE_NS=1
HAVE_STRACE=0
command -v strace >/dev/null && HAVE_STRACE=1

# ---------------------------------------------------------------- (a) random kills

attack_kills() {
  local round
  for round in 1 2 3; do
    step "(a) SIGKILL at random instants of concurrent hooks over growing transcripts, round $round"
    kills_round "$round"
  done
}

kills_round() {
  local dir="$WORK/kills-$1" data claude sessions=8 per=20 hooks=100 parallel=16
  data="$dir/data"
  claude="$dir/claude"
  mkdir -p "$dir"
  local s
  # Clients: each session grows by `per` requests (tool results up to 64 KiB), one every
  # 100-300 ms.
  for ((s = 1; s <= sessions; s++)); do
    mkdir -p "$claude/projects/-home-dev-proj"
    "$GEN" append --transcript "$(transcript "$claude" "$s")" --requests 1 --result-bytes 2K --seed "$s"
    (
      for ((r = 1; r < per; r++)); do
        "$GEN" append --transcript "$(transcript "$claude" "$s")" --requests 1 --max-result 64K \
          --seed $((s * 1000 + r))
        sleep "0.$((100 + RANDOM % 200))"
      done
    ) &
  done
  # Hooks: `parallel` at a time, a third killed after a random 0-8 ms (most hooks take 3-20 ms). Each hook runs
  # under a wrapper that is its parent: the pid it kills cannot have been reused.
  mkfifo "$dir/never"
  local i n=0 killed=0 delay events=(PreToolUse PostToolUse PostToolUse UserPromptSubmit PreToolUse PostToolUse Stop)
  for ((i = 0; i < hooks; i++)); do
    while [ "$(jobs -rp | wc -l)" -ge $((parallel + sessions)) ]; do wait -n || true; done
    s=$((RANDOM % sessions + 1))
    hook_json "${events[RANDOM % ${#events[@]}]}" "$(transcript "$claude" "$s")" >"$dir/in.$i"
    delay=""
    [ $((i % 3)) = 0 ] && delay="$(printf "0.%04d" $((RANDOM % 80)))"
    (
      begin="$EPOCHREALTIME"
      BEDROCK_HOOK_DATA_DIR="$data" BEDROCK_HOOK_CONFIG="$data.no-config.toml" \
        "$BIN" hook <"$dir/in.$i" 2>>"$dir/hook.err" &
      pid=$!
      if [ -n "$delay" ]; then
        # A pause without starting a process: read from a FIFO nobody writes.
        read -r -t "$delay" <>"$dir/never" || true
        kill -KILL "$pid" 2>/dev/null || true
      fi
      rc=0
      wait "$pid" || rc=$?
      end="$EPOCHREALTIME"
      echo "$rc $(( (${end/./} - ${begin/./}) / 1000 ))" >"$dir/rc.$i"
    ) 2>/dev/null &
    sleep "0.0$((RANDOM % 3))$((RANDOM % 10))"
  done
  wait
  local started median
  started="$(ls "$dir"/rc.* | wc -l)"
  killed="$(cut -d' ' -f1 "$dir"/rc.* | grep -cx 137 || true)"
  median="$(grep -hv '^137 ' "$dir"/rc.* | cut -d' ' -f2 | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
  wait_writers "$data"
  local torn
  torn="$(for f in "$data"/ledger/*.jsonl; do [ -z "$(tail -c1 "$f")" ] || echo "$f"; done | grep -c . || true)"
  cp "$data/state.json" "$dir/state-after-kills.json"
  local before
  before="$(converge "$data")"
  quiet_event "$data" "$claude"
  read -r short settled_short total _ <<<"$(converge "$data")"
  result "a. random SIGKILL, round $1" \
    "$started hooks ($parallel at a time, median $median ms each) over $sessions sessions x $per requests growing; $killed of the $(( (hooks + 2) / 3 )) signalled killed by SIGKILL (sent at a random 0-8 ms); $torn day files left with a torn tail; then one event from another session" \
    "before that event: $(set -- $before; echo "$1 of $3") requests short; after: $short of $total requests short, $settled_short settled tokens off" \
    "$(verdict $((short == 0 && settled_short == 0)))"
  for ((s = 1; s <= sessions; s++)); do
    hook_json PostToolUse "$(transcript "$claude" "$s")" | run "$data" hook
  done
  read -r missing twice written <<<"$(lost_and_twice "$data" "$claude")"
  read -r short settled_short total _ <<<"$(converge "$data")"
  result "a. random SIGKILL, round $1 (ledger)" "then one PostToolUse per session" \
    "ledger: $missing of $written requests missing, $twice twice; live state $short of $total short" \
    "$(verdict $((missing == 0 && twice == 0 && short == 0 && settled_short == 0)))"
}

# ---------------------------------------------------------------- (b) kill at a rename

attack_swap() {
  step "(b) SIGKILL at each rename of a hook (strace -e inject)"
  if [ "$HAVE_STRACE" = 0 ]; then
    result "b. kill at the swap" "strace -f -e inject=rename,renameat,renameat2:signal=KILL:when=N" "strace not installed" SKIPPED
    return
  fi
  local when dir data claude t syscall rc
  for when in 1 2 3; do
    dir="$WORK/swap-$when"
    data="$dir/data"
    claude="$dir/claude"
    t="$(transcript "$claude" 1)"
    requests "$t" 0 3 "$(now_ts)"
    hook_json PostToolUse "$t" | run "$data" hook
    requests "$t" 3 50 "$(now_ts)"
    hook_json PostToolUse "$t" >"$dir/in.json"
    rc=0
    (BEDROCK_HOOK_DATA_DIR="$data" BEDROCK_HOOK_CONFIG="$data.no-config.toml" \
      strace -f -qq -o "$dir/strace.log" -e trace=rename,renameat,renameat2 \
      -e inject=rename,renameat,renameat2:signal=KILL:when="$when" \
      "$BIN" hook <"$dir/in.json"; exit $?) 2>/dev/null || rc=$?
    syscall="$(grep -E 'rename' "$dir/strace.log" | tail -1 | sed -E "s|$data/||g; s/^[0-9]+ +//; s/, RENAME_EXCHANGE.*/, RENAME_EXCHANGE)/; s/AT_FDCWD, //g; s/ <unfinished \.\.\.>//")"
    if [ "$rc" = 0 ]; then syscall="(no rename $when: the hook finished)"; fi
    local stale
    stale="$(live "$data")"
    quiet_event "$data" "$claude"
    read -r short settled_short total _ <<<"$(converge "$data")"
    result "b. kill at rename $when" \
      "strace -f -e inject=rename,renameat,renameat2:signal=KILL:when=$when, hook reading 50 new requests; killed at: $syscall" \
      "state.json left at ${stale% *} requests; after the next event $short of $total requests short, $settled_short settled tokens off" \
      "$(verdict $((short == 0 && settled_short == 0 && total == 53)))"
  done
}

# ---------------------------------------------------------------- (b2) every syscall

# A writer (the hook, the status line reading a grown transcript, import) killed at each
# of its system calls in turn: strace counts the calls of each name separately
# (inject=NAME:when=N), so every (name, N) of a traced run is one kill point.
attack_every() {
  step "(b2) SIGKILL at every system call of each writer"
  if [ "$HAVE_STRACE" = 0 ]; then
    result "b2. kill at every syscall" "strace -f -e inject=NAME:signal=KILL:when=N" "strace not installed" SKIPPED
    return
  fi
  local writer dir base claude t1 t2 points p name nth d runs bad lost twice_n torn killed rc missing twice written short settled_short total
  for writer in hook statusline import catch-up; do
    dir="$WORK/every-$writer"
    base="$dir/base"
    claude="$dir/claude"
    t1="$(transcript "$claude" 1)"
    t2="$(transcript "$claude" 2)"
    requests "$t1" 0 10 "$(now_ts)"
    requests "$t2" 0 10 "$(now_ts)"
    hook_json PostToolUse "$t1" | run "$base" hook
    hook_json PostToolUse "$t2" | run "$base" hook
    requests "$t1" 10 10 "$(now_ts)"
    requests "$t2" 10 10 "$(now_ts)"
    case "$writer" in
      hook) hook_json PostToolUse "$t1" >"$dir/in" ;;
      statusline) status_json "$t1" >"$dir/in" ;;
      *) : >"$dir/in" ;;
    esac
    local args=("$writer")
    [ "$writer" = import ] && args=(import --quiet "$claude")
    # The reader a Stop hook starts detached: two passes, 1 s and 3 s after it starts.
    [ "$writer" = catch-up ] && args=(catch-up "--transcript=$t1" "--session=$(basename "$t1" .jsonl)" \
      "--turn-end=$(date -u +%Y-%m-%dT%H:%M:%SZ)")
    # Every call of a clean run, as (name, N).
    cp -a "$base" "$dir/probe"
    (BEDROCK_HOOK_DATA_DIR="$dir/probe" BEDROCK_HOOK_CONFIG="$dir/probe.no-config.toml" \
      strace -f -qq -o "$dir/calls.log" "$BIN" "${args[@]}" <"$dir/in" >/dev/null 2>&1; exit $?) || true
    sed -nE 's/^[0-9]+ +([a-z_0-9]+)\(.*/\1/p' "$dir/calls.log" | grep -v '^exit' |
      awk '{n[$1]++; print $1 " " n[$1]}' >"$dir/points"
    points="$(wc -l <"$dir/points")"
    # import runs worker threads, catch-up waits 3 s: a sample of their calls; the hook
    # and the status line: every call.
    if [ "$writer" = import ] || [ "$writer" = catch-up ]; then
      awk -v every=$(( points / ($([ "$writer" = import ] && echo 30 || echo 16)) + 1 )) 'NR % every == 0' "$dir/points" >"$dir/points.run"
    else
      cp "$dir/points" "$dir/points.run"
    fi
    runs=0 bad=0 torn=0 lost=0 twice_n=0 killed=0
    while read -r name nth; do
      d="$dir/run"
      rm -rf "$d"
      cp -a "$base" "$d"
      rc=0
      (BEDROCK_HOOK_DATA_DIR="$d" BEDROCK_HOOK_CONFIG="$d.no-config.toml" \
        strace -f -qq -o /dev/null -e trace="$name" -e inject="$name":signal=KILL:when="$nth" \
        "$BIN" "${args[@]}" <"$dir/in" >/dev/null 2>&1; exit $?) || rc=$?
      runs=$((runs + 1))
      [ "$rc" = 137 ] && killed=$((killed + 1))
      for f in "$d"/ledger/*.jsonl; do [ -z "$(tail -c1 "$f")" ] || torn=$((torn + 1)); done
      quiet_event "$d" "$claude"
      read -r short settled_short total _ <<<"$(converge "$d")"
      if [ "$short" != 0 ] || [ "$settled_short" != 0 ]; then
        bad=$((bad + 1))
        echo "$name $nth: $short of $total short, $settled_short tokens" >>"$dir/bad"
      fi
      hook_json PostToolUse "$t1" | run "$d" hook
      hook_json PostToolUse "$t2" | run "$d" hook
      read -r missing twice written <<<"$(lost_and_twice "$d" "$claude")"
      lost=$((lost + missing))
      twice_n=$((twice_n + twice))
    done <"$dir/points.run"
    result "b2. kill at every syscall: $writer" \
      "$([ "$runs" != "$points" ] && echo "$runs of its $points system calls (evenly spaced)" || echo "each of its $points system calls"), one run each: strace -f -e trace=NAME -e inject=NAME:signal=KILL:when=N, over 2 sessions of 10 requests read and 10 new; then the next event, then one hook per session" \
      "$killed of $runs runs killed; $bad short after the next event; $torn left a torn tail; then $lost requests missing and $twice_n twice in all runs together (of $written each)" \
      "$(verdict $((bad == 0 && lost == 0 && twice_n == 0)))"
  done
}

# ---------------------------------------------------------------- (c) disk full

attack_full() {
  step "(c) disk full at several fill levels (1 MiB tmpfs in a user + mount namespace)"
  if [ "$HAVE_NS" = 0 ]; then
    result "c. disk full" "unshare --user --map-root-user --mount" "user namespaces unavailable" SKIPPED
    return
  fi
  local free dir claude s errs short settled_short total missing twice written mid no_swap level
  for level in 0 1 2 3 4 6 8 10 12 16 24 32 64 1s 2s 3s 4s 6s 10s; do
    free="${level%s}"
    no_swap=0
    [ "$free" = "$level" ] || no_swap=1
    dir="$WORK/full-$level"
    claude="$dir/claude"
    mkdir -p "$dir/mnt"
    for s in 1 2 3 4; do requests "$(transcript "$claude" "$s")" 0 20 "$(now_ts)"; done
    unshare --user --map-root-user --mount bash "$SELF" --inner full "$dir" "$free" 8 "$no_swap"
    errs="$(sort "$dir/hook.err" | uniq -c | sort -rn | head -2 | sed -E "s|$dir/||g; s/^ *([0-9]+) bedrock-hook: /\\1x \"/; s/\$/\"/" | paste -sd ';' -)"
    mid="$(converge "$dir/while-full")"
    read -r short settled_short total _ <<<"$(converge "$dir/freed")"
    read -r missing twice written <<<"$(lost_and_twice "$dir/after" "$claude")"
    result "c. disk full, $free pages free$([ "$no_swap" = 1 ] && echo ", swap files removed first")" \
      "32 hooks over 4 sessions growing by 96 requests; then space freed and one event" \
      "while full: $(set -- $mid; echo "$1 of $3") short; after the event: $short of $total short, $settled_short tokens off; after one hook per session: $missing of $written missing, $twice twice; stderr: ${errs:-none}" \
      "$(verdict $((short == 0 && settled_short == 0 && missing == 0 && twice == 0)))"
  done
}

# ---------------------------------------------------------------- (d) day file cut

attack_cut() {
  step "(d) today's day file truncated or deleted, then every transcript read again"
  local how dir data claude s f size short settled_short total missing twice written
  for how in "truncated to half (mid-line)" "truncated to 0" "deleted with its .idx" "deleted, .idx kept" "deleted with state.json"; do
    dir="$WORK/cut-${how%% *}-$RANDOM"
    data="$dir/data"
    claude="$dir/claude"
    for s in 1 2 3 4 5 6; do
      requests "$(transcript "$claude" "$s")" 0 40 "$(now_ts)"
      hook_json PostToolUse "$(transcript "$claude" "$s")" | run "$data" hook
    done
    f="$(ls "$data"/ledger/*.jsonl | tail -1)"
    size="$(stat -c %s "$f")"
    case "$how" in
      "truncated to half"*) truncate -s $((size / 2 + 7)) "$f" ;;
      "truncated to 0") truncate -s 0 "$f" ;;
      "deleted with its .idx") rm "$f" "${f%.jsonl}.idx" ;;
      "deleted, .idx kept") rm "$f" ;;
      "deleted with state.json") rm "$f" "${f%.jsonl}.idx" "$data/state.json" ;;
    esac
    rm -rf "$data/cursors"
    for s in 1 2 3 4 5 6; do
      hook_json PostToolUse "$(transcript "$claude" "$s")" | run "$data" hook
    done
    read -r short settled_short total _ <<<"$(converge "$data")"
    read -r missing twice written <<<"$(lost_and_twice "$data" "$claude")"
    result "d. day file $how" \
      "6 sessions x 40 requests recorded; the file cut, cursors/ deleted, one hook per session" \
      "ledger $missing of $written missing, $twice twice; live state $short of $total requests off ($((-short)) over), $settled_short tokens off" \
      "$(verdict $((short == 0 && settled_short == 0 && missing == 0 && twice == 0)))"
  done
}

# ---------------------------------------------------------------- (e) clock back

attack_clock() {
  step "(e) clock a day ahead, a request left in flight, clock stepped back"
  local dir="$WORK/clock" data claude t other day inflight line short settled_short total
  data="$dir/data"
  claude="$dir/claude"
  day="$(date -u +%F)"
  t="$(transcript "$claude" 1)"
  other="$(transcript "$claude" 2)"
  mkdir -p "$(dirname "$other")"
  : >"$other"
  at() { BEDROCK_HOOK_NOW="$1" run "$data" "${@:2}"; }
  requests "$t" 0 1 "${day}T09:00:00.000Z"
  hook_json PostToolUse "$t" | at "${day}T09:01:00Z" hook
  hook_json UserPromptSubmit "$t" | at "$(date -u -d "$day + 1 day" +%F)T09:00:00Z" hook
  requests "$t" 1 1 "${day}T09:05:00.000Z"
  hook_json PostToolUse "$other" | at "${day}T09:06:00Z" hook
  hook_json PostToolUse "$t" | at "${day}T09:07:00Z" hook
  inflight="$(jq '.inflight | length' "$data/state.json")"
  read -r short settled_short total _ <<<"$(converge "$data")"
  hook_json SessionStart "$other" | at "${day}T09:30:00Z" hook
  local after
  after="$(jq '.inflight | length' "$data/state.json")"
  line="$(status_json "$other" | at "${day}T09:31:00Z" statusline)"
  result "e. clock stepped back" \
    "BEDROCK_HOOK_NOW: a request at 09:00, a prompt sent at 09:00 the next day (never answered), back to 09:05-09:07 with one more request, then an event at 09:30" \
    "after the step back: $short of $total requests short, $inflight in flight; at 09:30: $after in flight; status line: \"$line\"" \
    "$(verdict $((short == 0 && settled_short == 0 && total == 2 && after == 0)))"
}

# ---------------------------------------------------------------- (f) FIFOs, /dev/zero

# timed LIMIT_S INPUT CMD...: "rc ms maxrss_kb" (rc 124: still running after LIMIT_S).
timed() {
  local limit="$1" input="$2" begin end rc=0
  shift 2
  begin="$(date +%s%N)"
  /usr/bin/time -f '%M' -o "$WORK/time.out" timeout -s KILL "$limit" "$@" <"$input" >"$WORK/timed.out" 2>"$WORK/timed.err" || rc=$?
  end="$(date +%s%N)"
  echo "$rc $(((end - begin) / 1000000)) $(tail -1 "$WORK/time.out" 2>/dev/null | grep -E '^[0-9]+$' || echo '?')"
}

attack_fifo() {
  step "(f) a FIFO or /dev/zero at state.json, the config file, settings.json, the transcript"
  local target kind dir data claude t plant line hook_r status_r err ok
  for target in state.json config settings.json transcript; do
    for kind in fifo zero; do
      dir="$WORK/fifo-$target-$kind"
      data="$dir/data"
      claude="$dir/claude"
      t="$(transcript "$claude" 1)"
      requests "$t" 0 2 "$(now_ts)"
      mkdir -p -m 700 "$data"
      case "$target" in
        state.json) plant="$data/state.json" ;;
        config) plant="$data.no-config.toml" ;;
        settings.json) plant="$dir/claude-home/settings.json"; mkdir -p "$dir/claude-home" ;;
        transcript) rm "$t"; plant="$t" ;;
      esac
      if [ "$kind" = fifo ]; then mkfifo -m 600 "$plant"; else ln -s /dev/zero "$plant"; fi
      hook_json SessionStart "$t" >"$dir/start.json"
      hook_json PostToolUse "$t" >"$dir/hook.json"
      status_json "$t" >"$dir/status.json"
      export BEDROCK_HOOK_DATA_DIR="$data" BEDROCK_HOOK_CONFIG="$data.no-config.toml" CLAUDE_CONFIG_DIR="$dir/claude-home"
      timed 10 "$dir/start.json" "$BIN" hook >/dev/null
      hook_r="$(timed 10 "$dir/hook.json" "$BIN" hook)"
      err="$(head -c 300 "$WORK/timed.err" | head -1 | sed "s|$dir/||g")"
      status_r="$(timed 10 "$dir/status.json" "$BIN" statusline)"
      line="$(head -1 "$WORK/timed.out")"
      unset BEDROCK_HOOK_DATA_DIR BEDROCK_HOOK_CONFIG CLAUDE_CONFIG_DIR
      set -- $hook_r $status_r
      ok=$(($1 == 0 && $4 == 0 && $2 < 2000 && $5 < 2000))
      result "f. $kind at $target" \
        "$([ "$kind" = fifo ] && echo "mkfifo" || echo "ln -s /dev/zero"), SessionStart + PostToolUse hook, status line (timeout 10 s each)" \
        "hook exit $1 in $2 ms, $3 KB max RSS, stderr: ${err:-none}; status line exit $4 in $5 ms, $6 KB: \"$line\"" \
        "$(verdict $ok)"
    done
  done
}

# ---------------------------------------------------------------- (g) planted links

attack_links() {
  step "(g) links planted at the data dir's files, pointing outside it"
  local target dir data claude t day victim err before after short settled_short total key ok
  day="$(date -u +%F)"
  # The cursor file name of a transcript: learnt from a scratch run on the same path.
  for target in "ledger/$day.jsonl" "ledger/$day.idx" state.json state.swap "state.swap (hard link)" \
    "cursors/KEY.json" cursors/swap "state.tmp.PID + state.swap" "cursors/KEY.tmp.PID + cursors/swap" ledger.lock; do
    dir="$WORK/links-$RANDOM"
    data="$dir/data"
    claude="$dir/claude"
    t="$(transcript "$claude" 1)"
    requests "$t" 0 3 "$(now_ts)"
    hook_json PostToolUse "$t" >"$dir/in.json"
    run "$data" hook <"$dir/in.json"
    # Give every swap file its first use.
    requests "$t" 3 1 "$(now_ts)"
    run "$data" hook <"$dir/in.json"
    key="$(basename "$(ls "$data"/cursors/*.json | head -1)" .json)"
    victim="$dir/victim"
    printf 'precious\n' >"$victim"
    before="$(stat -c '%s %Y %h' "$victim")$(md5sum <"$victim")"
    requests "$t" 4 3 "$(now_ts)"
    local names=() name
    case "$target" in
      "state.swap (hard link)") rm -f "$data/state.swap"; ln "$victim" "$data/state.swap" ;;
      "state.tmp.PID + state.swap") names=(state.swap); for p in $(seq 2 12); do names+=("state.tmp.$p"); done ;;
      "cursors/KEY.tmp.PID + cursors/swap") names=(cursors/swap); for p in $(seq 2 12); do names+=("cursors/$key.tmp.$p"); done ;;
      *) names=("${target/KEY/$key}") ;;
    esac
    # The real file (if any) is kept aside and put back once the links are gone.
    for name in "${names[@]}"; do
      if [ -e "$data/$name" ]; then mv "$data/$name" "$data/$name.aside"; fi
      ln -s "$victim" "$data/$name"
    done
    if [ "$HAVE_NS" = 1 ]; then
      unshare --user --map-root-user --pid --fork bash "$SELF" --inner links "$data" "$dir/in.json" "$dir/hook.err"
    else
      run "$data" hook <"$dir/in.json" 2>"$dir/hook.err" || true
    fi
    err="$(head -1 "$dir/hook.err" | sed "s|$dir/||g")"
    status_json "$t" | run "$data" statusline >"$dir/status.out" 2>/dev/null || true
    after="$(stat -c '%s %Y %h' "$victim")$(md5sum <"$victim")"
    # Remove what was planted; the next event must count everything.
    find "$data" -type l -delete
    [ "$target" = "state.swap (hard link)" ] && rm -f "$data/state.swap"
    for name in "${names[@]}"; do
      if [ -e "$data/$name.aside" ]; then mv "$data/$name.aside" "$data/$name"; fi
    done
    run "$data" hook <"$dir/in.json" 2>/dev/null || true
    read -r short settled_short total _ <<<"$(converge "$data")"
    ok=$(([ "$before" = "$after" ] && [ "$short" = 0 ] && [ "$total" = 7 ]) && echo 1 || echo 0)
    result "g. link at ${target/KEY/<key>}" \
      "ln -s (ln for the hard link) to a file outside the data dir, then a hook with 3 new requests (4 recorded before)$([ "$HAVE_NS" = 1 ] && [[ "$target" == *PID* ]] && echo " as pid 2 of a new pid namespace (names for pids 2-12 planted)"), the status line; links removed (a real file put back), one more hook" \
      "target $([ "$before" = "$after" ] && echo untouched || echo CHANGED); hook stderr: ${err:-none}; status line: \"$(head -1 "$dir/status.out")\"; after removal $short of $total requests short" \
      "$(verdict "$ok")"
  done
}

# ---------------------------------------------------------------- (h) damaged index

attack_idx() {
  step "(h) a damaged .idx, then every transcript read again"
  local how dir data claude s idx size short settled_short total missing twice written
  for how in "body overwritten, last entry intact" "body zeroed, last entry intact" "cut mid-entry" "random bytes, same length" "entries duplicated"; do
    dir="$WORK/idx-${how%% *}-$RANDOM"
    data="$dir/data"
    claude="$dir/claude"
    for s in 1 2 3 4 5 6 7; do
      requests "$(transcript "$claude" "$s")" 0 1 "$(now_ts)"
      hook_json PostToolUse "$(transcript "$claude" "$s")" | run "$data" hook
    done
    idx="$(ls "$data"/ledger/*.idx | tail -1)"
    size="$(stat -c %s "$idx")"
    case "$how" in
      "body overwritten"*) printf 'XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX' | dd of="$idx" bs=1 seek=8 conv=notrunc status=none ;;
      "body zeroed"*) dd if=/dev/zero of="$idx" bs=1 count=$((size - 32)) conv=notrunc status=none ;;
      "cut mid-entry") truncate -s $((size / 2 + 3)) "$idx" ;;
      "random bytes"*) head -c "$size" /dev/urandom >"$idx" ;;
      "entries duplicated") head -c $((size / 2)) "$idx" >>"$idx" ;;
    esac
    rm -rf "$data/cursors"
    for s in 1 2 3 4 5 6 7; do
      hook_json PostToolUse "$(transcript "$claude" "$s")" | run "$data" hook
    done
    read -r short settled_short total _ <<<"$(converge "$data")"
    read -r missing twice written <<<"$(lost_and_twice "$data" "$claude")"
    result "h. .idx $how" \
      "7 requests recorded ($size-byte index); the index damaged, cursors/ deleted, one hook per session" \
      "ledger: $((written - missing)) of $written recorded, $twice twice; live state $short of $total short" \
      "$(verdict $((short == 0 && settled_short == 0 && missing == 0 && twice == 0)))"
  done
}

# ---------------------------------------------------------------- status line on a tail

attack_view() {
  step "status line reading the tail a killed writer left"
  if [ "$HAVE_STRACE" = 0 ]; then
    result "status line on a killed writer's tail" "strace" "strace not installed" SKIPPED
    return
  fi
  local n dir data claude t other before view after stale ok tail_bytes
  for n in 5 400; do
    dir="$WORK/view-$n"
    data="$dir/data"
    claude="$dir/claude"
    t="$(transcript "$claude" 1)"
    other="$(transcript "$claude" 2)"
    mkdir -p "$(dirname "$other")"
    : >"$other"
    requests "$t" 0 3 "$(now_ts)"
    hook_json PostToolUse "$t" | run "$data" hook
    before="$(status_json "$other" | run "$data" statusline)"
    local size0
    size0="$(cat "$data"/ledger/*.jsonl | wc -c)"
    requests "$t" 3 "$n" "$(now_ts)"
    # Killed at its first rename: the records are in the ledger, no cursor, no state saved.
    hook_json PostToolUse "$t" >"$dir/in.json"
    (BEDROCK_HOOK_DATA_DIR="$data" BEDROCK_HOOK_CONFIG="$data.no-config.toml" \
      strace -f -qq -o /dev/null -e trace=rename,renameat,renameat2 \
      -e inject=rename,renameat,renameat2:signal=KILL:when=1 "$BIN" hook <"$dir/in.json"; exit $?) 2>/dev/null || true
    tail_bytes=$(( $(cat "$data"/ledger/*.jsonl | wc -c) - size0 ))
    stale="$(live "$data")"
    view="$(status_json "$other" | run "$data" statusline)"
    quiet_event "$data" "$claude"
    after="$(status_json "$other" | run "$data" statusline)"
    if [ "$n" = 5 ]; then ok=$([ "$view" = "$after" ] && [ "$view" != "$before" ] && echo 1 || echo 0)
    else ok=$([ "$view" = "$before" ] && [ "$after" != "$before" ] && echo 1 || echo 0); fi
    result "status line on a killed writer's tail ($n requests, $tail_bytes bytes)" \
      "hook killed at its first rename (strace inject) after appending $n requests; the status line of a session with nothing new to read; then one event" \
      "state.json at ${stale% *} requests; status line before the kill \"$before\", after it \"$view\", after the next event \"$after\"" \
      "$(verdict "$ok")"
  done
}

want kills && attack_kills
want swap && attack_swap
want every && attack_every
want full && attack_full
want cut && attack_cut
want clock && attack_clock
want fifo && attack_fifo
want links && attack_links
want idx && attack_idx
want view && attack_view

# ---------------------------------------------------------------- table
{
  echo "bedrock-hook $(git -C "$ROOT" rev-parse --short HEAD) ($("$BIN" --version 2>/dev/null | head -1)), $(date -u +%F' '%H:%M) UTC"
  echo
  echo "| attack | how | result | check |"
  echo "| --- | --- | --- | --- |"
  sed 's/|/\\|/g; s/\t/ | /g; s/^/| /; s/$/ |/' "$RESULTS"
} >"$OUT/attacks.md"
cat "$OUT/attacks.md"
exit "$FAILED"
