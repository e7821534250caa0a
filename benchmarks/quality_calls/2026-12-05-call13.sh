#!/usr/bin/env bash
# Tenth session, device call 13: the 8x8x8 latent of call 12 (--spatial-channels 8) with two blocks per stage
# (--blocks-per-stage 2, 1.5x the FLOPs): does the extra capacity win back the 1.3 dB the 8x8 grid cost while
# keeping its sequence-stage lead? Protocol: QUALITY.md, "Tenth session", "Second test".
# Two quality.py processes at once (three would not finish 1.5x the work in the call's limit), crops only,
# 391,168 crops each, training seeds 21 / 22, checkpoints kept and sent back for the CPU's seq_repeats.py.
# Usage on the device (repository root, $OUT set): COMMIT=<HEAD> TRAIN_LIMIT=<s> bash benchmarks/quality_calls/2026-12-05-call13.sh
set -uo pipefail
export PYTHONPATH=$PWD:$PWD/.whl/pytorch_msssim-1.0.0-py3-none-any.whl PYTHONUNBUFFERED=1
W=/tmp/q13; mkdir -p $W
TRAIN_LIMIT=${TRAIN_LIMIT:-570}
T0=$SECONDS
C="--device cuda --real-dir .device_data/droplet_frames --images-seen 391168 --commit ${COMMIT:?} --no-figures --kinds crop --latents 512 --methods aecnn-spatial --spatial-channels 8 --blocks-per-stage 2 --seconds-methods --seq-workers 7 --deadline $((TRAIN_LIMIT - 15))"
q() { local name=$1; shift; timeout --signal=INT --kill-after=10 $TRAIN_LIMIT python3 benchmarks/quality.py --out $W/$name "$@" --save-models $W/models/$name $C > $OUT/$name.log 2>&1; echo "$name rc=$? at $((SECONDS - T0)) s" >> $OUT/log.txt; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader >> $OUT/log.txt
for s in 21 22; do q sc8b2_512s$s --train-seed $s & done
wait
tar -C $W --exclude models -czf $OUT/results.tgz .
for s in 21 22; do cp $W/models/sc8b2_512s$s/crop-aecnn-spatial-L512-images.pt $W/sc8b2_s$s.pt; done
tar -C $W -cf $OUT/models.tar sc8b2_s21.pt sc8b2_s22.pt
echo "done at $((SECONDS - T0)) s" >> $OUT/log.txt
