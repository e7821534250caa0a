#!/usr/bin/env bash
# 2026-12-05, eighth session, device call 8: two more strip trainings (1280x152, aecnn small spatial 512,
# training seeds 2 and 3; 0.25 x 391,168 = 97,792 strips each, as call 6) to test the strip summaries on
# trainings not seen when the summary was chosen, and a fourth 512 crop training (seed 8). Three processes at
# once (training limit TRAIN_LIMIT s); then, on the same machine, strip_invariant.py on both strip checkpoints
# (the protocol in benchmarks/QUALITY.md; encoding on the GPU, LSTM fits on 7 CPU cores each).
# As run (H100, commit d98aa3e's tree plus this script): every training was cut at 321 s by TRAIN_LIMIT=380
# (strips at 255 img/s each with three processes on an H100) and the strip scores were killed by LIMIT.
# For full budgets on an H100 run the strips alone or two at once (TRAIN_LIMIT=LIMIT) and score them on the CPU.
# Usage on the device (repository root, $OUT set): COMMIT=<HEAD> LIMIT=<s> bash benchmarks/quality_calls/2026-12-05-call8.sh
set -uo pipefail
export PYTHONPATH=$PWD:$PWD/.whl/pytorch_msssim-1.0.0-py3-none-any.whl PYTHONUNBUFFERED=1
W=/tmp/q8; mkdir -p $W/logs
LIMIT=${LIMIT:-560}; TRAIN_LIMIT=${TRAIN_LIMIT:-380}
T0=$SECONDS
C="--device cuda --real-dir .device_data/droplet_frames --images-seen 391168 --commit ${COMMIT:?} --no-figures --latents 512 --methods aecnn-spatial --deadline $((TRAIN_LIMIT - 15))"
q() { local name=$1; shift; timeout --signal=INT --kill-after=10 $TRAIN_LIMIT python3 benchmarks/quality.py --out $W/$name "$@" --save-models $W/models/$name $C > $W/logs/$name.log 2>&1; echo "$name rc=$? at $((SECONDS - T0)) s" >> $OUT/log.txt; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader >> $OUT/log.txt
q o3_strip512s2 --kinds strip --train-seed 2 &
q o3_strip512s3 --kinds strip --train-seed 3 &
q o3_512s8 --kinds crop --train-seed 8 &
wait
tar -C $W --exclude models -czf $OUT/results.tgz .
cp $W/models/o3_512s8/crop-aecnn-spatial-L512-images.pt $OUT/s8.pt
mkdir -p $W/strips && cp $W/models/o3_strip512s2/strip-aecnn-spatial-L512-images.pt $W/strips/strip_s2.pt \
    && cp $W/models/o3_strip512s3/strip-aecnn-spatial-L512-images.pt $W/strips/strip_s3.pt
tar -C $W/strips -czf $OUT/strips.tgz .
REST=$((LIMIT - (SECONDS - T0) - 10))
echo "strip_invariant: $REST s left" >> $OUT/log.txt
for s in 2 3; do
  timeout --signal=INT --kill-after=5 $REST python3 benchmarks/strip_invariant.py --model $W/strips/strip_s$s.pt --device cuda \
      --workers 7 --cache $W/strip_lat_s$s.npz --variants fft recentre --reduce 4 8 16 --base-reduce 4 8 16 --window 5 9 \
      --reduce-method pls --seeds 0 1 2 3 4 --out $OUT/strip_invariant_s$s.json > $OUT/strip_invariant_s$s.log 2>&1 &
done
wait
echo "done at $((SECONDS - T0)) s" >> $OUT/log.txt
ls -la $OUT >> $OUT/log.txt
