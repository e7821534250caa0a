#!/usr/bin/env bash
# 2026-12-05, device call 1: the outline generator's default (3 px) for what was not rerun on it.
# Four quality.py processes at once on one GPU (train s / img/s are therefore not throughput numbers).
#   P1 V1 and the seed's 4x4 bottleneck at 512      P2 aecnn small spatial 512, training seed 1 (+ checkpoint)
#   P3 aecnn small spatial 128, training seed 2 (+ checkpoint)   P4 strips: PCA and aecnn spatial 512
# Usage on the device (repository root, $OUT set): COMMIT=<HEAD> bash benchmarks/quality_calls/2026-12-05-call1.sh
set -uo pipefail
export PYTHONPATH=$PWD:$PWD/.whl/pytorch_msssim-1.0.0-py3-none-any.whl PYTHONUNBUFFERED=1
W=/tmp/q; mkdir -p $W
R="--device cuda --real-dir .device_data/droplet_frames --images-seen 391168 --commit ${COMMIT:?} --no-figures --deadline ${DEADLINE:-520}"
C="$R --kinds crop"
q() { local name=$1; shift; timeout --signal=INT --kill-after=10 ${LIMIT:-555} python3 benchmarks/quality.py --out $W/$name "$@" > $W/$name.log 2>&1; echo "$name rc=$?" >> $OUT/log.txt; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader >> $OUT/log.txt
q v1seed_512 --latents 512 --methods v1 seed $C &
q o3_512s1 --latents 512 --methods aecnn-spatial --train-seed 1 --save-models $W/models/o3_512s1 $C &
q o3_128s2 --latents 128 --methods aecnn-spatial --train-seed 2 --save-models $W/models/o3_128s2 $C &
q strip --kinds strip --strip-latents 512 --methods pca aecnn-spatial $R &
wait
tail -n 3 $W/*.log >> $OUT/log.txt
tar -C $W --exclude=models -czf $OUT/results.tgz . ; tar -C $W -czf $OUT/models.tgz models; ls -la $OUT >> $OUT/log.txt
