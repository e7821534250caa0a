#!/usr/bin/env bash
# Tenth session, device call 12: does an 8x8x8 spatial latent at 512 (--spatial-channels 8; the small preset's own
# layout is 2x16x16) give the sequence stage latents at least as good as PCA's? Protocol: QUALITY.md, "Tenth session".
# Three quality.py processes at once, crops only, 391,168 crops each, training seeds 11 / 12 / 13, checkpoints kept;
# then seq_repeats.py on the three checkpoints with the protocol's arguments, on this machine's CPU cores, in
# whatever time is left (the checkpoints come back, so the CPU here can finish a cut score).
# Usage on the device (repository root, $OUT set): COMMIT=<HEAD> LIMIT=<s> TRAIN_LIMIT=<s> bash benchmarks/quality_calls/2026-12-05-call12.sh
set -uo pipefail
export PYTHONPATH=$PWD:$PWD/.whl/pytorch_msssim-1.0.0-py3-none-any.whl PYTHONUNBUFFERED=1
W=/tmp/q12; mkdir -p $W
LIMIT=${LIMIT:-580}; TRAIN_LIMIT=${TRAIN_LIMIT:-440}
T0=$SECONDS
C="--device cuda --real-dir .device_data/droplet_frames --images-seen 391168 --commit ${COMMIT:?} --no-figures --kinds crop --latents 512 --methods aecnn-spatial --spatial-channels 8 --seconds-methods --deadline $((TRAIN_LIMIT - 15))"
q() { local name=$1; shift; timeout --signal=INT --kill-after=10 $TRAIN_LIMIT python3 benchmarks/quality.py --out $W/$name "$@" --save-models $W/models/$name $C > $OUT/$name.log 2>&1; echo "$name rc=$? at $((SECONDS - T0)) s" >> $OUT/log.txt; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader >> $OUT/log.txt
for s in 11 12 13; do q sc8_512s$s --train-seed $s & done
wait
tar -C $W --exclude models -czf $OUT/results.tgz .
for s in 11 12 13; do cp $W/models/sc8_512s$s/crop-aecnn-spatial-L512-images.pt $W/sc8_s$s.pt; done
tar -C $W -cf $OUT/models.tar sc8_s11.pt sc8_s12.pt sc8_s13.pt   # 8 files come back at most: one archive
REST=$((LIMIT - (SECONDS - T0) - 10))
echo "seq_repeats: $REST s left" >> $OUT/log.txt
timeout --signal=INT --kill-after=5 $REST python3 benchmarks/seq_repeats.py --model s11=$W/sc8_s11.pt \
    --model s12=$W/sc8_s12.pt --model s13=$W/sc8_s13.pt --seeds 0 1 2 3 4 5 6 7 8 9 --reduce 2 4 8 --workers 15 \
    --out $OUT/seq_repeats_pca_sc8_512.json > $OUT/seq_repeats.log 2>&1
echo "seq_repeats rc=$? done at $((SECONDS - T0)) s" >> $OUT/log.txt
