#!/usr/bin/env bash
# The test suite as CI runs it (`CI=true make test`, a clean clone each time) beside a CPU hog, N times in
# a row, stopping at the first failure: does the suite hold on a busy 2-core machine, and how long does it
# take there? Usage, from the repo root: bash benchmarks/suite_beside_hog.sh [COMMIT] [N]   (~40 min a run)
# Prints one line per run (commit, exit code, seconds, pytest's last line); logs in $TMPDIR/suite-hog-*.log.
set -u
REPO=$PWD; C=${1:-HEAD}; N=${2:-3}; TMP=${TMPDIR:-/tmp}
C=$(git -C "$REPO" rev-parse --short "$C") || exit 2
for i in $(seq 1 "$N"); do
  dir=$TMP/suite-hog-$i; log=$TMP/suite-hog-$i.log
  rm -rf "$dir"; git clone -q "$REPO" "$dir" && git -C "$dir" checkout -q "$C" || exit 2
  python3 -c "while True: pass" & hog=$!
  start=$(date +%s)
  (cd "$dir" && CI=true make test) > "$log" 2>&1; rc=$?
  end=$(date +%s)
  kill "$hog"
  echo "run $i commit $C rc=$rc $((end - start)) s: $(grep -E '(passed|failed)' "$log" | tail -2 | tr '\n' ' ')"
  rm -rf "$dir"
  [ "$rc" = 0 ] || exit "$rc"
done
