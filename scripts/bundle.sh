#!/usr/bin/env bash
# The release bundle: the release server, the emulator and the release site in one tarball, the one thing
# deploy/Dockerfile copies (and what any other host can unpack and run).
#
#   scripts/bundle.sh [--no-build] [OUTDIR]     (default OUTDIR: dist, relative to the current directory)
#
# It builds first, as `make run` and `scripts/test.sh` build (build_release_site in env.sh, then every
# binary of the workspace with the same features, so nothing is compiled twice); --no-build packages what the
# last build left and fails if something is missing. It prints the tarball's path.
#
# The layout, kept here and nowhere else (deploy/Dockerfile and the README's "Deploy" section read it):
#
#   stepline-<version>-linux-<arch>.tar.gz
#   └── stepline/
#       ├── bin/stepline            the dashboard (the server; serves the site below)
#       ├── bin/stepline-emulator   the standalone SageMaker Pipelines emulator
#       ├── bin/hash.txt            when file names are hashed (Cargo.toml's hash-files, or LEPTOS_HASH_FILES):
#       │                           the hashes of this build, read beside the running binary
#       └── site/                   the Leptos site root, found by bin/stepline beside itself (LEPTOS_SITE_ROOT
#                                   overrides)
#           ├── pkg/                the JS, wasm and CSS (stepline.<hash>.wasm …, or stepline.wasm … unhashed),
#           │                       each also .br and .gz
#           └── favicon.svg …       the files of public/
#
# <version> is the stepline package's version in Cargo.toml, <arch> is `uname -m` (x86_64 on the usual
# build machine): the binaries are this machine's, linked against its glibc, so build on a Debian as new as
# the image's (deploy/Dockerfile: trixie) or older.
# shellcheck source=env.sh
source "$(dirname "$0")/env.sh"
set -euo pipefail
# Standard output is the tarball's path alone (`bundle=$(scripts/bundle.sh)`): everything else, the build's
# output included, goes to standard error.
exec 3>&1 1>&2

build=1
outdir=""
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&3; exit 0 ;;
    -*) echo "usage: scripts/bundle.sh [--no-build] [OUTDIR]" >&2; exit 2 ;;
    *)
      if [ -n "$outdir" ]; then echo "usage: scripts/bundle.sh [--no-build] [OUTDIR]" >&2; exit 2; fi
      outdir="$arg"
      ;;
  esac
done
# A relative OUTDIR is the caller's, not the repository root's.
outdir="${outdir:-dist}"
case "$outdir" in /*) ;; *) outdir="$PWD/$outdir" ;; esac
cd "$ROOT" || exit 1

# The dashboard's version: the first `version = "…"` of the [package] table of the root Cargo.toml.
version="$(awk '/^\[/ { in_package = ($0 == "[package]") }
  in_package && /^version *=/ { v = $0; sub(/^version *= *"/, "", v); sub(/".*$/, "", v); print v; exit }' Cargo.toml)"
if [ -z "$version" ]; then
  echo "bundle: no version in the [package] table of $ROOT/Cargo.toml" >&2
  exit 1
fi
name="stepline-$version-linux-$(uname -m)"

release="$CARGO_TARGET_DIR/release"
pkg="$LEPTOS_SITE_ROOT/$LEPTOS_SITE_PKG_DIR"
if [ "$build" = 1 ]; then
  log "building the release site and binaries (as make run and scripts/test.sh do)"
  build_release_site
  cargo build --release --workspace --bins
fi
# Hashed file names (cargo-leptos's `hash-files`, or LEPTOS_HASH_FILES, which it reads too): the JS, wasm and
# CSS are named after their content and hash.txt, beside the server binary, names them.
hashed="${LEPTOS_HASH_FILES:-$(awk '/^\[/ { in_leptos = ($0 == "[[workspace.metadata.leptos]]") }
  in_leptos && /^hash-files *= *true/ { print "true"; exit }' Cargo.toml)}"
missing=()
for f in "$release/stepline" "$release/stepline-emulator"; do
  if [ ! -x "$f" ]; then missing+=("$f"); fi
done
hashes=()
if [ "$hashed" = true ]; then
  if [ -f "$release/hash.txt" ]; then
    for ext in js wasm css; do
      hash="$(awk -v kind="$ext" -F': *' '$1 == kind { sub(/[ \t\r]+$/, "", $2); print $2; exit }' "$release/hash.txt")"
      if [ -z "$hash" ] || [ ! -f "$pkg/$LEPTOS_OUTPUT_NAME.$hash.$ext" ]; then
        why="the $ext file that $release/hash.txt names (${hash:-none}) in $pkg"
        missing+=("$why: the site and the binary are from different builds")
      fi
      hashes+=("$hash")
    done
  else
    missing+=("$release/hash.txt")
  fi
else
  for ext in js wasm css; do
    if [ ! -f "$pkg/$LEPTOS_OUTPUT_NAME.$ext" ]; then missing+=("$pkg/$LEPTOS_OUTPUT_NAME.$ext"); fi
  done
fi
if [ "${#missing[@]}" -gt 0 ]; then
  printf 'bundle: missing %s\n' "${missing[@]}" >&2
  echo "bundle: build first (scripts/bundle.sh without --no-build, or make run)" >&2
  exit 1
fi

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/stepline/bin" "$stage/stepline/site"
cp "$release/stepline" "$release/stepline-emulator" "$stage/stepline/bin/"
cp -R "$LEPTOS_SITE_ROOT/." "$stage/stepline/site/"
if [ "$hashed" = true ]; then
  # Leptos reads hash.txt beside the binary that runs (and Stepline turns hashing on when it is there).
  cp "$release/hash.txt" "$stage/stepline/bin/"
  # Hashed files of earlier builds may linger in the site: only this build's go in (and their .br, .gz).
  for f in "$stage/stepline/site/$LEPTOS_SITE_PKG_DIR/$LEPTOS_OUTPUT_NAME".*; do
    [ -e "$f" ] || continue
    rest="${f##*/}"
    rest="${rest#"$LEPTOS_OUTPUT_NAME".}"
    hash="${rest%%.*}"
    if [ "${#hash}" -eq 22 ] && [[ " ${hashes[*]} " != *" $hash "* ]]; then rm -f "$f"; fi
  done
fi
chmod -R u=rwX,go=rX "$stage/stepline"

# The same inputs give the same bytes: names sorted, no owners, every time the last commit's.
mtime="${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || date +%s)}"
mkdir -p "$outdir"
tarball="$outdir/$name.tar.gz"
tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$mtime" -cf - stepline \
  | gzip -9 -n > "$tarball.partial"
mv "$tarball.partial" "$tarball"
log "bundle written ($(du -h "$tarball" | cut -f1)); build the image from the repository's root with"
echo "    docker build -f deploy/Dockerfile --build-arg BUNDLE=${tarball#"$ROOT"/} ."
echo "$tarball" >&3
