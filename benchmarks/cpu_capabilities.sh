#!/usr/bin/env bash
# The test suite under each CPU vector unit and thread setting: the reproducibility contract
# (README, "Reproducibility") says results agree within the golden tables' tolerances across
# machines; this runs the suite as another machine would and prints pass/fail counts per setting.
#
#   bash benchmarks/cpu_capabilities.sh                       # the whole suite, four times
#   bash benchmarks/cpu_capabilities.sh tests/test_result_digests.py   # only some tests
#   bash benchmarks/cpu_capabilities.sh --ci   # what CI runs before the plain suite: the golden
#       tables and the float-sensitive tests under the three settings other than the native one
#
# Settings: the machine's own vector unit, ATEN_CPU_CAPABILITY=avx2, ATEN_CPU_CAPABILITY=default
# (no vector unit) and OMP_NUM_THREADS=1. Exits non-zero if any setting has a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
settings=("native" "ATEN_CPU_CAPABILITY=avx2" "ATEN_CPU_CAPABILITY=default" "OMP_NUM_THREADS=1")
if [ "${1:-}" = "--ci" ]; then
    shift
    settings=("${settings[@]:1}")  # the native run is the plain suite that follows in CI
    set -- tests/test_result_digests.py tests/test_losses.py tests/test_ntk_kernel.py \
        tests/test_margin_closed_forms.py tests/test_engine.py tests/test_determinism.py "$@"
fi
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(tests)
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs); cores: $(nproc)"
echo "torch: $($PY -c 'import torch; print(torch.__version__, torch.backends.cpu.get_cpu_capability())')"
status=0
summary=()
for setting in "${settings[@]}"; do
    env_args=()
    [ "$setting" != "native" ] && env_args=("$setting")
    start=$(date +%s)
    line=$(env "${env_args[@]}" $PY -m pytest -q -p no:cacheprovider "${targets[@]}" 2>&1 | tail -1)
    line=${line//=/}  # pytest's closing line without its rule of '=' signs
    summary+=("$setting: ${line# } ($(( $(date +%s) - start )) s; load $(cut -d' ' -f1 /proc/loadavg))")
    echo "${summary[-1]}"
    case "$line" in *failed*|*error*|"") status=1 ;; *passed*) ;; *) status=1 ;; esac
done
echo "--- summary"
printf '%s\n' "${summary[@]}"
exit $status
