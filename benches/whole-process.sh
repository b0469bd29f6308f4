#!/usr/bin/env bash
# Whole-process benchmarks of the static binary (issue 11), timed with hyperfine:
#
#   1. a 1-NIC `render` of tests/fixtures/eni/full-secondary.yaml, against the exec floor (a
#      static binary that does nothing, benches/support/noop.rs) and, when cloud-init is
#      installed, `cloud-init devel net-convert` of the same intent
#      (benches/support/full-secondary.cloud-init.yaml) in the same run;
#   2. the NICS-NIC x 10-address description of benches/gen-description.sh (default 1000), as
#      YAML and as JSON, on every backend: `render`, `write` into an empty root (YAML only),
#      `write` again (nothing to change);
#   3. `verify` of that description against its kernel state, built in a throw-away network
#      namespace (as root only; the namespace is deleted on exit);
#
# and the peak memory (maximum resident set, GNU time) of each. Prints one table, the ratios,
# and each of issue 11's targets with "met" or "MISSED"; `--check` exits 1 when one is missed.
# The library paths have criterion benchmarks: `cargo bench --bench library`.
#
# Usage: benches/whole-process.sh [--check] [NICS]
# Needs: hyperfine, GNU time (/usr/bin/time), iproute2, and the musl target (rustup target add
# x86_64-unknown-linux-musl). Everything it writes goes to a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
if [ "${1:-}" = --check ]; then
  check=1
  shift
fi
nics=${1:-1000}

for tool in hyperfine /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "needs $tool (Debian: apt-get install hyperfine time)" >&2; exit 2; }
done

target=x86_64-unknown-linux-musl
cargo build --release --locked --target "$target" >&2
bin=$PWD/target/$target/release/enicfg

