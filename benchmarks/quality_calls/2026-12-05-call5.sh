#!/usr/bin/env bash
# 2026-12-05, seventh session, device call 5: the other bottlenecks and 2048 on the outline default.
# Three quality.py processes at once, each saving its checkpoint (same images, 391,168 crops):
#   P1 the seed's 4x4-pooled bottleneck at 512   P2 aecnn small conv (flat) 512   P3 aecnn small spatial 2048
# --deadline cuts a training still going 30 s before it (scored, saved, marked "cut").
# Usage on the device (repository root, $OUT set): COMMIT=<HEAD> LIMIT=<s> bash benchmarks/quality_calls/2026-12-05-call5.sh
set -uo pipefail
export PYTHONPATH=$PWD:$PWD/.whl/pytorch_msssim-1.0.0-py3-none-any.whl PYTHONUNBUFFERED=1
W=/tmp/q5; mkdir -p $W
LIMIT=${LIMIT:-560}
C="--device cuda --real-dir .device_data/droplet_frames --images-seen 391168 --commit ${COMMIT:?} --no-figures --kinds crop --deadline $((LIMIT - 15))"
q() { local name=$1; shift; timeout --signal=INT --kill-after=10 $LIMIT python3 benchmarks/quality.py --out $W/$name "$@" --save-models $W/models/$name $C > $OUT/$name.log 2>&1; echo "$name rc=$?" >> $OUT/log.txt; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader >> $OUT/log.txt
q o3_seed512 --latents 512 --methods seed --seconds-methods &
q o3_conv512 --latents 512 --methods aecnn-conv --seconds-methods &
q o3_2048 --latents 2048 --reference-latent 2048 --methods aecnn-spatial --seconds-methods &
wait
tar -C $W -czf $OUT/results.tgz . ; ls -la $OUT >> $OUT/log.txt
