#!/usr/bin/env bash
# `cmake --install` (issue 4): into a DESTDIR, the binaries, the unit, the configuration, the man
# pages and the README land where an operator and systemd look for them, with the right modes,
# and nothing else does (no simulator ships). The installed configuration refuses to run until
# the operator sets the two URLs, and is valid once they are set; the man pages cover every
# option the binaries' --help lists.
set -euo pipefail
src=$1 build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
[ -n "$version" ] || fail "no CMAKE_PROJECT_VERSION in $build/CMakeCache.txt"

DESTDIR=$tmp/usr-root cmake --install "$build" --prefix /usr > "$tmp/install.log" || {
  cat "$tmp/install.log"; fail "cmake --install --prefix /usr"; }
root=$tmp/usr-root

# --- every file, its mode, and nothing more -----------------------------------------------------
expected="644 /etc/chargerecon/chargerecon.yaml
755 /usr/bin/chargereconctl
644 /usr/lib/systemd/system/chargerecon.service
755 /usr/sbin/chargerecond
644 /usr/share/doc/chargerecon/README.md
644 /usr/share/man/man8/chargereconctl.8.gz
644 /usr/share/man/man8/chargerecond.8.gz"
actual=$(cd "$root" && find . ! -type d -printf '%m /%P\n' | sort -k2)
if [ "$actual" != "$expected" ]; then
  diff <(echo "$expected") <(echo "$actual") || true
  fail "installed files or modes differ from the expected list (< expected, > installed)"
fi
# Directories must be traversable by the DynamicUser the service runs as.
bad_dirs=$(cd "$root" && find . -type d ! -perm -0755 -printf '/%P %m\n')
[ -z "$bad_dirs" ] || fail "directories not 0755: $bad_dirs"
# The manifest (what `xargs rm < install_manifest.txt` removes) lists the unit too: it is written
# by install code, not a plain copy. Matched by suffix: a concurrent cpack rewrites this file.
grep -q "/usr/lib/systemd/system/chargerecon.service$" "$build/install_manifest.txt" ||
  fail "install_manifest.txt does not list the unit"

# --- the unit: for /usr, exactly the source unit --------------------------------------------------
cmp "$src/systemd/chargerecon.service" "$root/usr/lib/systemd/system/chargerecon.service" ||
  fail "the unit installed under /usr differs from systemd/chargerecon.service"

# --- the binaries run from where they were installed ---------------------------------------------
[ "$("$root/usr/sbin/chargerecond" --version)" = "chargerecond $version" ] ||
  fail "installed chargerecond --version is '$("$root/usr/sbin/chargerecond" --version)', want 'chargerecond $version'"
"$root/usr/bin/chargereconctl" --help > "$tmp/ctl-help" || fail "installed chargereconctl --help failed"
"$root/usr/sbin/chargerecond" --help > "$tmp/daemon-help" || fail "installed chargerecond --help failed"

# --- the installed configuration -----------------------------------------------------------------
conf=$root/etc/chargerecon/chargerecon.yaml
grep -qx '  path: /var/lib/chargerecon/ledger.db' "$conf" || fail "installed ledger.path is not the StateDirectory's"
grep -qx '  base_url:' "$conf" || fail "installed crm.base_url is not empty: $(grep -n base_url: "$conf")"
grep -qx '  url:' "$conf" || fail "installed billing.url is not empty: $(grep -n '^  url:' "$conf")"
grep -v '^ *#' "$conf" | grep -q '/tmp/' && fail "installed config names /tmp: $(grep -n '^[^#]*/tmp/' "$conf")"
# As installed it must refuse to start and say what to set: both URLs, by key.
set +e
"$root/usr/sbin/chargerecond" --check-config "$conf" > "$tmp/check.out" 2>&1
status=$?
set -e
[ "$status" -eq 78 ] || { cat "$tmp/check.out"; fail "--check-config of the installed config exited $status, want 78"; }
grep -q 'base_url' "$tmp/check.out" || { cat "$tmp/check.out"; fail "--check-config does not name crm.base_url"; }
grep -q '\burl\b' "$tmp/check.out" || { cat "$tmp/check.out"; fail "--check-config does not name billing.url"; }
# Once the URLs are set and the secret is there, everything else in it is valid.
mkdir -m 700 "$tmp/credentials"
(umask 077; echo secret > "$tmp/credentials/crm-password")
sed -e 's|^  base_url:$|  base_url: https://crm.example.com/crmapi/rest/v2/|' \
    -e 's|^  url:$|  url: https://billing.example.com/bill|' "$conf" > "$tmp/configured.yaml"
