#!/usr/bin/env bash
# The test suite under each CPU vector unit and thread setting: the reproducibility contract
# (README, "Reproducibility") says results agree within the golden tables' tolerances across
# machines; this runs the suite as another machine would and prints pass/fail counts per setting.
#
#   bash benchmarks/cpu_capabilities.sh                       # the whole suite, four times
#   bash benchmarks/cpu_capabilities.sh tests/test_result_digests.py   # only some tests
#
# Settings: the machine's own vector unit, ATEN_CPU_CAPABILITY=avx2, ATEN_CPU_CAPABILITY=default
# (no vector unit) and OMP_NUM_THREADS=1. Exits non-zero if any setting has a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(tests)
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs); cores: $(nproc)"
echo "torch: $($PY -c 'import torch; print(torch.__version__, torch.backends.cpu.get_cpu_capability())')"
status=0
summary=()
for setting in "native" "ATEN_CPU_CAPABILITY=avx2" "ATEN_CPU_CAPABILITY=default" "OMP_NUM_THREADS=1"; do
    env_args=()
    [ "$setting" != "native" ] && env_args=("$setting")
    start=$(date +%s)
    line=$(env "${env_args[@]}" $PY -m pytest -q -p no:cacheprovider "${targets[@]}" 2>&1 | tail -1)
    summary+=("$setting: $line ($(( $(date +%s) - start )) s; load $(cut -d' ' -f1 /proc/loadavg))")
    echo "${summary[-1]}"
    case "$line" in *failed*|*error*|"") status=1 ;; *passed*) ;; *) status=1 ;; esac
done
echo "--- summary"
printf '%s\n' "${summary[@]}"
exit $status
