#!/bin/sh
# Runs every cargo-fuzz target for SECONDS each (default 8), seeded from the test fixtures.
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). New corpus entries go
# to fuzz/corpus/<target>/ (git-ignored); a crash is saved under fuzz/artifacts/<target>/ and
# fails the run. Usage: fuzz/run.sh [SECONDS] [TARGET...]
set -eu
cd "$(dirname "$0")/.."
secs=${1:-8}
[ $# -gt 0 ] && shift
targets=${*:-schema metadata_aws metadata_aliyun metadata_tencent metadata_openstack os_release}
for t in $targets; do
    case $t in
        schema) seeds="tests/fixtures/eni tests/fixtures/invalid" ;;
        metadata_*) seeds="tests/fixtures/metadata tests/fixtures/metadata-invalid" ;;
        os_release) seeds=$(find tests/fixtures/roots -path '*/etc/os-release' -exec dirname {} \; | sort -u) ;;
        *) echo "unknown target $t" >&2; exit 2 ;;
    esac
    mkdir -p "fuzz/corpus/$t"
    # The first directory is the writable corpus; the fixture directories are read-only seeds.
    log=$(mktemp)
    # shellcheck disable=SC2086
    if cargo +nightly fuzz run -O "$t" "fuzz/corpus/$t" $seeds -- \
        -max_total_time="$secs" -max_len=65536 >"$log" 2>&1; then
        echo "fuzz $t: $(grep -E '^Done [0-9]+ runs' "$log" || echo done)"
        rm -f "$log"
    else
        tail -n 60 "$log"
        rm -f "$log"
        echo "fuzz $t: FAILED (the input is under fuzz/artifacts/$t/)" >&2
        exit 1
    fi
done
