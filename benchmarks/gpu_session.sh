#!/usr/bin/env bash
# Everything a lent GPU machine is needed for, in one call of the device tool.
#
# The budget (device README): 15 minutes of device time a session, starts and idle waits
# included, at most 10 minutes a command, and a machine goes back 30 s after a call. So plan on
# one call with timeout_s 590, the stages ordered by what matters most: if the time runs out,
# $OUT still holds every stage that finished.
#
# 1. Here, on the CPU machine, once per session (the GPU machine has no registry):
#        bash benchmarks/gpu_session.sh --prepare
#    puts the wheels the GPU machine lacks (torch-lr-finder, mnist1d) into .whl/, which git
#    ignores, and prints the commit to pass on.
# 2. On the GPU machine (the device tool's run, carry [".whl"], from the repository root):
#        SUPERCONVERGE_GIT_COMMIT=<commit> bash benchmarks/gpu_session.sh [STAGE ...]
#    STAGE, run in the order given: env; a, b, c (the parts of benchmarks/gpu.py, each in a
#    process of its own with its own cap; letters written together, "ab", share one process
#    and the sum of their caps); cuda-tests (tests/test_cuda.py and the docs' examples);
#    overhead (benchmarks/engine_overhead.py: what the range test adds to the steps, taken
#    apart, so a (b) ratio above its goal points at its cause); repeats
#    (benchmarks/range_test_repeats.py: (b)'s small CNN fp32 row over 20 repeats, which its
#    best of 5 is too noisy to show; REPEATS_ARGS adds arguments, e.g. `--repeats 30`; a
#    stage stopped at its cap writes the whole repeats it finished, marked "Cut short");
#    suite (the whole test suite).
#    Default: env a b cuda-tests, which is the two goals first (each with its own cap, so a
#    slow compile in (a) cannot eat (b)), then the correctness checks (what only a GPU shows,
#    and what a later session can fix on the CPU). The training comparison (c, the issue's
#    third figure) does not fit beside them in one call: run it in a second call at once,
#    while the machine is still warm, with the repeats of (b)'s small CNN (`c repeats`; see
#    --prepare's printout), and the breakdown (`overhead`) likewise where (b) missed its goal. The default stages' caps add up to the
#    deadline, so each stage gets its whole cap however long the ones before it took, less
#    what the wheels' install took (seconds) and the up to 20 s a stopped stage is given to
#    end: those come off the last stage's time.
#    Everything lands in $OUT (the device tool's folder that comes back; else ./gpu-session,
#    where each stage replaces its own file and keeps the others, for --merge):
#    session.log (all output, each stage stamped with the seconds since the start), env.txt,
#    cuda-tests.log, suite.log, engine-overhead.md, range-test-repeats.md, and the results: gpu.md when a, b and c
#    all ran in this call (merged from the gpu-<letters>.md of its processes when they ran in
#    several, which then go: the device tool brings back at most 8 files), else
#    gpu-<letters>.md.
#    gpu.py rewrites its file after every part, so a call cut short keeps the parts it finished.
#    GPU_ARGS adds arguments to every gpu.py run; `GPU_ARGS="--device cpu --smoke"` checks this
#    script on a CPU (tests/test_gpu_benchmark.py does); OVERHEAD_ARGS likewise to
#    engine_overhead.py (`--quick`), REPEATS_ARGS to range_test_repeats.py (`--device cpu
#    --quick`).
#    Time: every stage stops (SIGINT, which gpu.py and pytest answer by keeping what they have)
#    at its cap or at the call's deadline, whichever comes first, so one slow stage cannot eat
#    the ones after it: SESSION_SECONDS (default 525, under the call's 590: a stage stopped at
#    the deadline has 20 s to end, then the merge, 9 s on the H200) counts from the script's
#    start (with less device time left than 590 s, lower the call's timeout_s and
#    SESSION_SECONDS, 65 s under it, together); caps in seconds: env 15, a 175, b 235,
#    cuda-tests 100 (525 in all), and, run where named, c 150, repeats 90, overhead 120 and
#    suite 400 (each cut to what the deadline leaves); CAPS="repeats=200 a=240" sets others
#    (e.g. for `REPEATS_ARGS="--repeats 60"`, about 200 s). Each stage's whole time (its process's start
#    included) on an H200 on 2026-12-04, from 025f259, with the caps then (env 20, a 160,
#    b 130, cuda-tests 120, c 80, overhead 30, in one call): env 8; a 144; b stopped at 130
#    after 6 of its 8 rows (about 175 needed, and about 15 more since the small CNN's repeats
#    went from 3 to 5); cuda-tests 75; c stopped at 80, and about 127 in a call of its own;
#    overhead stopped at 30 after 2 of its first section's 7 repeats. Beyond its command, a
#    call on a machine that had to start took about 35 s there and one on the warm machine
#    about 10 s, out of the session's 15 minutes of device time; a first machine taken back
#    for other work before its call finished had cost 126 s. The second session's (H200,
#    2026-12-04, from 30b5cfa, the caps above): env 7; a with `GPU_ARGS="--optimizers SGD
#    --compile-runs 3"` stopped at 175 s during its third run (a run of both sides took about
#    55 s there, so 3 runs need about 180 s: ask for 2, 102 s in a call of its own); b 194 at
#    5 repeats; cuda-tests 66; repeats about 75 (its first version, with one more runner, in a
#    call of its own: 78 s with the wheels' install).
#    gpu.py writes its file after each row of (a) and (b) and each epoch of (c), so a stage
#    cut short keeps what it measured (marked "Cut short"), as does a part whose later row
#    raised (marked "Failed part-way", the error after its rows).
# 3. Back here, copy gpu.md to benchmarks/results/gpu.md; or combine the files of several calls:
#        python benchmarks/gpu.py --merge gpu-a.md gpu-b.md gpu-c.md --out benchmarks/results/gpu.md
#    engine-overhead.md to benchmarks/results/engine_overhead_gpu.md, and range-test-repeats.md
#    to the name range_test_repeats.py gives its own results: benchmarks/results/
#    range_test_repeats_cuda.md for the small CNN in fp32, range_test_repeats_cuda_resnet56.md
#    for `--model resnet56` (and a precision other than fp32 adds its own suffix, e.g.
#    `_bf16-autocast`), so a ResNet-56 run does not replace the small CNN's file.
#    The repeats of `--model resnet56` take about 21 s each on an H200: its median's 95%
#    interval needs 6 repeats, so give the stage a call of its own with
#    `CAPS="repeats=260" REPEATS_ARGS="--model resnet56 --repeats 10"` (about 10 repeats; the
#    default cap, 90 s, holds about 3, which decide nothing).
set -uo pipefail

