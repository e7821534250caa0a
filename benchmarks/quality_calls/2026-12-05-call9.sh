#!/usr/bin/env bash
# Ninth session, device call 9: the users' V1 and the seed's 4x4-pooled bottleneck at latents 128 and 2048
# on the outline default (512 ran in calls 4 and 5), so every method of issue 6 has a row at every latent.
# Three quality.py processes at once, same images (391,168 crops each), no checkpoints kept:
#   P1 seed 128   P2 seed 2048   P3 V1 128, then V1 2048 (V1 trains several times faster)
# --reference-latent puts each process's target comparison at its own latent (else quality.py adds 512 runs);
# --seconds-methods alone: no same-seconds runs. --deadline cuts a training still going 30 s before it.
# Usage on the device (repository root, $OUT set): COMMIT=<HEAD> LIMIT=<s> bash benchmarks/quality_calls/2026-12-05-call9.sh
set -uo pipefail
export PYTHONPATH=$PWD:$PWD/.whl/pytorch_msssim-1.0.0-py3-none-any.whl PYTHONUNBUFFERED=1
W=/tmp/q9; mkdir -p $W
LIMIT=${LIMIT:-560}
C="--device cuda --real-dir .device_data/droplet_frames --images-seen 391168 --commit ${COMMIT:?} --no-figures --kinds crop --seconds-methods --deadline $((LIMIT - 15))"
q() { local name=$1; shift; timeout --signal=INT --kill-after=10 $LIMIT python3 benchmarks/quality.py --out $W/$name "$@" $C > $OUT/$name.log 2>&1; echo "$name rc=$?" >> $OUT/log.txt; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader >> $OUT/log.txt
q o3_seed128 --latents 128 --reference-latent 128 --methods seed &
q o3_seed2048 --latents 2048 --reference-latent 2048 --methods seed &
q o3_v1_128_2048 --latents 128 2048 --reference-latent 128 --methods v1 &
wait
tar -C $W -czf $OUT/results.tgz . ; ls -la $OUT >> $OUT/log.txt
