#!/usr/bin/env bash
# The Debian package (issue 4): `cpack -G DEB` in the build dir makes chargerecon_<ver>_<arch>.deb
# with its library Depends, the conffile and the maintainer scripts; extracted, its binary runs and
# its unit passes `systemd-analyze verify`. Then a real `dpkg -i` / upgrade / `-r` / `-P` on a
# copy-on-write view of this machine's root (an overlay in a private mount namespace, so the host
# is never touched): installs cleanly without systemd running, and with systemd running (stubbed
# systemctl) reloads, never starts the unconfigured service on a fresh install, restarts it on
# upgrade and stops it on removal. That part needs root and mount namespaces; without them it
# says SKIPPED and the rest still runs.
set -euo pipefail
src=$1 build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
arch=$(dpkg --print-architecture)
[ -n "$version" ] || fail "no CMAKE_PROJECT_VERSION in $build/CMakeCache.txt"

# The build dir's own CPack configuration; the package and cpack's staging go to $tmp.
(cd "$build" && cpack -G DEB -B "$tmp/out") > "$tmp/cpack.log" 2>&1 || { cat "$tmp/cpack.log"; fail "cpack -G DEB"; }
deb=$tmp/out/chargerecon_${version}_${arch}.deb
[ -f "$deb" ] || { ls "$tmp/out"; fail "no $(basename "$deb")"; }

# --- control fields ----------------------------------------------------------------------------------
[ "$(dpkg-deb -f "$deb" Package)" = chargerecon ] || fail "Package is not chargerecon"
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "Version is not $version"
[ "$(dpkg-deb -f "$deb" Architecture)" = "$arch" ] || fail "Architecture is not $arch"
[ -n "$(dpkg-deb -f "$deb" Maintainer)" ] || fail "no Maintainer"
depends=$(dpkg-deb -f "$deb" Depends)
# dpkg-shlibdeps found the libraries the binaries link (a hand-written list would drift).
for lib in libc6 libstdc++6 libsqlite3-0 libsystemd0 libssl3 libyaml-cpp0.7 libspdlog1.10 libsimdjson; do
  [[ "$depends" == *"$lib"* ]] || fail "Depends lacks $lib: $depends"
done

# --- contents: the same files as `cmake --install --prefix /usr`, owned by root -----------------------
expected="-rw-r--r-- root/root ./etc/chargerecon/chargerecon.yaml
-rwxr-xr-x root/root ./usr/bin/chargereconctl
-rw-r--r-- root/root ./usr/lib/systemd/system/chargerecon.service
-rwxr-xr-x root/root ./usr/sbin/chargerecond
-rw-r--r-- root/root ./usr/share/doc/chargerecon/README.md
-rw-r--r-- root/root ./usr/share/man/man8/chargereconctl.8.gz
-rw-r--r-- root/root ./usr/share/man/man8/chargerecond.8.gz"
actual=$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { print $1, $2, $6 }' | sort -k3)
[ "$actual" = "$expected" ] || { diff <(echo "$expected") <(echo "$actual") || true; fail "package contents (< expected, > packaged)"; }
bad_dirs=$(dpkg-deb -c "$deb" | awk '$1 ~ /^d/ && ($1 != "drwxr-xr-x" || $2 != "root/root")')
[ -z "$bad_dirs" ] || fail "directories not root 0755: $bad_dirs"

# --- control archive: the conffile, executable maintainer scripts ------------------------------------
dpkg-deb -e "$deb" "$tmp/control"
[ "$(cat "$tmp/control/conffiles")" = /etc/chargerecon/chargerecon.yaml ] || fail "conffiles: $(cat "$tmp/control/conffiles")"
for script in postinst prerm postrm; do
  [ -x "$tmp/control/$script" ] || fail "$script missing or not executable"
  sh -n "$tmp/control/$script" || fail "$script: syntax"
done

# --- extracted: the binary runs, the unit verifies -----------------------------------------------------
dpkg-deb -x "$deb" "$tmp/root"
[ "$("$tmp/root/usr/sbin/chargerecond" --version)" = "chargerecond $version" ] ||
  fail "packaged chargerecond --version is '$("$tmp/root/usr/sbin/chargerecond" --version)', want 'chargerecond $version'"
