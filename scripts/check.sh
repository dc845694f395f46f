# shellcheck shell=bash
# What the scripts that test by hand share (sourced): `check WHAT COMMAND…` runs COMMAND, says "ok: WHAT" or
# "FAILED: WHAT", and counts both in `passed` and `failed`.
passed=0
failed=0
check() {
  local what="$1"; shift
  if "$@"; then
    echo "ok: $what"
    passed=$((passed + 1))
  else
    echo "FAILED: $what"
    failed=$((failed + 1))
  fi
}
