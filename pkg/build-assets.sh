#!/usr/bin/env bash
# Generates what the .deb and .rpm ship besides the binary (Cargo.toml's
# [package.metadata.deb] and [package.metadata.generate-rpm] assets), with the built binary
# itself, so the packages always match it:
#   target/dist/bin/enicfg            the binary without its symbol table (strip), as packaged
#   target/dist/man/*.1.gz            enicfg.1 and one enicfg-COMMAND.1 per command (gzip -n)
#   target/dist/completions/          enicfg.bash, _enicfg (zsh), enicfg.fish
#   target/dist/hotplug/              what `enicfg install-hotplug --imds aws` writes for
#                                     systemd-networkd with the package's /usr/bin/enicfg, as
#                                     documentation: nothing under /usr/share/doc is read by
#                                     udev or systemd (pkg/hotplug-README.md says why)
# Usage: pkg/build-assets.sh [BINARY]   (default: the static musl binary of README "Install")
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${1:-target/x86_64-unknown-linux-musl/release/enicfg}
if [ ! -x "$bin" ]; then
  echo "pkg/build-assets.sh: $bin is not built; run: cargo build --release --locked --target x86_64-unknown-linux-musl" >&2
  exit 1
fi
out=target/dist
rm -rf "$out"
mkdir -p "$out/bin" "$out/man" "$out/completions" "$out/hotplug"

# Symbols serve only a debugger or a profiler; the build keeps them in target/.
strip -o "$out/bin/enicfg" "$bin"

"$bin" man --out-dir "$out/man" >/dev/null
# -n: no name or time stamp in the header, so the same pages give the same bytes.
gzip -9 -n "$out"/man/*.1

"$bin" completions bash > "$out/completions/enicfg.bash"
"$bin" completions zsh > "$out/completions/_enicfg"
"$bin" completions fish > "$out/completions/enicfg.fish"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
"$bin" install-hotplug --root "$root" --imds aws --backend networkd --binary /usr/bin/enicfg >/dev/null
cp "$root/etc/enicfg/enicfg.yaml" "$root/etc/udev/rules.d/90-enicfg.rules" \
  "$root"/etc/systemd/system/enicfg*.service "$out/hotplug/"
chmod 0644 "$out"/hotplug/* "$out"/completions/* "$out"/man/*
chmod 0755 "$out/bin/enicfg"

find "$out" -type f | sort