CREDENTIALS_DIRECTORY=$tmp/credentials "$root/usr/sbin/chargerecond" --check-config "$tmp/configured.yaml" \
  > "$tmp/check2.out" 2>&1 || { cat "$tmp/check2.out"; fail "the installed config with its URLs set is not valid"; }

# --- man pages: well-formed, versioned, and covering --help ------------------------------------------
for page in chargerecond chargereconctl; do
  gz=$root/usr/share/man/man8/$page.8.gz
  gzip -t "$gz" || fail "$page.8.gz is not valid gzip"
  zcat "$gz" > "$tmp/$page.8"
  grep -q '@PROJECT_VERSION@' "$tmp/$page.8" && fail "$page.8: @PROJECT_VERSION@ not substituted"
  grep -q "^\.TH ${page^^} 8 .*chargerecon $version" "$tmp/$page.8" || fail "$page.8: .TH does not carry version $version"
  if command -v groff > /dev/null; then
    warnings=$(groff -man -Tutf8 -ww -z "$tmp/$page.8" 2>&1)
    [ -z "$warnings" ] || fail "$page.8: groff warnings: $warnings"
  else
    echo "note: groff not installed; $page.8 not linted"
  fi
  # roff writes a literal '-' as '\-'.
  sed 's/\\-/-/g' "$tmp/$page.8" > "$tmp/$page.8.plain"
done
for opt in $(grep -o -- '--[a-z][a-z-]*' "$tmp/daemon-help" | sort -u); do
  grep -q -- "$opt" "$tmp/chargerecond.8.plain" || fail "chargerecond.8 does not mention $opt (in chargerecond --help)"
done
for opt in $(grep -o -- '--[a-z][a-z-]*' "$tmp/ctl-help" | sort -u); do
  grep -q -- "$opt" "$tmp/chargereconctl.8.plain" || fail "chargereconctl.8 does not mention $opt (in chargereconctl --help)"
done
# Every command the overview lists ("  chargereconctl WORD [SUBWORD] ..."), as a tagged paragraph.
while read -r word sub; do
  grep -Eq "^\.BI? \"?$word( |\"|$).*${sub:+\b$sub\b}" "$tmp/chargereconctl.8.plain" ||
    fail "chargereconctl.8 does not describe '$word${sub:+ $sub}'"
done < <(sed -n 's/^  chargereconctl \([a-z]*\)\( \(show\|create\|suspend\|unsuspend\|register\|unregister\)\)\{0,1\}.*/\1\2/p' "$tmp/ctl-help" | sort -u)
# And every exit status the binaries document (the numbers of their "exit status:" paragraph).
for page in chargerecond chargereconctl; do
  help=$tmp/daemon-help
  [ "$page" = chargereconctl ] && help=$tmp/ctl-help
  codes=$(sed -n '/^exit status:/,$p' "$help" | grep -o '\b[0-9]\{1,3\}\b' | sort -un)
  [ -n "$codes" ] || fail "$page --help has no exit status paragraph"
  for code in $codes; do
    grep -q "^\.B $code$" "$tmp/$page.8" || fail "$page.8 does not document exit status $code"
  done
done

# --- another prefix: the unit follows it ----------------------------------------------------------
DESTDIR=$tmp/local-root cmake --install "$build" --prefix /usr/local > "$tmp/install-local.log" || {
  cat "$tmp/install-local.log"; fail "cmake --install --prefix /usr/local"; }
local_unit=$tmp/local-root/usr/local/lib/systemd/system/chargerecon.service
grep -qx 'ExecStart=/usr/local/sbin/chargerecond --config ${CONFIGURATION_DIRECTORY}/chargerecon.yaml' "$local_unit" ||
  fail "unit under /usr/local does not run /usr/local/sbin/chargerecond: $(grep ExecStart "$local_unit")"
grep -qx 'Documentation=file:/usr/local/share/doc/chargerecon/README.md' "$local_unit" ||
  fail "unit under /usr/local does not point at its README"
[ -x "$tmp/local-root/usr/local/sbin/chargerecond" ] || fail "no /usr/local/sbin/chargerecond"
[ -f "$tmp/local-root/usr/local/share/doc/chargerecon/README.md" ] || fail "no README under /usr/local"
# The configuration directory does not follow the prefix: the daemon and the unit name /etc.
[ -f "$tmp/local-root/etc/chargerecon/chargerecon.yaml" ] || fail "config not in /etc/chargerecon with --prefix /usr/local"

echo "install: $(echo "$expected" | wc -l) files with their modes, unit, config, man pages: OK"