"$tmp/root/usr/bin/chargereconctl" --help > /dev/null || fail "packaged chargereconctl --help"
unit=$tmp/root/usr/lib/systemd/system/chargerecon.service
cmp "$src/systemd/chargerecon.service" "$unit" || fail "packaged unit differs from systemd/chargerecon.service"
mkdir "$tmp/verify"
sed "s|^ExecStart=/usr/sbin/chargerecond|ExecStart=$tmp/root/usr/sbin/chargerecond|" "$unit" > "$tmp/verify/chargerecon.service"
grep -q "^ExecStart=$tmp/root/usr/sbin/chargerecond " "$tmp/verify/chargerecon.service" || fail "could not point ExecStart at the extracted binary"
out=$(cd "$tmp/verify" && systemd-analyze verify "$tmp/verify/chargerecon.service" 2>&1) || { echo "$out"; fail "systemd-analyze verify"; }
[ -z "$out" ] || fail "systemd-analyze verify of the packaged unit is not clean: $out"
echo "package: $(basename "$deb"), contents, control, extracted binary and unit: OK"

# --- dpkg for real, on an overlay of this machine's root ----------------------------------------------
if [ "$(id -u)" -ne 0 ] || ! unshare -m --propagation private true 2> /dev/null || ! grep -qw overlay /proc/filesystems; then
  echo "SKIPPED: dpkg install/upgrade/remove/purge (needs root, mount namespaces and overlayfs)"
  exit 0
fi

cat > "$tmp/steps.sh" <<'STEPS'
# Runs chrooted in the overlay. /stub.log collects the stubbed systemctl/deb-systemd-invoke calls.
set -eu
fail() { echo "FAIL: $*" >&2; exit 1; }
deb=/chargerecon.deb
state=/var/lib/systemd/deb-systemd-helper-enabled
calls() { cat /stub.log 2>/dev/null; : > /stub.log; }

# Stub what would talk to systemd: the calls are what is checked.
for tool in /usr/bin/systemctl /usr/bin/deb-systemd-invoke; do
  rm -f "$tool"
  printf '#!/bin/sh\necho "%s $*" >> /stub.log\n' "$(basename "$tool")" > "$tool"
  chmod 755 "$tool"
done
: > /stub.log

# 1. No systemd running (a container, a chroot, an image build): installs cleanly and quietly,
# without a word to systemctl.
[ ! -d /run/systemd/system ] || fail "the overlay has /run/systemd/system before the test made it"
dpkg -i "$deb" > /dpkg.log 2>&1 || { cat /dpkg.log; fail "dpkg -i without systemd"; }
grep -qi 'warning\|error' /dpkg.log && { cat /dpkg.log; fail "dpkg -i printed warnings or errors"; }
got=$(calls)
[ -z "$got" ] || fail "without systemd running, the scripts still called: $got"
[ "$(dpkg-query -W -f='${Status}' chargerecon)" = "install ok installed" ] || fail "not installed: $(dpkg-query -W -f='${Status}' chargerecon)"
dpkg-query -W -f='${Conffiles}\n' chargerecon | grep -q '^ /etc/chargerecon/chargerecon.yaml ' || fail "dpkg does not hold the config as a conffile"
# The unit as installed, with its real ExecStart, verifies.
out=$(systemd-analyze verify /usr/lib/systemd/system/chargerecon.service 2>&1) || { echo "$out"; fail "verify of the installed unit"; }
[ -z "$out" ] || fail "systemd-analyze verify of the installed unit is not clean: $out"
[ "$(chargerecond --version)" = "chargerecond $VERSION" ] || fail "installed chargerecond --version: $(chargerecond --version)"
[ ! -e /etc/systemd/system/multi-user.target.wants/chargerecon.service ] || fail "enabled on install: it cannot run unconfigured"
[ -e "$state/chargerecon.service.dsh-also" ] || fail "deb-systemd-helper does not know the unit (purge could not clean up)"

