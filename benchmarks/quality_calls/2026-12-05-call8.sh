#!/usr/bin/env bash
# 2026-12-05, eighth session, device call 8: two more strip trainings (1280x152, aecnn small spatial 512,
# training seeds 2 and 3; 0.25 x 391,168 = 97,792 strips each, as call 6) to test the strip summaries on
# trainings not seen when the summary was chosen, and a fourth 512 crop training (seed 8). Three processes at
# once; checkpoints copied to $OUT one file each.
# Usage on the device (repository root, $OUT set): COMMIT=<HEAD> LIMIT=<s> bash benchmarks/quality_calls/2026-12-05-call8.sh
set -uo pipefail
export PYTHONPATH=$PWD:$PWD/.whl/pytorch_msssim-1.0.0-py3-none-any.whl PYTHONUNBUFFERED=1
W=/tmp/q8; mkdir -p $W
LIMIT=${LIMIT:-560}
C="--device cuda --real-dir .device_data/droplet_frames --images-seen 391168 --commit ${COMMIT:?} --no-figures --latents 512 --methods aecnn-spatial --deadline $((LIMIT - 15))"
q() { local name=$1; shift; timeout --signal=INT --kill-after=10 $LIMIT python3 benchmarks/quality.py --out $W/$name "$@" --save-models $W/models/$name $C > $OUT/$name.log 2>&1; echo "$name rc=$?" >> $OUT/log.txt; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader >> $OUT/log.txt
q o3_strip512s2 --kinds strip --train-seed 2 &
q o3_strip512s3 --kinds strip --train-seed 3 &
q o3_512s8 --kinds crop --train-seed 8 &
wait
tar -C $W --exclude models -czf $OUT/results.tgz .
cp $W/models/o3_strip512s2/strip-aecnn-spatial-L512-images.pt $OUT/strip_s2.pt
cp $W/models/o3_strip512s3/strip-aecnn-spatial-L512-images.pt $OUT/strip_s3.pt
cp $W/models/o3_512s8/crop-aecnn-spatial-L512-images.pt $OUT/s8.pt
ls -la $OUT >> $OUT/log.txt
