#!/usr/bin/env bash
# Eleventh session, device calls 14 and 15: the small preset's own 2x16x16 latent at 512, trained on 1.5x the
# benchmark's images (586,752 crops instead of 391,168): does a longer training close the sequence stage's
# gap to PCA latents (five 1x trainings: 0.962 vs 0.967)? Protocol: QUALITY.md, "Eleventh session".
# Two quality.py processes at once (1.5x the work of three at once would not fit the call's limit), crops
# only, checkpoints kept and sent back for the CPU's seq_repeats.py. Call 14: SEEDS="41 42"; call 15: "43 44".
# Call 16: PREFIX=sc8x15 EXTRA="--spatial-channels 8" SEEDS="45 46" (the 8x8x8 layout on the same budget).
# Usage on the device (repository root, $OUT set): COMMIT=<HEAD> SEEDS="41 42" bash benchmarks/quality_calls/2026-12-05-call14.sh
set -uo pipefail
export PYTHONPATH=$PWD:$PWD/.whl/pytorch_msssim-1.0.0-py3-none-any.whl PYTHONUNBUFFERED=1
W=/tmp/q14; mkdir -p $W
TRAIN_LIMIT=${TRAIN_LIMIT:-570}
T0=$SECONDS
C="--device cuda --real-dir .device_data/droplet_frames --images-seen 586752 --commit ${COMMIT:?} --no-figures --kinds crop --latents 512 --methods aecnn-spatial ${EXTRA:-} --seconds-methods --seq-workers 7 --deadline $((TRAIN_LIMIT - 15))"
q() { local name=$1; shift; timeout --signal=INT --kill-after=10 $TRAIN_LIMIT python3 benchmarks/quality.py --out $W/$name "$@" --save-models $W/models/$name $C > $OUT/$name.log 2>&1; echo "$name rc=$? at $((SECONDS - T0)) s" >> $OUT/log.txt; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader >> $OUT/log.txt
P=${PREFIX:-x15}
for s in ${SEEDS:?}; do q ${P}_512s$s --train-seed $s & done
wait
tar -C $W --exclude models -czf $OUT/results.tgz .
names=""; for s in $SEEDS; do cp $W/models/${P}_512s$s/crop-aecnn-spatial-L512-images.pt $W/${P}_s$s.pt && names="$names ${P}_s$s.pt"; done
tar -C $W -cf $OUT/models.tar $names
echo "done at $((SECONDS - T0)) s" >> $OUT/log.txt
