#!/usr/bin/env bash
# 2026-12-05, seventh session, device call 4: the same-seconds comparison on the outline default.
# One process alone on the card (a second one would change the seconds S the comparison rests on):
# aecnn small spatial 512 (training seed 3; its time for 391,168 crops is S), V1 for the same images,
# then V1 for S seconds. Checkpoints saved for the CPU's sequence-stage fits.
# Usage on the device (repository root, $OUT set): COMMIT=<HEAD> LIMIT=<s> bash benchmarks/quality_calls/2026-12-05-call4.sh
set -uo pipefail
export PYTHONPATH=$PWD:$PWD/.whl/pytorch_msssim-1.0.0-py3-none-any.whl PYTHONUNBUFFERED=1
W=/tmp/q; mkdir -p $W
LIMIT=${LIMIT:-560}
C="--device cuda --real-dir .device_data/droplet_frames --images-seen 391168 --commit ${COMMIT:?} --no-figures --kinds crop"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader >> $OUT/log.txt
timeout --signal=INT --kill-after=10 $LIMIT python3 benchmarks/quality.py --out $W/o3_512s3_v1 --latents 512 \
    --methods aecnn-spatial v1 --train-seed 3 --deadline $((LIMIT - 15)) --save-models $W/models/o3_512s3_v1 $C \
    > $OUT/o3_512s3_v1.log 2>&1
echo "o3_512s3_v1 rc=$?" >> $OUT/log.txt
tar -C $W -czf $OUT/results.tgz . ; ls -la $OUT >> $OUT/log.txt