if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then
    # the header above, without its "#"s
    sed -n '2,/^set -uo pipefail/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
    exit 0
fi

if [[ "${1:-}" == "--prepare" ]]; then
    cd "$(git rev-parse --show-toplevel)" || exit 1
    exclude="$(git rev-parse --git-path info/exclude)"  # .git is a file in a worktree
    mkdir -p "$(dirname "$exclude")"
    if ! grep -qxF "/.whl/" "$exclude" 2>/dev/null; then
        # on a line of its own, also after a last line the file did not end
        [[ -s "$exclude" && -n "$(tail -c1 "$exclude")" ]] && echo >> "$exclude"
        echo "/.whl/" >> "$exclude"
    fi
    python3 -m pip download -q --no-deps --only-binary=:all: -d .whl \
        torch-lr-finder==0.2.2 mnist1d==0.0.2.post1 || exit 1
    ls .whl
    # as benchmarks/_common.py's git_commit() names it: untracked files count (the device
    # tool carries them), its UNMEASURED_PATHS (results files, wheels, gpu-session/) do not
    commit="$(git rev-parse --short HEAD)"
    [[ -n "$(git status --porcelain -- ':/' ':(exclude,top)benchmarks/results' \
                 ':(exclude,top).whl' ':(exclude,top)gpu-session')" ]] &&
        commit="$commit (uncommitted changes)"
    echo "commit: $commit"
    # where the copy on the GPU machine has no .git, the results name the commit passed on; .whl/
    # travels only where the call carries it
    echo "run there (the device tool's run):"
    echo "  command: SUPERCONVERGE_GIT_COMMIT='$commit' bash benchmarks/gpu_session.sh"
    echo "  carry: [\".whl\"]   timeout_s: 590 (with less device time left, lower it and" \
         "SESSION_SECONDS=<timeout_s - 65> together)"
    echo "then at once, while the machine is warm (part (c), the training comparison, and the"
    echo "repeats of (b)'s small CNN):"
    echo "  command: SUPERCONVERGE_GIT_COMMIT='$commit' bash benchmarks/gpu_session.sh c repeats"
    echo "  timeout_s: 290, or less where status says less device time is left (a warm call"
    echo "  costs about 10 s beyond its command), with SESSION_SECONDS=<timeout_s - 40>"
    exit 0
fi

