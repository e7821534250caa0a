#!/usr/bin/env bash
# 2026-12-05, eighth session, device call 7: more aecnn small spatial 512 crop trainings on the outline
# default, to settle "sequence-stage R² from aecnn latents >= from PCA latents" over several trainings.
# Three quality.py processes at once (training seeds 5, 6, 7; same images, 391,168 crops each), checkpoints
# saved and copied to $OUT one file each (the 10-seed sequence-stage fits run on the CPU afterwards).
# Usage on the device (repository root, $OUT set): COMMIT=<HEAD> LIMIT=<s> bash benchmarks/quality_calls/2026-12-05-call7.sh
set -uo pipefail
export PYTHONPATH=$PWD:$PWD/.whl/pytorch_msssim-1.0.0-py3-none-any.whl PYTHONUNBUFFERED=1
W=/tmp/q7; mkdir -p $W
LIMIT=${LIMIT:-560}
C="--device cuda --real-dir .device_data/droplet_frames --images-seen 391168 --commit ${COMMIT:?} --no-figures --kinds crop --latents 512 --methods aecnn-spatial --deadline $((LIMIT - 15))"
q() { local name=$1; shift; timeout --signal=INT --kill-after=10 $LIMIT python3 benchmarks/quality.py --out $W/$name "$@" --save-models $W/models/$name $C > $OUT/$name.log 2>&1; echo "$name rc=$?" >> $OUT/log.txt; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader >> $OUT/log.txt
for s in 5 6 7; do q o3_512s$s --train-seed $s & done
wait
tar -C $W --exclude models -czf $OUT/results.tgz . 
for s in 5 6 7; do cp $W/models/o3_512s$s/crop-aecnn-spatial-L512-images.pt $OUT/s$s.pt; done
ls -la $OUT >> $OUT/log.txt
