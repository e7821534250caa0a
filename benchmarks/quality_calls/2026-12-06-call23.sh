#!/usr/bin/env bash
# Twentieth session, written for a later one: score strip checkpoints with the ninth session's strip protocol
# (strip_invariant.py: --variants recentre --reduce 4 8 16 --base-reduce 4 8 16 --window 5 9 --reduce-method pls
# --seeds 0 1 2 3 4) on the device, where the encoding runs on the GPU and the LSTM fits on its CPU cores: two
# checkpoints with 7 workers each took about 200 s on an H200 in the ninth session (call 11), against about
# 20 minutes each on the two-core CPU here (one checkpoint with 15 workers: 84 s on an H100, twentieth session).
# Strip checkpoints come back from call20.sh as RUN-strip-aecnn-spatial-L512-images.pt (an untrained control from
# benchmarks/untrained_checkpoint.py --input-size 152 1280) and go back to the device in an ignored folder, e.g.
#   mkdir -p .device_ckpt && cp /work/.device/N/st2-strip-aecnn-spatial-L512-images.pt .device_ckpt/st2.pt  (etc.)
#   run: CKPTS="st2=.device_ckpt/st2.pt st3=.device_ckpt/st3.pt u0=.device_ckpt/u0.pt" bash benchmarks/quality_calls/2026-12-06-call23.sh
#   carry: [".whl", ".device_ckpt"]
# Every checkpoint is scored at once, WORKERS fit processes each (default: the cores shared out). A score the
# call's LIMIT cuts writes no JSON; its log shows how far it got, and the CPU can score the checkpoint instead.
# ARGS overrides the protocol's sizes for a CPU rehearsal: DEVICE=cpu ARGS="--train-sequences 17 --val-sequences 8
# --epochs 2 --cv-folds 2 --seeds 0".
set -uo pipefail
export PYTHONPATH=$PWD:$PWD/.whl/pytorch_msssim-1.0.0-py3-none-any.whl PYTHONUNBUFFERED=1
LIMIT=${LIMIT:-575}
T0=$SECONDS
set -- ${CKPTS:?}
WORKERS=${WORKERS:-$(( $(nproc) / $# > 1 ? $(nproc) / $# : 1 ))}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader >> $OUT/log.txt 2>/dev/null
for item in "$@"; do
  name=${item%%=*}; ckpt=${item#*=}
  ( timeout --signal=INT --kill-after=10 $((LIMIT - 10)) python3 benchmarks/strip_invariant.py --model $ckpt \
      --device ${DEVICE:-cuda} --workers $WORKERS --variants recentre --reduce 4 8 16 --base-reduce 4 8 16 \
      --window 5 9 --reduce-method pls --seeds 0 1 2 3 4 ${ARGS:-} --out $OUT/strip_invariant_$name.json \
      > $OUT/strip_invariant_$name.log 2>&1
    echo "$name rc=$? at $((SECONDS - T0)) s (workers $WORKERS)" >> $OUT/log.txt ) &
done
wait
echo "done at $((SECONDS - T0)) s" >> $OUT/log.txt
