#!/usr/bin/env bash
# Inspects the .deb and .rpm built from Cargo.toml's package metadata (README "Install: .deb
# and .rpm") and fails, naming the package and the path, when:
#   - a file is missing: the binary (0755), every man page of target/dist/man, the three
#     completions, README, the license, the hotplug reference files;
#   - a file lands where udev or systemd would read it (/etc, /lib, /usr/lib): installing the
#     package must configure no NIC before `enicfg install-hotplug`;
#   - the binary still carries its symbol table, or the package does not declare iproute2
#     (Debian) / iproute (RPM), whose `ip` verify and write --restart run;
#   - the package does not install (into a throw-away root, never /), its binary does not run,
#     install-hotplug there does not pick the package's /usr/bin/enicfg, or removal leaves files.
# Needs dpkg and rpm (Debian's packages of those names); run pkg/build-assets.sh, cargo deb and
# cargo generate-rpm first (.ci/run does).
set -euo pipefail
cd "$(dirname "$0")/.."

fail() {
  echo "pkg/check.sh: $*" >&2
  exit 1
}

one() { # the single file a glob names
  local matches=("$@")
  [ ${#matches[@]} -eq 1 ] && [ -f "${matches[0]}" ] || fail "expected one package, found: ${matches[*]}"
  echo "${matches[0]}"
}
shopt -s nullglob
deb=$(one target/debian/enicfg_*_amd64.deb)
rpm_file=$(one target/generate-rpm/enicfg-*.x86_64.rpm target/x86_64-unknown-linux-musl/generate-rpm/enicfg-*.x86_64.rpm)
shopt -u nullglob

[ -d target/dist/man ] || fail "target/dist/man is missing: run pkg/build-assets.sh"
expected=(/usr/bin/enicfg
  /usr/share/bash-completion/completions/enicfg
  /usr/share/zsh/vendor-completions/_enicfg
  /usr/share/fish/vendor_completions.d/enicfg.fish
  /usr/share/doc/enicfg/README.md
  /usr/share/man/man1/enicfg.1.gz
  /usr/share/man/man1/enicfg-write.1.gz
  /usr/share/man/man1/enicfg-install-hotplug.1.gz)
for page in target/dist/man/*.1.gz; do
  expected+=("/usr/share/man/man1/$(basename "$page")")
done
for f in README.md 90-enicfg.rules enicfg@.service enicfg-remove@.service enicfg-boot.service enicfg.yaml; do
  expected+=("/usr/share/doc/enicfg/hotplug/$f")
done

# "MODE PATH" per file (directories left out).
deb_files=$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $1, $6 }')
rpm_files=$(rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$rpm_file" | awk '$1 !~ /^d/')

check() { # PACKAGE LISTING LICENSE-PATH
  local pkg=$1 listing=$2 license=$3 path
  for path in "${expected[@]}" "$license"; do
    grep -qx -- "-[rwx-]* $path" <<<"$listing" || fail "$pkg: $path is missing"
  done
  grep -qx -- "-rwxr-xr-x /usr/bin/enicfg" <<<"$listing" || fail "$pkg: /usr/bin/enicfg is not mode 0755"
  if grep -E ' /(etc|lib|usr/lib|usr/local)/' <<<"$listing"; then
    fail "$pkg: files above would be read by udev/systemd or are not the package's to own"
  fi
  echo "$pkg: $(wc -l <<<"$listing") files, all expected ones present"
}
check "$deb" "$deb_files" /usr/share/doc/enicfg/copyright
check "$rpm_file" "$rpm_files" /usr/share/licenses/enicfg/LICENSE
# The rpm of CentOS 7 and Amazon Linux 2 (4.11) reads gzip and xz payloads, not zstd.
compressor=$(rpm -qp --qf '%{PAYLOADCOMPRESSOR}' "$rpm_file")
[ "$compressor" = gzip ] || fail "$rpm_file: $compressor payload; CentOS 7's rpm needs gzip (--payload-compress gzip)"
dpkg-deb -I "$deb" control
[ "$(dpkg-deb -f "$deb" Depends)" = iproute2 ] || fail "$deb: Depends is '$(dpkg-deb -f "$deb" Depends)', not iproute2"
rpm -qp --requires "$rpm_file" 2>/dev/null | grep -qx 'iproute' || fail "$rpm_file: does not require iproute"

version=$(target/x86_64-unknown-linux-musl/release/enicfg --version)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The .deb, installed with dpkg into a throw-away root.
root=$tmp/deb-root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/etc"
touch "$root/var/lib/dpkg/status"
# --force-depends: the throw-away root has no iproute2 to satisfy the dependency.
dpkg --root="$root" --force-script-chrootless --force-depends --install "$deb" >/dev/null 2>&1 ||
  dpkg --root="$root" --force-script-chrootless --force-depends --install "$deb"
[ "$("$root/usr/bin/enicfg" --version)" = "$version" ] || fail "$deb: the installed binary is not $version"
if readelf -S "$root/usr/bin/enicfg" | grep -q '\.symtab'; then
  fail "$deb: /usr/bin/enicfg is not stripped"
fi
leftover=$(find "$root/etc" "$root/usr" -path "$root/usr/share" -prune -o -path "$root/usr/bin" -prune -o -print | grep -v -x -e "$root/etc" -e "$root/usr" || true)
[ -z "$leftover" ] && echo "$deb: installed into a throw-away root; nothing outside /usr/bin and /usr/share" \
  || fail "$deb: installed files outside /usr/bin and /usr/share: $leftover"
# What the user does next: install-hotplug there picks the package's binary.
cp tests/fixtures/roots/debian-12/etc/os-release "$root/etc/os-release"
"$root/usr/bin/enicfg" install-hotplug --root "$root" --imds aws --dry-run \
  | grep -qx '+ExecStart=/usr/bin/enicfg hotplug boot' || fail "$deb: install-hotplug does not run /usr/bin/enicfg"
dpkg --root="$root" --force-script-chrootless --purge enicfg >/dev/null
left=$(find "$root" -type f -not -path "$root/var/lib/dpkg/*" -not -path "$root/etc/os-release")
[ -z "$left" ] || fail "$deb: files left after purge: $left"
echo "$deb: purged; nothing left"

# The .rpm, installed with rpm into a throw-away root (its own database; --nodeps: the root has
# no packages, iproute included, to satisfy what it requires).
root=$tmp/rpm-root
mkdir -p "$root"
rpm=(rpm --root="$root" --dbpath=/var/lib/rpm)
"${rpm[@]}" --initdb
# Debian's rpm says, on stderr, that it should not be used to install packages on Debian.
"${rpm[@]}" --install --nodeps --force-debian "$rpm_file" 2>/dev/null ||
  "${rpm[@]}" --install --nodeps --force-debian "$rpm_file"
[ "$("$root/usr/bin/enicfg" --version)" = "$version" ] || fail "$rpm_file: the installed binary is not $version"
if readelf -S "$root/usr/bin/enicfg" | grep -q '\.symtab'; then
  fail "$rpm_file: /usr/bin/enicfg is not stripped"
fi
"${rpm[@]}" --erase enicfg 2>/dev/null || "${rpm[@]}" --erase enicfg
left=$(find "$root" -type f -not -path "$root/var/lib/rpm/*")
[ -z "$left" ] || fail "$rpm_file: files left after erase: $left"
echo "$rpm_file: installed into a throw-away root, ran, erased; nothing left"
