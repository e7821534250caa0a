#!/usr/bin/env bash
# Ninth session, device call 11: two full-budget strip trainings (1280x152, aecnn small spatial 512, training
# seeds 4 and 5, 97,792 strips each) to test the strips' recipe (width-recentre + PLS) on trainings that were
# not cut (call 8's seeds 2 / 3 were). Two processes at once (TRAIN_LIMIT s); then strip_invariant.py on each
# checkpoint on the same machine (encoding on the GPU, LSTM fits on 7 CPU cores each), the re-centred variant
# and the PCA base only. Checkpoints copied back so the CPU can finish a score the limit cuts.
# Usage on the device (repository root, $OUT set): COMMIT=<HEAD> LIMIT=<s> bash benchmarks/quality_calls/2026-12-05-call11.sh
set -uo pipefail
export PYTHONPATH=$PWD:$PWD/.whl/pytorch_msssim-1.0.0-py3-none-any.whl PYTHONUNBUFFERED=1
W=/tmp/q11; mkdir -p $W
LIMIT=${LIMIT:-500}; TRAIN_LIMIT=${TRAIN_LIMIT:-330}
T0=$SECONDS
C="--device cuda --real-dir .device_data/droplet_frames --images-seen 391168 --commit ${COMMIT:?} --no-figures --latents 512 --methods aecnn-spatial --kinds strip --deadline $((TRAIN_LIMIT - 15))"
q() { local name=$1; shift; timeout --signal=INT --kill-after=10 $TRAIN_LIMIT python3 benchmarks/quality.py --out $W/$name "$@" --save-models $W/models/$name $C > $OUT/$name.log 2>&1; echo "$name rc=$? at $((SECONDS - T0)) s" >> $OUT/log.txt; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader >> $OUT/log.txt
q o3_strip512s4 --train-seed 4 &
q o3_strip512s5 --train-seed 5 &
wait
tar -C $W --exclude models -czf $OUT/results.tgz .
for s in 4 5; do cp $W/models/o3_strip512s$s/strip-aecnn-spatial-L512-images.pt $OUT/strip_s$s.pt; done
REST=$((LIMIT - (SECONDS - T0) - 10))
echo "strip_invariant: $REST s left" >> $OUT/log.txt
for s in 4 5; do
  timeout --signal=INT --kill-after=5 $REST python3 benchmarks/strip_invariant.py --model $OUT/strip_s$s.pt --device cuda \
      --workers 7 --cache $W/strip_lat_s$s.npz --variants recentre --reduce 4 8 16 --base-reduce 4 8 16 --window 5 9 \
      --reduce-method pls --seeds 0 1 2 3 4 --out $OUT/strip_invariant_s$s.json > $OUT/strip_invariant_s$s.log 2>&1 &
done
wait
echo "done at $((SECONDS - T0)) s" >> $OUT/log.txt
