#!/usr/bin/env bash
# 2026-12-05, seventh session, device call 6: strips (1280x152) on the outline default, aecnn small
# spatial 512 and PCA, one process alone (strips see 0.25 x 391,168 = 97,792 images), checkpoint saved.
# Usage on the device (repository root, $OUT set): COMMIT=<HEAD> LIMIT=<s> bash benchmarks/quality_calls/2026-12-05-call6.sh
set -uo pipefail
export PYTHONPATH=$PWD:$PWD/.whl/pytorch_msssim-1.0.0-py3-none-any.whl PYTHONUNBUFFERED=1
W=/tmp/q6; mkdir -p $W
LIMIT=${LIMIT:-300}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader >> $OUT/log.txt
timeout --signal=INT --kill-after=10 $LIMIT python3 benchmarks/quality.py --out $W/o3_strip512 --kinds strip --latents 512 \
    --methods pca aecnn-spatial --seconds-methods --device cuda --real-dir .device_data/droplet_frames \
    --images-seen 391168 --commit ${COMMIT:?} --no-figures --deadline $((LIMIT - 15)) --save-models $W/models/o3_strip512 \
    > $OUT/o3_strip512.log 2>&1
echo "o3_strip512 rc=$?" >> $OUT/log.txt
tar -C $W -czf $OUT/results.tgz . ; ls -la $OUT >> $OUT/log.txt
