#!/usr/bin/env bash
# Everything a lent GPU machine is needed for, in as few calls as its 10-minute limit allows.
#
# 1. Here, on the CPU machine, once per session (the GPU machine has no registry):
#        bash benchmarks/gpu_session.sh --prepare
#    puts the wheels the GPU machine lacks (torch-lr-finder, mnist1d) into .whl/, which git
#    ignores, and prints the commit to pass on.
# 2. On the GPU machine (the device tool's run, carry [".whl"], from the repository root):
#        SUPERCONVERGE_GIT_COMMIT=<commit> bash benchmarks/gpu_session.sh [STAGE ...]
#    STAGE: env, cuda-tests, a, b, c (the parts of benchmarks/gpu.py), suite (the whole test
#    suite, on a machine where CUDA is the default device). Default: env cuda-tests a b c.
#    Everything lands in $OUT (the device tool's folder that comes back; else ./gpu-session):
#    env.txt, cuda-tests.log, gpu.md (rewritten after every part), gpu-<parts>.log, suite.log.
#    With only some parts, the file is gpu-<parts>.md. If a call runs out of time, the file
#    still holds the parts that finished: run the rest in a second call (`... gpu_session.sh c`).
# 3. Back here, combine the calls' files into the committed results:
#        python benchmarks/gpu.py --merge gpu-a.md gpu-bc.md --out benchmarks/results/gpu.md
set -uo pipefail

if [[ "${1:-}" == "--prepare" ]]; then
    cd "$(git rev-parse --show-toplevel)" || exit 1
    grep -qxF "/.whl/" .git/info/exclude 2>/dev/null || echo "/.whl/" >> .git/info/exclude
    python3 -m pip download -q --no-deps --only-binary=:all: -d .whl \
        torch-lr-finder==0.2.2 mnist1d==0.0.2.post1 || exit 1
    ls .whl
    echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' (uncommitted changes)')"
    exit 0
fi

out="${OUT:-gpu-session}"
mkdir -p "$out"
stages=("$@")
[[ ${#stages[@]} -eq 0 ]] && stages=(env cuda-tests a b c)
stamp() { echo "[$(date -u +%H:%M:%S)] $*"; }

if compgen -G ".whl/*.whl" > /dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH="/tmp/site"
fi
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

parts=""
status=0
for stage in "${stages[@]}"; do
    case "$stage" in
        env)
            stamp "env"
            { date -u; nvidia-smi; python3 -c "import platform, torch
print('python', platform.python_version(), 'torch', torch.__version__, 'CUDA', torch.version.cuda,
      'cuDNN', torch.backends.cudnn.version())
print(torch.cuda.get_device_name() if torch.cuda.is_available() else 'no CUDA device')"
              python3 -m pip list 2>/dev/null | grep -iE "^(torch|triton|numpy|lightning|torch-lr-finder|mnist1d) "
            } > "$out/env.txt" 2>&1
            cat "$out/env.txt" ;;
        cuda-tests)
            stamp "tests/test_cuda.py and the docs' examples"
            python3 -m pytest -p no:cacheprovider -q -rs -m cuda tests/test_cuda.py \
                2>&1 | tee "$out/cuda-tests.log" || status=1
            python3 -m pytest -p no:cacheprovider -q tests/test_docs.py \
                2>&1 | tee -a "$out/cuda-tests.log" || status=1 ;;
        suite)
            stamp "the whole test suite"
            python3 -m pytest -p no:cacheprovider -q -rs 2>&1 | tee "$out/suite.log" || status=1 ;;
        a|b|c) [[ "$parts" == *"$stage"* ]] || parts+="$stage" ;;
        *) echo "unknown stage: $stage (env, cuda-tests, a, b, c, suite)" >&2; exit 2 ;;
    esac
done

if [[ -n "$parts" ]]; then
    parts=$(echo "$parts" | fold -w1 | sort | tr -d '\n')  # "c b a" runs as abc: gpu.md
    skip=$(echo abc | tr -d "$parts" | sed 's/./&,/g; s/,$//')
    name="gpu.md"
    [[ "$parts" != "abc" ]] && name="gpu-$parts.md"
    stamp "benchmarks/gpu.py, parts $parts"
    python3 benchmarks/gpu.py ${skip:+--skip "$skip"} --out "$out/$name" \
        2>&1 | tee "$out/gpu-$parts.log" || status=1
fi
stamp "done (status $status)"
exit $status