stages=("$@")
[[ ${#stages[@]} -eq 0 ]] && stages=(env a b cuda-tests)
for stage in "${stages[@]}"; do
    case "$stage" in
        env|cuda-tests|overhead|repeats|suite) ;;
        *) [[ "$stage" =~ ^[abc]+$ ]] || {
               echo "unknown stage: $stage (env, a, b, c or letters together such as ab," \
                    "cuda-tests, overhead, repeats, suite)" >&2; exit 2; } ;;
    esac
done
declare -A cap=([env]=15 [a]=175 [b]=235 [cuda-tests]=100 [c]=150 [repeats]=90 [overhead]=120 [suite]=400)
read -r -a cap_settings <<< "${CAPS:-}"  # "stage=seconds ..." (read: no glob expansion)
for setting in ${cap_settings[@]+"${cap_settings[@]}"}; do
    cap_stage=${setting%%=*} seconds=${setting#*=}
    # seconds: a whole number from 10 (a stage with less is skipped), no leading 0 (octal)
    if [[ "$setting" != *=* || ! "$cap_stage" =~ ^[a-z-]+$ || -z "${cap[$cap_stage]+set}" \
          || ! "$seconds" =~ ^[1-9][0-9]+$ ]]; then
        echo "CAPS: '$setting' is not <stage>=<seconds> (10 or more) for a stage of:" \
             "${!cap[*]}" >&2
        exit 2
    fi
    cap[$cap_stage]=$seconds
done
out="${OUT:-gpu-session}"
mkdir -p "$out"
# A reused OUT (this script's default) keeps what earlier calls wrote, for --merge: each stage
# replaces its own file when it runs, and an earlier gpu.md this call does not replace is said
# at the end.
earlier_gpu_md=$([[ -f "$out/gpu.md" ]] && echo 1)
exec > >(tee -a "$out/session.log") 2>&1
tee_pid=$!
began=$SECONDS
# On a line of its own even after output that did not end its line (nanobind leak reports at exit)
stamp() { printf "\n[%s, +%d s] %s\n" "$(date -u +%H:%M:%S)" "$((SECONDS - began))" "$*"; }
# Split as a shell would, quotes kept ('--precision "bf16 autocast"': read -a split it in two),
# with no expansion of what is in them.
split_args() { python3 -c 'import shlex, sys; sys.stdout.write("".join(a + "\0" for a in shlex.split(sys.argv[1])))' "$1"; }
mapfile -d '' -t gpu_args < <(split_args "${GPU_ARGS:-}")
mapfile -d '' -t overhead_args < <(split_args "${OVERHEAD_ARGS:-}")
mapfile -d '' -t repeats_args < <(split_args "${REPEATS_ARGS:-}")

if compgen -G ".whl/*.whl" > /dev/null; then
    # A folder of this run's own (not a fixed /tmp/site other runs share), before any path the
    # caller set
    site=$(mktemp -d "${TMPDIR:-/tmp}/superconverge-site.XXXXXX") || exit 1
    trap 'rm -rf "$site"' EXIT
    # Both are optional (torch-lr-finder is one column of (b), mnist1d a dataset of the tests):
    # a failed install costs those, not the call.
    if python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target "$site" .whl/*.whl; then
        export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
    else
        echo "warning: the wheels in .whl/ did not install; going on without them"
    fi
fi
# absolute: tests start python -m superconverge in other folders (the package is not installed)
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

deadline=${SESSION_SECONDS:-525}
capped() {  # $1: the stage's cap in seconds; the rest: the command, stopped at the cap/deadline
    local limit=$1 left=$((deadline - (SECONDS - began)))
    shift
    (( left < limit )) && limit=$left
    if (( limit < 10 )); then
        echo "skipped: $(( limit < 0 ? 0 : limit )) s left for it (its cap or the deadline)"
        return 1
    fi
    timeout -s INT -k 20 "$limit" "$@"
    local rc=$?
    (( rc == 124 )) && echo "stopped at its limit of $limit s"
    (( rc == 137 )) && echo "killed 20 s after its limit of $limit s (it did not stop on SIGINT)"
    return $rc
}

status=0
files=()  # the results files of this call's gpu.py runs, in order
letters=""  # the letters of the runs that wrote their file
run_parts() {  # $1: the letters of the parts to run in one process, e.g. "ab"
    local parts skip name limit=0 letter
    parts=$(echo "$1" | fold -w1 | sort -u | tr -d '\n')  # gpu.py runs them in this order
    skip=$(echo abc | tr -d "$parts" | sed 's/./&,/g; s/,$//')
    name="gpu-$parts.md"
    for letter in $(echo "$parts" | fold -w1); do limit=$((limit + cap[$letter])); done
    stamp "benchmarks/gpu.py, parts $parts"
    # a file of that name left by an earlier call is not this call's result
    rm -f "$out/$name"
    capped "$limit" python3 benchmarks/gpu.py ${skip:+--skip "$skip"} \
        ${gpu_args[@]+"${gpu_args[@]}"} --out "$out/$name" || status=1
    [[ -f "$out/$name" ]] && { files+=("$out/$name"); letters+="$parts"; }
}

run_script() {  # $1: the stage; $2: its script in benchmarks/; $3: its file in $out; the rest:
    # the script's arguments
    local stage=$1 script=$2 file=$3
    shift 3
    stamp "benchmarks/$script"
    rm -f "${out:?}/$file"  # an earlier call's is not this one's
    capped "${cap[$stage]}" python3 "benchmarks/$script" "$@" --out "$out/$file" || status=1
}

for stage in "${stages[@]}"; do
    if [[ "$stage" =~ ^[abc]+$ ]]; then
        run_parts "$stage"
        continue
    fi
    case "$stage" in
        env)
            stamp "env"
            # one cap for the whole report (a hung nvidia-smi or pip cannot take more)
            capped "${cap[env]}" bash -c 'date -u; nvidia-smi; python3 -c "import platform, torch
print(\"python\", platform.python_version(), \"torch\", torch.__version__, \"CUDA\",
      torch.version.cuda, \"cuDNN\", torch.backends.cudnn.version())
print(torch.cuda.get_device_name() if torch.cuda.is_available() else \"no CUDA device\")"
              python3 -m pip list 2>/dev/null |
                  grep -iE "^(torch|triton|numpy|lightning|torch-lr-finder|mnist1d) "' \
                > "$out/env.txt" 2>&1
            cat "$out/env.txt"
            # Without CUDA nothing after this measures a GPU: end now, and save the device time
            # (a CPU check of this script says so with GPU_ARGS="--device cpu ...").
            # (read from env.txt, where torch itself said so, under the env cap: a torch that
            # failed to import stops nothing here, and the stages after show its error)
            if ! [[ " ${GPU_ARGS:-} " =~ \ --device[=\ ]cpu ]] \
                    && grep -qx "no CUDA device" "$out/env.txt"; then
                stamp "no CUDA device: stopping, nothing after env would measure a GPU"
                status=3
                break
            fi ;;
        cuda-tests)
            stamp "tests/test_cuda.py and the docs' examples"
            began_tests=$SECONDS
            capped "${cap[cuda-tests]}" python3 -m pytest -p no:cacheprovider -q -rs -m cuda \
                tests/test_cuda.py 2>&1 | tee "$out/cuda-tests.log" || status=1
            capped $((cap[cuda-tests] - (SECONDS - began_tests))) python3 -m pytest \
                -p no:cacheprovider -q tests/test_docs.py 2>&1 | tee -a "$out/cuda-tests.log" \
                || status=1 ;;
        overhead)
            run_script overhead engine_overhead.py engine-overhead.md \
                ${overhead_args[@]+"${overhead_args[@]}"} ;;
        repeats)
            run_script repeats range_test_repeats.py range-test-repeats.md \
                ${repeats_args[@]+"${repeats_args[@]}"} ;;
        suite)
            stamp "the whole test suite"
            capped "${cap[suite]}" python3 -m pytest -p no:cacheprovider -q -rs 2>&1 \
                | tee "$out/suite.log" || status=1 ;;
    esac
done

sorted=$(echo "$letters" | fold -w1 | sort -u | tr -d '\n')
if [[ "$sorted" == "abc" ]]; then
    if [[ ${#files[@]} -eq 1 ]]; then
        mv "${files[0]}" "$out/gpu.md"
    else
        stamp "merging ${files[*]} into gpu.md"
        # The parts go once merged: the device tool brings back at most 8 files.
        if python3 benchmarks/gpu.py --merge "${files[@]}" --out "$out/gpu.md"; then
            rm -f "${files[@]}"
        else
            status=1
        fi
    fi
elif [[ -n "$earlier_gpu_md" ]]; then
    echo "note: $out/gpu.md is an earlier call's (this call did not run a, b and c); this" \
         "call's parts are in $out/gpu-<letters>.md"
fi
stamp "done (status $status)"
exec >&- 2>&-
wait "$tee_pid"  # session.log complete before the call returns
exit $status
