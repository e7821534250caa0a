#!/usr/bin/env bash
# Fifteenth session, written for a later one. The benchmark's default AdamW beta2 became 0.99 (aecnn train's)
# after the pre-registered test of this session (QUALITY.md, "Fifteenth session"). Every comparison row so far
# was trained at 0.999, so this call re-trains the rows the targets read at the new default:
#   * aecnn small, spatial 512, new training seeds 61-64, checkpoints kept and sent back: the sequence stage's
#     R² against PCA latents, repeated fits on the CPU (seq_repeats.py), criterion fixed in QUALITY.md before
#     any of these trainings ran;
#   * V1 and the seed's 4x4 bottleneck at 512 (seed 0), so the +1.5 dB / +2 dB margins compare one recipe;
#   * the large preset (seed 0), whose only row (this session) is at 0.999.
# RUNS="NAME:METHOD:PRESET:SEED[:ARGS] ..." trains each at once (three at once fit one call: ~456 s on an H100 for
# small); ARGS (optional, added in the sixteenth session) are more quality.py arguments for that run alone, commas
# for spaces, placed last so they override the common ones: "r81t:aecnn-spatial:small:81:--recipe,train".
#   call A: RUNS="s61:aecnn-spatial:small:61 s62:aecnn-spatial:small:62 s63:aecnn-spatial:small:63"
#   call B: RUNS="s64:aecnn-spatial:small:64 v1:v1:small:0 seed:seed:small:0"
#   call C: RUNS="large:aecnn-spatial:large:0"   (366 s alone on an H100 at 0.999)
# Since the seventeenth session the benchmark's default recipe is aecnn train's (--recipe train); the rows of
# the calls above were trained with --recipe bench (add ",--recipe,bench" to a run's ARGS to repeat one).
# Eighteenth session's plan for the next GPU session (QUALITY.md, "Eighteenth session"): the widened drop grey levels,
#   call A: EXTRA="--synth drop_level=10,25 --synth rim_amp=20,70 --synth rim_len=3,7" RUNS="g91:aecnn-spatial:small:91 g92:aecnn-spatial:small:92 g93:aecnn-spatial:small:93"
#   then: PYTHONPATH=$PWD python3 benchmarks/grey_levels_test.py <results folder> (the rule, fixed beforehand)
# (EXTRA, not ARGS, carries --synth: ARGS turns every comma into a space, and the ranges hold commas.)
# Nineteenth session: that test came out for the widened levels, the generator's default since 595e4ca; on a later
# commit the same runs need no EXTRA, and the eighteenth session's rows need the earlier levels:
#   EXTRA="--synth drop_level=12,21 --synth rim_amp=28,50 --synth rim_len=3,5.5"
# DEVICE, IMAGES and EXTRA exist for a CPU rehearsal: DEVICE=cpu IMAGES=64 EXTRA="--train-sequences 4 --val-sequences 4 --no-real" ...
# Usage on the device (repository root, $OUT set): COMMIT=<HEAD> RUNS="..." bash benchmarks/quality_calls/2026-12-06-call20.sh
# Each call writes to a fresh /tmp/q20.XXXX, so a warm machine's earlier call is not sent back twice (as call 18's was).
set -uo pipefail
export PYTHONPATH=$PWD:$PWD/.whl/pytorch_msssim-1.0.0-py3-none-any.whl PYTHONUNBUFFERED=1
W=$(mktemp -d /tmp/q20.XXXX)
LIMIT=${LIMIT:-575}
T0=$SECONDS
C="--device ${DEVICE:-cuda} --real-dir .device_data/droplet_frames --images-seen ${IMAGES:-391168} --commit ${COMMIT:?} --no-figures --kinds crop --latents 512 --seconds-methods --seq-workers 5 --deadline $((LIMIT - 15)) ${EXTRA:-}"
# the run's own arguments come last, so they override $C (e.g. ARGS "--seconds-methods,v1" over C's bare flag)
q() { local name=$1; shift; timeout --signal=INT --kill-after=10 $LIMIT python3 benchmarks/quality.py --out $W/$name --save-models $W/models/$name $C "$@" > $OUT/$name.log 2>&1; echo "$name rc=$? at $((SECONDS - T0)) s" >> $OUT/log.txt; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader >> $OUT/log.txt
for run in ${RUNS:?}; do
  IFS=: read -r name method preset seed args <<< "$run"
  q $name --methods $method --preset $preset --train-seed $seed --beta2 ${BETA2:-0.99} ${args//,/ } &
done
wait
tar -C $W --exclude models -czf $OUT/results.tgz .
# each aecnn checkpoint as its own file (small: ~5 MB; at most 8 files come back, 16 MiB each: three runs
# bring log.txt, results.tgz, three logs and three checkpoints; large's ~77 MB stays on the machine).
# A run's crop checkpoint at 512 comes back as RUN.pt (as before); since the twentieth session its other
# aecnn checkpoints (strips, 2048, 128: none came back then) as RUN-<file>.pt.
for f in $W/models/*/*-aecnn-*-images.pt; do
  [ -e "$f" ] && [ $(stat -c %s $f) -lt 16000000 ] || continue
  run=$(basename $(dirname $f))
  case $(basename $f) in crop-aecnn-spatial-L512-images.pt) cp $f $OUT/$run.pt ;; *) cp $f $OUT/$run-$(basename $f) ;; esac
done
echo "done at $((SECONDS - T0)) s" >> $OUT/log.txt
