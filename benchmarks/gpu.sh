#!/usr/bin/env bash
# The performance suite on one GPU, in under 8 minutes (issue 17): pc_sample vs a hand-fused scan (float32 and
# float64), the scaling grid with its bandwidth estimate, the PF-ODE sampler and likelihood vs scipy RK45, and the
# training step vs hand-written loops. JSON (machine, versions, nvidia-smi) in benchmarks/results/gpu/.
#
#   benchmarks/gpu.sh                 # on a GPU machine: refuses to run on CPU
#   benchmarks/gpu.sh --cpu-smoke     # tiny sizes on CPU (seconds): checks the script end to end
#   benchmarks/gpu.sh --out DIR       # write the JSON to DIR
#
# PYTHON runs it: default .venv/bin/python where that exists, else python3 (the lent H200's image has python3 3.12
# with jax[cuda13], diffrax, equinox, optax, jaxtyping, scipy and matplotlib: no install, the repository root on
# PYTHONPATH). LIMIT_S (default 470) caps the whole run. On the `device` tool: run(command="benchmarks/gpu.sh --out $OUT"),
# then copy the JSON it brings back into benchmarks/results/gpu/.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .venv/bin/python ]; then default_python=.venv/bin/python; else default_python=python3; fi
PYTHON="${PYTHON:-$default_python}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # scoresde_ref importable without an install
MODE=gpu
OUT=benchmarks/results/gpu
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu-smoke) MODE=cpu-smoke; OUT=benchmarks/results/cpu_smoke ;;
    --out) OUT="$2"; shift ;;
    *) echo "gpu.sh: unknown argument $1 (use --cpu-smoke, --out DIR)" >&2; exit 2 ;;
  esac
  shift
done
if [ "$MODE" = cpu-smoke ]; then
  export JAX_PLATFORMS=cpu
else
  backend="$("$PYTHON" -c 'import jax; print(jax.default_backend())')"
  if [ "$backend" != gpu ]; then
    echo "gpu.sh: jax's default backend is $backend, not gpu (run with --cpu-smoke on CPU)" >&2
    exit 3
  fi
  export XLA_PYTHON_CLIENT_PREALLOCATE=false  # device memory_stats then show what the computations hold
fi
mkdir -p "$OUT"
exec timeout "${LIMIT_S:-470}" "$PYTHON" benchmarks/run_suite.py --mode "$MODE" --out "$OUT"
