#!/usr/bin/env bash
# Runs the Bun suite N times in a row (default 20) and counts crashes
# (a signal or a non-zero exit) and hangs (a run over 5 minutes).
set -u
cd "$(dirname "$0")/.."
n=${1:-20}
crashes=0 hangs=0 failures=0
for i in $(seq 1 "$n"); do
  timeout --signal=KILL 300 node_modules/.bin/bun test --timeout 30000 tests/ >"build/repeat-$i.log" 2>&1
  rc=$?
  if [ $rc -eq 137 ]; then hangs=$((hangs + 1)); echo "run $i: HANG"
  elif [ $rc -gt 128 ]; then crashes=$((crashes + 1)); echo "run $i: CRASH (signal $((rc - 128)))"
  elif [ $rc -ne 0 ]; then failures=$((failures + 1)); echo "run $i: FAILED (see build/repeat-$i.log)"
  else echo "run $i: ok"; rm -f "build/repeat-$i.log"; fi
done
echo "runs=$n crashes=$crashes hangs=$hangs failures=$failures"
[ $((crashes + hangs + failures)) -eq 0 ]
