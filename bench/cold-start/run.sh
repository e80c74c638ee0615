#!/usr/bin/env bash
# Cold start of the Functions app in three builds, against the emulators, in one run:
#   plain  framework-dependent JIT (`dotnet publish -r linux-x64 -p:PublishReadyToRun=false`)
#   r2r    framework-dependent ReadyToRun (`dotnet publish -r linux-x64`)
#   aot    the Lambda package: Native AOT, exactly as scripts/publish-native (sam build, CI) publishes it
# Each build is started RUNS times, round-robin, and timed from process start to its first GET /health 200 and to
# its first 201 from POST /orders with a real token; then its resident memory, package size and steady-state
# POST /orders throughput at 8 clients (ORDERS orders). What is measured and how: bench/README.md, "Cold start".
#
#   bench/cold-start/run.sh [RUNS] [ORDERS]     (defaults 20 and 1000)
set -euo pipefail

RUNS="${1:-20}"
ORDERS="${2:-1000}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
RID=linux-x64
OUT="${OUT:-$(mktemp -d -t orderprocessing-cold-start.XXXXXX)}"
PROJECT="$ROOT/src/Functions/OrderProcessing.Functions.csproj"
mkdir -p "$OUT"

echo "publishing plain, r2r and aot ($RID) into $OUT..." >&2
dotnet publish "$PROJECT" -c Release -r "$RID" -p:PublishReadyToRun=false -o "$OUT/plain" >"$OUT/plain.log" 2>&1
dotnet publish "$PROJECT" -c Release -r "$RID" -o "$OUT/r2r" >"$OUT/r2r.log" 2>&1
"$ROOT/scripts/publish-native" "$OUT/aot" >"$OUT/aot.log" 2>&1

"$ROOT/scripts/ensure-emulators"
dotnet run --project "$ROOT/bench/OrderProcessing.Bench" -c Release -- cold-start --runs "$RUNS" --orders "$ORDERS" \
  "plain=$OUT/plain" "r2r=$OUT/r2r" "aot=$OUT/aot"