work=$(mktemp -d)
netns=enicfg-bench-$$
cleanup() {
  ip netns del "$netns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

rustc --edition 2021 -C opt-level=3 --target "$target" -o "$work/noop" benches/support/noop.rs
benches/gen-description.sh "$nics" >"$work/big.yaml"
benches/gen-description.sh "$nics" json >"$work/big.json"
# One description in two forms: both must render the same files.
"$bin" render --input "$work/big.yaml" --backend networkd >"$work/from-yaml"
"$bin" render --input "$work/big.json" --backend networkd >"$work/from-json"
cmp -s "$work/from-yaml" "$work/from-json" || { echo "the YAML and JSON descriptions differ" >&2; exit 1; }

results=$work/results.txt
: >"$results"

# hyperfine's mean and median, in milliseconds, of one command: time NAME RUNS COMMAND...
# The targets are judged on the mean; the median shows how much of it a noisy neighbour made.
# Extra hyperfine options go in HF_OPTS (an array).
HF_OPTS=()
time_it() {
  local name=$1 runs=$2
  shift 2
  hyperfine --style none -N --warmup 3 --runs "$runs" "${HF_OPTS[@]}" \
    --export-csv "$work/one.csv" -- "$*" >/dev/null
  awk -F, -v name="$name" 'NR == 2 { printf "%s %.3f %.3f\n", name, $2 * 1000, $4 * 1000 }' \
    "$work/one.csv" >>"$results"
  HF_OPTS=()
}

# Peak memory in KiB of one run: peak NAME COMMAND...
peak() {
  local name=$1
  shift
  /usr/bin/time -f %M -o "$work/rss" "$@" >/dev/null
  printf '%s %s\n' "$name" "$(cat "$work/rss")" >>"$work/peak.txt"
}
: >"$work/peak.txt"

# 1. One NIC, against the exec floor and cloud-init.
one=(render --input tests/fixtures/eni/full-secondary.yaml --distro ubuntu:24.04)
time_it floor 2000 "$work/noop"
time_it render-1 2000 "$bin" "${one[@]}"
peak render-1 "$bin" "${one[@]}"
if command -v cloud-init >/dev/null; then
  time_it net-convert-1 10 cloud-init devel net-convert -p benches/support/full-secondary.cloud-init.yaml \
    -k yaml -d "$work/net-convert" -D ubuntu -O netplan
fi

# 2. NICS x 10 on every backend, from YAML and from JSON (the same description).
backends=(ifcfg-rh ifcfg-suse ifupdown netplan nm-keyfile networkd)
formats=(yaml json)
for b in "${backends[@]}"; do
  root=$work/root-$b
  for f in "${formats[@]}"; do
    args=(--input "$work/big.$f" --backend "$b")
    time_it "render-$f-$b" 20 "$bin" render "${args[@]}"
    peak "render-$f-$b" "$bin" render "${args[@]}"
    if [ "$f" = yaml ]; then
      # A first write fsyncs every file: a few runs tell enough.
      HF_OPTS=(--prepare "sh -c 'rm -rf $root && mkdir $root'")
      time_it "write-$b" 3 "$bin" write "${args[@]}" --root "$root"
      rm -rf "$root" && mkdir "$root"
      "$bin" write "${args[@]}" --root "$root" >/dev/null
    fi
    time_it "write-again-$f-$b" 20 "$bin" write "${args[@]}" --root "$root"
    peak "write-again-$f-$b" "$bin" write "${args[@]}" --root "$root"
  done
done

# 3. verify, against the state a correct apply leaves.
if [ "$(id -u)" = 0 ]; then
  ip netns add "$netns"
  benches/gen-description.sh "$nics" ip-batch >"$work/state4"
  benches/gen-description.sh "$nics" ip6-batch >"$work/state6"
  ip -n "$netns" -b "$work/state4"
  ip -n "$netns" -6 -b "$work/state6"
  "$bin" verify --input "$work/big.yaml" --netns "$netns" >/dev/null
  time_it verify 10 "$bin" verify --input "$work/big.yaml" --netns "$netns"
  peak verify "$bin" verify --input "$work/big.yaml" --netns "$netns"
else
  echo "verify: skipped (needs root for a network namespace)" >&2
fi

# The report.
mean() { awk -v n="$1" '$1 == n { print $2 }' "$results"; }
kib() { awk -v n="$1" '$1 == n { print $2 }' "$work/peak.txt"; }
echo
echo "enicfg $("$bin" --version | awk '{ print $2 }'), $nics NICs x 10 addresses, $(nproc) CPUs, $(date -u +%Y-%m-%d)"
printf '%-28s %12s %12s %14s\n' command "mean (ms)" "median (ms)" "peak RSS (MiB)"
while read -r name ms median; do
  rss=$(kib "$name")
  printf '%-28s %12s %12s %14s\n' "$name" "$ms" "$median" "${rss:+$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')}"
done <"$results"

missed=0
target_line() { # NAME VALUE OP LIMIT UNIT
  local ok
  ok=$(awk -v v="$2" -v l="$4" -v op="$3" 'BEGIN { print (op == "<=" ? v <= l : v >= l) ? 1 : 0 }')
  if [ "$ok" = 1 ]; then
    printf '  met     %s: %s %s %s%s\n' "$1" "$2" "$3" "$4" "$5"
  else
    printf '  MISSED  %s: %s %s %s%s\n' "$1" "$2" "$3" "$4" "$5"
    missed=1
  fi
}
echo
echo "targets (issue 11):"
for f in "${formats[@]}"; do
  for b in "${backends[@]}"; do
    target_line "render $nics x 10 ($f), $b" "$(mean "render-$f-$b")" "<=" 30 " ms"
    target_line "write again $nics x 10 ($f), $b" "$(mean "write-again-$f-$b")" "<=" 100 " ms"
  done
done
if [ -n "$(mean verify)" ]; then
  target_line "verify $nics x 10" "$(mean verify)" "<=" 500 " ms"
fi
floor_ratio=$(awk -v r="$(mean render-1)" -v f="$(mean floor)" 'BEGIN { printf "%.2f", r / f }')
target_line "1-NIC render / exec floor" "$floor_ratio" "<=" 1.5 "x"
if [ -n "$(mean net-convert-1)" ]; then
  ratio=$(awk -v c="$(mean net-convert-1)" -v r="$(mean render-1)" 'BEGIN { printf "%.0f", c / r }')
  target_line "cloud-init net-convert / 1-NIC render" "$ratio" ">=" 200 "x"
else
  echo "  (cloud-init is not installed: no net-convert comparison)"
fi
if [ "$check" = 1 ] && [ "$missed" = 1 ]; then
  exit 1
fi
