#!/usr/bin/env bash
# Writes link/hot-functions.txt: the functions that hook events and a status line run
# execute, which build.rs asks the linker to place together (see BENCHMARKS.md).
#
#   bench/hot-functions.sh
#
# Run it after a toolchain or dependency update, or a change that moves the hot paths;
# a stale list only loses the benefit (names it has that a build has not are skipped).
# It builds the two release builds that matter, `./install.sh`'s and `bench/run.sh`'s
# (their dependency features differ, and with them the names), each with a link map;
# runs SessionStart, UserPromptSubmit, PreToolUse, PostToolUse, Stop and a status line
# under valgrind's callgrind; and maps every instruction executed in the binary to the
# function the link map places there. Needs valgrind and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
WORK="$ROOT/bench/.cache/hot-functions"
LIST="$ROOT/link/hot-functions.txt"
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "needs python3" >&2; exit 2; }
RUSTC_VERSION="$(rustc --version)"   # before HOME moves (rustup reads it)
rm -rf "$WORK"/data-* "$WORK/transcripts" "$WORK/runs"
mkdir -p "$WORK/runs" "$ROOT/link"

step() { printf '\n== %s\n' "$*" >&2; }

step "builds with link maps"
# The build script reruns (and the binary relinks) when BEDROCK_HOOK_LINK_MAP changes.
BEDROCK_HOOK_LINK_MAP="$WORK/install.map" CARGO_TARGET_DIR="$WORK/target-install" \
  cargo build --release --locked --quiet
BEDROCK_HOOK_LINK_MAP="$WORK/bench.map" CARGO_TARGET_DIR="$WORK/target-bench" \
  cargo build --release --quiet --bin bedrock-hook --example floor --example gen_corpus --example interleave
GEN="$WORK/target-bench/release/examples/gen_corpus"

step "events under callgrind"
export BEDROCK_HOOK_CONFIG="$WORK/config.toml" HOME="$WORK/home" TMPDIR="$WORK/tmp"
printf 'tpd = 500000000\ntpm = 2000000\n' >"$BEDROCK_HOOK_CONFIG"
mkdir -p "$HOME" "$TMPDIR"
unset CLAUDE_CONFIG_DIR NO_COLOR
NOW="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
T="$("$GEN" transcripts --out "$WORK/transcripts" --size 5M --sessions 1 --days 1 --end "$NOW" --seed 2)"
for kind in install bench; do
  BIN="$WORK/target-$kind/release/bedrock-hook"
  export BEDROCK_HOOK_DATA_DIR="$WORK/data-$kind"
  # The day so far, read: 1,200 requests, so that the day's dedupe index is large enough
  # to be mapped (16 KB), as on a busy day; the runs below each add a 32 KB tool result,
  # so that the transcript's new bytes are mapped too.
  "$GEN" append --transcript "$T" --requests 1200 --result-bytes 1K
  "$GEN" input PostToolUse --transcript "$T" | "$BIN" hook >/dev/null
  for event in SessionStart UserPromptSubmit PreToolUse PostToolUse Stop statusline; do
    "$GEN" append --transcript "$T" --requests 1 --result-bytes 32K
    "$GEN" input "$event" --transcript "$T" >"$WORK/runs/$event.json"
    command=hook
    [ "$event" = statusline ] && command=statusline
    valgrind --tool=callgrind --dump-instr=yes --compress-strings=no --compress-pos=no \
      --callgrind-out-file="$WORK/runs/$kind-$event.cg" "$BIN" "$command" \
      <"$WORK/runs/$event.json" >/dev/null 2>"$WORK/runs/$kind-$event.log"
  done
done

step "hot functions"
python3 - "$WORK" "$LIST" "$RUSTC_VERSION" <<'EOF'
import bisect, glob, re, struct, sys
work, out, rustc = sys.argv[1:4]
section = re.compile(r'\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+\s+\S.*:\(\.text\.(\S+)\)$')
# The C start-up's `_start` is in Scrt1.o's plain `.text`, which no `.text.NAME` names.
names, seen = ["_start"], {"_start"}
for kind in ("install", "bench"):
    binary = f"{work}/target-{kind}/release/bedrock-hook"
    sections = sorted((int(m[1], 16), int(m[2], 16), m[3])
                      for m in map(section.match, open(f"{work}/{kind}.map")) if m)
    starts = [s[0] for s in sections]
    entry = struct.unpack_from("<Q", open(binary, "rb").read(64), 24)[0]
    hot_bytes, count = 0, 0
    for run in sorted(glob.glob(f"{work}/runs/{kind}-*.cg")):
        addresses, current = [], None
        for line in open(run):
            if line.startswith("ob="):
                current = line[3:].strip()
            elif line.startswith("0x") and current == binary:
                addresses.append(int(line.split()[0], 16))
        # callgrind gives the addresses the binary ran at: find its load address from
        # the entry point, which every run executes.
        present = set(addresses)
        base = next((b for b in (0, 0x108000, 0x400000) if entry + b in present), None)
        if base is None:
            sys.exit(f"{run}: the entry point {entry:#x} is not among the executed addresses")
        for address in addresses:
            i = bisect.bisect_right(starts, address - base) - 1
            if i >= 0 and address - base < sections[i][0] + sections[i][1]:
                # `.text.unlikely.NAME` (a function LLVM thinks cold, such as a vector's
                # growth, which a run does execute): the symbol is NAME.
                name = re.sub(r"^(unlikely|hot|startup|exit|split)\.", "", sections[i][2])
                if name not in seen:
                    seen.add(name)
                    names.append(name)
                    hot_bytes += sections[i][1]
                    count += 1
    print(f"{kind}: {count} more functions, {hot_bytes} bytes", file=sys.stderr)
if not any("bedrock_hook4hook3run" in n for n in names):
    sys.exit("the hook's own entry point is not among the hot functions: the mapping is wrong")
with open(out, "w") as f:
    f.write(f"# Written by bench/hot-functions.sh for {rustc}; read by build.rs.\n")
    f.write("# Symbols the hook and the status line execute, placed together by the linker.\n")
    f.write("\n".join(names) + "\n")
print(f"{len(names)} functions in {out}", file=sys.stderr)
EOF
