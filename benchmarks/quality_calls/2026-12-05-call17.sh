#!/usr/bin/env bash
# Planned in the twelfth session (no device was lent then; protocol: QUALITY.md, "Twelfth session").
# The medium and large presets at their own learning rate (the benchmark trains every preset at the small
# preset's lr 1e-3, where medium reached 38.94 dB against small's 42.17): one quality.py process per lr,
# all at once, crops, latent 512, the benchmark's 391,168 images, training seed 0, no checkpoints kept.
#   call A: PRESET=medium LRS="5e-4 2e-3"   (two at once; medium at 1e-3 ran in the ninth session)
#   call B: PRESET=large  LRS="<medium's best of 5e-4 / 1e-3 / 2e-3>"   (alone: may be cut by --deadline)
# Usage on the device (repository root, $OUT set): COMMIT=<HEAD> PRESET=medium LRS="5e-4 2e-3" bash benchmarks/quality_calls/2026-12-05-call17.sh
set -uo pipefail
export PYTHONPATH=$PWD:$PWD/.whl/pytorch_msssim-1.0.0-py3-none-any.whl PYTHONUNBUFFERED=1
W=/tmp/q17; mkdir -p $W
LIMIT=${LIMIT:-570}
T0=$SECONDS
C="--device cuda --real-dir .device_data/droplet_frames --images-seen 391168 --commit ${COMMIT:?} --no-figures --kinds crop --latents 512 --methods aecnn-spatial --seconds-methods --seq-workers 7 --deadline $((LIMIT - 15))"
q() { local name=$1; shift; timeout --signal=INT --kill-after=10 $LIMIT python3 benchmarks/quality.py --out $W/$name "$@" $C > $OUT/$name.log 2>&1; echo "$name rc=$? at $((SECONDS - T0)) s" >> $OUT/log.txt; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader >> $OUT/log.txt
for lr in ${LRS:?}; do q ${PRESET:?}512_lr$lr --preset $PRESET --lr $lr & done
wait
tar -C $W -czf $OUT/results.tgz .
echo "done at $((SECONDS - T0)) s" >> $OUT/log.txt