# 2. systemd running.
mkdir -p /run/systemd/system
# Upgrade (postinst configure <old-version>): reload, restart only if running.
dpkg -i "$deb" > /dpkg.log 2>&1 || { cat /dpkg.log; fail "dpkg -i (upgrade) with systemd"; }
got=$(calls)
echo "$got" | grep -qx 'systemctl --system daemon-reload' || fail "upgrade did not reload systemd: $got"
echo "$got" | grep -qx 'deb-systemd-invoke try-restart chargerecon.service' || fail "upgrade did not try-restart: $got"
echo "$got" | grep -q ' start \| enable ' && fail "upgrade started or enabled the service: $got"
# Edits to the conffile survive an upgrade.
echo "# operator's edit" >> /etc/chargerecon/chargerecon.yaml
dpkg -i --force-confold "$deb" > /dpkg.log 2>&1 || { cat /dpkg.log; fail "dpkg -i (upgrade over an edited config)"; }
grep -qx "# operator's edit" /etc/chargerecon/chargerecon.yaml || fail "upgrade overwrote the operator's config"
calls > /dev/null
# Remove: stop first, reload after; the edited conffile stays.
dpkg -r chargerecon > /dpkg.log 2>&1 || { cat /dpkg.log; fail "dpkg -r"; }
got=$(calls)
echo "$got" | grep -qx 'deb-systemd-invoke stop chargerecon.service' || fail "remove did not stop the service: $got"
echo "$got" | grep -qx 'systemctl --system daemon-reload' || fail "remove did not reload systemd: $got"
[ ! -e /usr/sbin/chargerecond ] && [ ! -e /usr/lib/systemd/system/chargerecon.service ] || fail "remove left the binary or the unit"
[ -f /etc/chargerecon/chargerecon.yaml ] || fail "remove deleted the conffile (only purge may)"
# Purge: the conffile and deb-systemd-helper's state go.
dpkg -P chargerecon > /dpkg.log 2>&1 || { cat /dpkg.log; fail "dpkg -P"; }
[ ! -e /etc/chargerecon/chargerecon.yaml ] || fail "purge left the conffile"
[ ! -e "$state/chargerecon.service.dsh-also" ] || fail "purge left deb-systemd-helper's state"
[ -z "$(dpkg-query -W -f='${Status}' chargerecon 2>/dev/null | grep -v 'not-installed')" ] || fail "still known to dpkg after purge"
calls > /dev/null
# Fresh install with systemd: the unit is loaded, the service is neither enabled nor started.
dpkg -i "$deb" > /dpkg.log 2>&1 || { cat /dpkg.log; fail "dpkg -i (fresh) with systemd"; }
got=$(calls)
echo "$got" | grep -qx 'systemctl --system daemon-reload' || fail "fresh install did not reload systemd: $got"
echo "$got" | grep -q 'start\|restart\|enable' && fail "fresh install started or enabled the unconfigured service: $got"
[ ! -e /etc/systemd/system/multi-user.target.wants/chargerecon.service ] || fail "enabled on a fresh install"
echo "dpkg: install without systemd, upgrade, conffile kept, remove, purge, fresh install with systemd: OK"
STEPS

cat > "$tmp/overlay.sh" <<'OVERLAY'
# In a private mount namespace: an overlay of / whose writes land in a tmpfs that vanishes with
# the namespace. chroot into it fails (nothing to run) if any mount failed: dpkg never runs on /.
set -eu
tmp=$1 deb=$2 version=$3
mkdir "$tmp/upper" "$tmp/merged"
mount -t tmpfs -o size=512m tmpfs "$tmp/upper"
mkdir "$tmp/upper/data" "$tmp/upper/work"
mount -t overlay overlay -o "lowerdir=/,upperdir=$tmp/upper/data,workdir=$tmp/upper/work" "$tmp/merged"
mount --rbind /dev "$tmp/merged/dev"
mount -t proc proc "$tmp/merged/proc"
mount -t tmpfs tmpfs "$tmp/merged/run"
mount -t tmpfs tmpfs "$tmp/merged/tmp"
cp "$deb" "$tmp/merged/chargerecon.deb"
cp "$tmp/steps.sh" "$tmp/merged/steps.sh"
chroot "$tmp/merged" /usr/bin/env -i VERSION="$version" PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  DEBIAN_FRONTEND=noninteractive /bin/sh /steps.sh
OVERLAY
unshare -m --propagation private sh "$tmp/overlay.sh" "$tmp" "$deb" "$version"
