#!/usr/bin/env bash
# Cold-start proxy of the Lambda package: publishes the Functions app as Lambda gets it (framework-dependent,
# linux-<arch>) in each variant, then starts each build RUNS times and measures process start -> first 200 from
# GET /health, which is what the Lambda Web Adapter waits for before it hands over the first event.
#
#   bench/cold-start/run.sh [RUNS]        (default 20; RID defaults to this machine's, e.g. linux-x64)
#
# Variants: plain (JIT only), r2r (ReadyToRun, what the build publishes), aot (Native AOT, attempted; reported
# as not buildable when it fails). /health touches no table or queue, so no emulator is needed; the process gets
# the environment a function has on Lambda apart from table and queue names.
set -euo pipefail

RUNS="${1:-20}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
RID="${RID:-linux-$(uname -m | sed -e 's/x86_64/x64/' -e 's/aarch64/arm64/')}"
OUT="${OUT:-$(mktemp -d -t orderprocessing-cold-start.XXXXXX)}"
PROJECT="$ROOT/src/Functions/OrderProcessing.Functions.csproj"

publish() { # name, extra msbuild properties...
  local name="$1"; shift
  echo "publishing $name ($RID)..." >&2
  if dotnet publish "$PROJECT" -c Release -r "$RID" -o "$OUT/$name" "$@" >"$OUT/$name.log" 2>&1; then
    echo "$OUT/$name"
  else
    echo "  $name did not build; see $OUT/$name.log" >&2
  fi
}

builds=()
dir="$(publish plain -p:PublishReadyToRun=false)" && [ -n "$dir" ] && builds+=("plain=$dir")
dir="$(publish r2r -p:PublishReadyToRun=true)" && [ -n "$dir" ] && builds+=("r2r=$dir")
# AOT warnings would fail the build (warnings are errors); let them through to see whether it links and runs at all.
dir="$(publish aot -p:PublishAot=true -p:SelfContained=true -p:PublishReadyToRun=false -p:TreatWarningsAsErrors=false)" && [ -n "$dir" ] && builds+=("aot=$dir")

python3 "$ROOT/bench/cold-start/measure.py" "$RUNS" "${builds[@]}"
