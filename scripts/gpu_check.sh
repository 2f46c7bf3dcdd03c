#!/usr/bin/env bash
# GPU check of the trainer (issue 5), for a session that has a GPU machine.
# Under 5 minutes: builds the compiled core for that machine's Python if
# needed (about a minute on 16 cores), then runs scripts/gpu_check.py, which
# times the official NB201 network (fp32 eager vs AMP + channels_last vs
# + torch.compile, batch 256) and a short training run through Trainer, and
# writes the figures with the card's name into reports/perf.md (and, when
# $OUT is set, into $OUT/gpu_check.json and $OUT/perf.md).
#
#   bash scripts/gpu_check.sh            # on the GPU machine
#   bash scripts/gpu_check.sh --smoke    # anywhere: tiny sizes on the CPU, no report
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PYTHONUNBUFFERED=1
PY="${PYTHON:-python3}"

if ! "$PY" -c "import nasbench_suite._core" 2>/dev/null; then
    echo "+ building nasbench_suite._core for $("$PY" --version)"
    "$PY" setup.py -q build_ext --inplace -j "$(nproc)" >/dev/null
fi
"$PY" -c "import torch; print('torch', torch.__version__, '| GPU:', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none')"
"$PY" -c "import sklearn" 2>/dev/null || echo "warning: scikit-learn missing: the digits run will fail" >&2

args=("$@")
if [[ -n "${OUT:-}" ]]; then
    args+=(--out "$OUT/gpu_check.json")
fi
"$PY" scripts/gpu_check.py "${args[@]}"
if [[ -n "${OUT:-}" && -f reports/perf.md ]]; then
    cp reports/perf.md "$OUT/perf.md"
fi

# One-shot search (issue 16): one DARTS-V1 and one GDAS supernet epoch on
# CIFAR-10 (synthetic data of the right shape when the real files are absent).
oargs=()
for a in "$@"; do [[ "$a" == "--smoke" ]] && oargs+=(--smoke); done
if [[ -n "${OUT:-}" ]]; then
    oargs+=(--out "$OUT/gpu_check_oneshot.json")
fi
"$PY" scripts/gpu_check_oneshot.py "${oargs[@]}"
if [[ -n "${OUT:-}" && -f reports/perf.md ]]; then
    cp reports/perf.md "$OUT/perf.md"
fi
