#!/usr/bin/env bash
# 2026-12-05, device call 2 (call 1 ran four processes on an H100 and none finished 391,168 images in
# 540 s): two quality.py processes at once, each saving its checkpoint for the CPU's repeated fits.
#   P1 aecnn small spatial 512, training seed 1   P2 aecnn small spatial 128, training seed 2
# Usage on the device (repository root, $OUT set): COMMIT=<HEAD> LIMIT=<s> bash benchmarks/quality_calls/2026-12-05-call2.sh
set -uo pipefail
export PYTHONPATH=$PWD:$PWD/.whl/pytorch_msssim-1.0.0-py3-none-any.whl PYTHONUNBUFFERED=1
W=/tmp/q; mkdir -p $W
C="--device cuda --real-dir .device_data/droplet_frames --images-seen 391168 --commit ${COMMIT:?} --no-figures --kinds crop"
q() { local name=$1; shift; timeout --signal=INT --kill-after=10 ${LIMIT:-480} python3 benchmarks/quality.py --out $W/$name "$@" > $OUT/$name.log 2>&1; echo "$name rc=$?" >> $OUT/log.txt; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader >> $OUT/log.txt
q o3_512s1 --latents 512 --methods aecnn-spatial --train-seed 1 --save-models $W/models/o3_512s1 $C &
q o3_128s2 --latents 128 --methods aecnn-spatial --train-seed 2 --save-models $W/models/o3_128s2 $C &
wait
tar -C $W -czf $OUT/results.tgz . ; ls -la $OUT >> $OUT/log.txt
