#!/usr/bin/env bash
# Ninth session, device call 10: the flat `conv` latent at 128, and the tiny and medium presets at 512, on the outline
# default (small at 512 ran in calls 4 and 7, conv 512 in call 5; presets were last run on an older generator).
# Three quality.py processes at once, same images (391,168 crops each), no checkpoints kept:
#   P1 aecnn small conv 128   P2 aecnn tiny spatial 512   P3 aecnn medium spatial 512
# --reference-latent puts each process's target comparison at its own latent (else quality.py adds 512 runs);
# --seconds-methods alone: no same-seconds runs. --deadline cuts a training still going 30 s before it.
# Usage on the device (repository root, $OUT set): COMMIT=<HEAD> LIMIT=<s> bash benchmarks/quality_calls/2026-12-05-call10.sh
set -uo pipefail
export PYTHONPATH=$PWD:$PWD/.whl/pytorch_msssim-1.0.0-py3-none-any.whl PYTHONUNBUFFERED=1
W=/tmp/q10; mkdir -p $W
LIMIT=${LIMIT:-560}
C="--device cuda --real-dir .device_data/droplet_frames --images-seen 391168 --commit ${COMMIT:?} --no-figures --kinds crop --seconds-methods --deadline $((LIMIT - 15))"
q() { local name=$1; shift; timeout --signal=INT --kill-after=10 $LIMIT python3 benchmarks/quality.py --out $W/$name "$@" $C > $OUT/$name.log 2>&1; echo "$name rc=$?" >> $OUT/log.txt; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader >> $OUT/log.txt
q o3_conv128 --latents 128 --reference-latent 128 --methods aecnn-conv &
q o3_tiny512 --latents 512 --preset tiny --methods aecnn-spatial &
q o3_medium512 --latents 512 --preset medium --methods aecnn-spatial &
wait
tar -C $W -czf $OUT/results.tgz . ; ls -la $OUT >> $OUT/log.txt
