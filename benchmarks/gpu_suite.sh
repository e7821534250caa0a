#!/usr/bin/env bash
# The GPU measurements behind BENCHMARKS.md.
#
#   benchmarks/gpu_suite.sh call1   # one H200: memory cap search beside compile-cache priming, then the
#                                   # NearestUpsample before/after check, then the compiled sweep with profiles
#   benchmarks/gpu_suite.sh call2   # one H200: data pipeline alone, eager sweep, attention off (eager and
#                                   # compiled), medium without normalisation, the seed's command
#   benchmarks/gpu_suite.sh ddp     # two H200s (nvidia-h200-x2): DDP 1 vs 2 GPUs
#   benchmarks/gpu_suite.sh PART ...   # parts: prime check main_eager main_compiled attention bounds memory loader
#                                      # seed extras ddp
#
# Run on one H200 (device tool, from the repository root, $OUT set by the tool) as
#   AECNN_COMMIT=<commit> PARTS=$OUT/parts FORMAT=json MERGE_FLAGS=--no-md bash benchmarks/gpu_suite.sh call1
#
# Results: $OUT/<part>.json (merged) and $OUT/<part>.log; per-invocation JSON in $PARTS.
# Needs python3 with torch; no install (PYTHONPATH=$PWD). Environment knobs: PRESETS, SIZES, BATCH, FORMAT,
# MERGE_FLAGS, LW (loader workers), B (the bench command, e.g. for a dry run).
set -uo pipefail
OUT=${OUT:-benchmarks/results/local-$(date +%Y%m%d-%H%M)}
PARTS=${PARTS:-/tmp/aecnn-bench-parts}
mkdir -p "$OUT" "$PARTS"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
export TORCHINDUCTOR_CACHE_DIR=${TORCHINDUCTOR_CACHE_DIR:-/tmp/aecnn-inductor}  # shared by the priming runs
export TORCHINDUCTOR_FX_GRAPH_CACHE=1 TORCHINDUCTOR_AUTOGRAD_CACHE=1
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
# = `aecnn bench`, without importing the other sub-commands (a bare GPU image may lack their dependencies)
B="${B:-python3 -m aecnn.cli.bench} --format ${FORMAT:-both}"
PRESETS=${PRESETS:-tiny small medium large}
SIZES=${SIZES:---input-size 201 201 --input-size 152 1280}
BATCH=${BATCH:-auto}
STEM=${STEM:-gpu_suite}

merge() { python3 -m aecnn.bench.report ${MERGE_FLAGS:-} "$OUT/$STEM" "$PARTS"/*.json >/dev/null 2>&1 || true; }
t() { local s=$1; shift; timeout --signal=INT --kill-after=15 "$s" "$@"; }

part_prime() {  # compile every sweep model once, 4 at a time: fills the inductor caches (CPU-bound, untimed)
  { for p in $PRESETS; do for s in "201 201" "152 1280"; do echo "--preset $p --input-size $s"; done; done
    echo "--preset small --channels 48 96 192 --input-size 201 201"; } |
  t 220 xargs -P 4 -I{} sh -c \
    "$B {} --batch-size $BATCH --compile on --warmup-only --warmup 1 --no-ceiling >/dev/null 2>&1 || echo 'prime failed: {}'"
}
part_check() {  # the decoder's NearestUpsample against nn.Upsample: outputs, grads, PSNR, step time
  t 150 python3 benchmarks/check_nearest_upsample.py --time --steps 400 --batch 32 --out "$OUT/check_nearest_upsample.json"
}
part_main_eager() {
  t 130 $B --preset $PRESETS $SIZES --batch-size $BATCH --mode both --out "$PARTS" --name main_eager
}
part_main_compiled() {
  t 200 $B --preset $PRESETS $SIZES --batch-size $BATCH --mode both --compile on --profile --out "$PARTS" --name main_compiled
}
part_attention() {
  t 150 $B --preset $PRESETS --input-size 201 201 --batch-size $BATCH --mode train --attention off --compile both \
    --no-ceiling --out "$PARTS" --name attention_off
}
part_bounds() {  # what the normalisation costs: the same compiled medium step without it
  t 90 $B --preset medium --input-size 201 201 --batch-size $BATCH --mode train --compile on --norm none \
    --out "$PARTS" --name bound_norm_none
}
part_memory() {
  t 170 $B --max-memory 8GiB --preset $PRESETS $SIZES --out "$PARTS" --name memory
  t 60 $B --max-memory 8GiB --preset large --input-size 152 1280 --gradient-checkpointing --out "$PARTS" --name memory_ckpt
}
part_loader() {
  python3 -c "from aecnn.data.synth import SynthConfig, write_dataset; \
write_dataset('/tmp/aecnn-synth', SynthConfig(n_sequences=16, frames_per_sequence=64), progress=False, overwrite=True)"
  t 100 $B --loader /tmp/aecnn-synth/crops /tmp/aecnn-synth/strips $SIZES --loader-workers ${LW:-8 16} \
    --loader-batch 128 --cache-dir /tmp/aecnn-cache --out "$PARTS" --name loader
}
part_seed() {  # the seed's bench_gpu.py command, as the users would type it
  t 60 $B --preset small --input_size 201 201 --batch_size 16 --dtype fp32 bf16 --out "$PARTS" --name seed_command
}
part_extras() {
  t 60 $B --preset medium --input-size 201 201 --batch-size 32 64 128 512 --mode train --no-ceiling --out "$PARTS" \
    --name batch_scaling
  t 60 $B --preset medium --input-size 201 201 --batch-size $BATCH --mode train --dtype fp32 fp16 --channels-last both \
    --no-ceiling --out "$PARTS" --name dtype_format
}
part_ddp() {
  t 150 $B --ddp 1 2 --preset medium --input-size 201 201 --batch-size $BATCH --out "$PARTS" --name ddp_eager
  t 240 $B --ddp 1 2 --preset medium --input-size 201 201 --batch-size $BATCH --compile on --out "$PARTS" --name ddp_compiled
}
part_call1() {  # the memory search runs beside the (untimed) compile priming: neither is a timing
  part_memory & local mem=$!
  part_prime; wait $mem; merge
  part_check; part_main_compiled; merge
}
part_call2() {  # the loader alone on the CPU first, then the GPU parts one after the other
  part_loader; merge
  part_main_eager; merge; part_seed; merge; part_attention; merge; part_bounds; merge
}

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv 2>/dev/null
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'gpus', torch.cuda.device_count())"
for part in "${@:-call1}"; do
  STEM=$part
  echo "=== $part $(date -u +%H:%M:%S)"
  SECONDS=0
  "part_$part" 2>&1 | tee -a "$OUT/$part.log"
  echo "=== $part done in ${SECONDS}s"
  merge
done
python3 -c "import json, sys; from aecnn.bench.report import to_markdown; print(to_markdown(json.load(open(sys.argv[1]))))" \
  "$OUT/$STEM.json" 2>/dev/null
