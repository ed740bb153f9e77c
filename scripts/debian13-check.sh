#!/usr/bin/env bash
# Builds flatdist in a Debian 13 (trixie) root against Debian 13's libtorch 2.6 and runs the test suite
# there, through the README's command (npm test: scripts/setup.sh, then the suite).
#
# The root is made with debootstrap from Debian's package registry and kept in
# $FLATDIST_DEBIAN13_ROOT (default /var/cache/flatdist/debian13) for the next run on this machine. It counts
# as complete only when its stamp file holds the package list below (written after the last install
# succeeded); an incomplete root is made again from scratch, a root with a shorter list is topped up.
# Needs root (debootstrap, chroot, mount). One run at a time per root (a lock).
set -euo pipefail
cd "$(dirname "$0")/.."
checkout=$PWD

root=${FLATDIST_DEBIAN13_ROOT:-/var/cache/flatdist/debian13}
mirror=${FLATDIST_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# What a fresh machine needs before the README's commands (Node.js, npm, the compilers node-gyp runs,
# Node's headers for node-gyp without a download), then what scripts/setup.sh installs.
base=(nodejs npm g++ make python3 ca-certificates libnode-dev)
read -r -a setup < <(sed -n 's/^packages=(\(.*\))$/\1/p' scripts/setup.sh) || true
packages=("${base[@]}" "${setup[@]}")
stamp=$root/.flatdist-root-complete

if [ "$(id -u)" -ne 0 ]; then
  echo "debian13-check: needs root (debootstrap, chroot, mount) — run it as root" >&2
  exit 1
fi
if [ ${#setup[@]} -eq 0 ]; then
  echo "debian13-check: found no packages=(…) line in scripts/setup.sh" >&2
  exit 1
fi

mkdir -p "$(dirname "$root")"
exec 9>"$root.lock"
flock 9

mounts=()
unmount() {
  local m
  for m in "${mounts[@]}"; do umount -l "$m" 2>/dev/null || true; done
  mounts=()
}
trap unmount EXIT
mountin() { # type source target
  mkdir -p "$root/$3"
  mount -t "$1" "$2" "$root/$3"
  mounts+=("$root/$3")
}
inroot() {
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

want=$(printf '%s\n' "${packages[@]}")
if [ ! -f "$stamp" ]; then
  # A root left half made (an interrupted debootstrap or install) is made again; nothing may be mounted in it.
  if [ -e "$root" ]; then
    if findmnt -rn -o TARGET | grep "^$root/" >/dev/null; then
      echo "debian13-check: $root has file systems mounted in it; unmount them (findmnt | grep $root) and run again" >&2
      exit 1
    fi
    rm -rf --one-file-system "$root"
  fi
  command -v debootstrap >/dev/null || {
    echo "debian13-check: installing debootstrap" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
  }
  echo "debian13-check: making a Debian 13 root in $root" >&2
  if ! debootstrap --variant=minbase trixie "$root" "$mirror" >"$root.debootstrap.log" 2>&1; then
    grep '^E:' "$root.debootstrap.log" >&2 || true
    echo "debian13-check: FAILED to make the Debian 13 root from $mirror (no network to Debian's registry?); see $root.debootstrap.log" >&2
    exit 1
  fi
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  # This machine's certificate authorities (a registry proxy may sign with its own) go into the root.
  if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    mkdir -p "$root/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  fi
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  mountin proc proc proc
  echo "debian13-check: installing ${packages[*]}" >&2
  if ! { inroot apt-get update -qq && inroot apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null; }; then
    echo "debian13-check: FAILED to install ${packages[*]} in $root from Debian's registry" >&2
    exit 1
  fi
  inroot update-ca-certificates >/dev/null
  inroot apt-get clean
  unmount
  printf '%s\n' "$want" >"$stamp"
fi

# The checkout as it is now: tracked files with their uncommitted changes, and untracked files git does not ignore.
rm -rf --one-file-system "$root/src/flatdist"
mkdir -p "$root/src/flatdist"
git ls-files -z --cached --others --exclude-standard |
  tar -C "$checkout" --null -T - --ignore-failed-read -cf - 2>/dev/null |
  tar -C "$root/src/flatdist" -xf -

mountin proc proc proc
mountin tmpfs tmpfs dev/shm
start=$SECONDS
# shellcheck disable=SC2016 # ${Version} is dpkg-query's
echo "debian13-check: npm test in Debian 13 ($(inroot dpkg-query -W -f='libtorch-dev ${Version}' libtorch-dev), node $(inroot node --version))" >&2
inroot NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt npm_config_cafile=/etc/ssl/certs/ca-certificates.crt \
  npm_config_nodedir=/usr npm_config_update_notifier=false bash -c 'cd /src/flatdist && npm test'
echo "debian13-check: passed in $((SECONDS - start)) s" >&2
