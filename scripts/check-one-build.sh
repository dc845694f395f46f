#!/usr/bin/env bash
# Checks that the builds of the two README commands compile the server's dependencies once: every dependency
# unit (crate, target, features, profile) that cargo-leptos's server build or `cargo build --bins` needs is one
# that `cargo test` builds too. A dev-dependency that turns on a feature of a shared crate (proptest turning on
# bitflags' `std`, say) makes cargo compile that crate again with everything above it, the AWS SDK included;
# this names the crate and the features, so the pin in Cargo.toml can follow.
#
# Reads cargo's unit graph (a plan: nothing is compiled, it takes seconds). The flag is unstable, so
# RUSTC_BOOTSTRAP lets this one read-only cargo call use it on the stable toolchain.
# shellcheck source=env.sh
source "$(dirname "$0")/env.sh"
cd "$ROOT" || exit 1
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

graph() { # NAME CARGO-ARGS…: writes NAME.json
  local name="$1"; shift
  if ! RUSTC_BOOTSTRAP=1 cargo "$@" --unit-graph -Z unstable-options > "$work/$name.json" 2> "$work/$name.err"; then
    cat "$work/$name.err" >&2
    echo "cargo $* --unit-graph failed" >&2
    exit 1
  fi
}
graph test test --release --workspace --no-run
# What cargo-leptos 0.3 runs for the server (bin-features and bin-default-features in Cargo.toml).
graph leptos build --release --package stepline --bin stepline
graph bins build --release --workspace --bins

python3 - "$work" <<'PY'
import json, sys

def units(path):
    """Dependency units (not the workspace's own crates) as comparable keys."""
    out = set()
    for u in json.load(open(path))["units"]:
        if u["pkg_id"].startswith("path+file"):
            continue
        out.add((u["pkg_id"].split("#")[-1], u["target"]["name"], u["mode"], u.get("platform") or "host",
                 ",".join(sorted(u["features"])), json.dumps(u["profile"], sort_keys=True)))
    return out

work = sys.argv[1]
test = units(f"{work}/test.json")
by_crate = {}
for key in test:
    by_crate.setdefault(key[:4], set()).add(key[4])
bad = 0
for other, what in (("leptos", "cargo-leptos's server build"), ("bins", "cargo build --bins")):
    for key in sorted(units(f"{work}/{other}.json") - test):
        bad += 1
        tested = sorted(by_crate.get(key[:4], {"(not built)"}))
        print(f"{what} compiles {key[0]} ({key[1]}, {key[2]}) with features [{key[4]}]; cargo test with {tested}")
if bad:
    print(f"{bad} dependency units would compile twice: pin their features in Cargo.toml")
    sys.exit(1)
print(f"one build: all {len(test)} dependency units of cargo test serve the server's builds too")
PY
