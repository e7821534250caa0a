#!/usr/bin/env bash
# Generator variants against the real-crop gap (issue 6): aecnn small (spatial, the default) and PCA
# on 201x201 crops at latent 512, the long budget (391,168 images), each with one --synth variant.
# GPU through the device tool; writes OUT/<variant>/results.{json,md} and prints each run's summary.
#   bash benchmarks/synth_variants.sh OUT COMMIT [VARIANT ...]     (default: refl aspect both)
set -uo pipefail
out=${1:?OUT folder}; commit=${2:-unknown}; shift 2 || true
variants=${*:-refl aspect both}
mkdir -p "$out"
common=(--device cuda --kinds crop --latents 512 --methods pca aecnn-spatial --images-seen 391168
        --real-dir .device_data/droplet_frames --no-figures --commit "$commit" --deadline 175)
refl=(--synth reflection_size=1.2,1.8 --synth reflection_spots=3)
aspect=(--synth aspect_range=0.85,1.5)
for v in $variants; do
  case $v in
    base) extra=() ;;
    refl) extra=("${refl[@]}") ;;
    aspect) extra=("${aspect[@]}") ;;
    both) extra=("${refl[@]}" "${aspect[@]}") ;;
    *) echo "unknown variant $v"; exit 2 ;;
  esac
  models=()
  [ -n "${SAVE_MODELS:-}" ] && models=(--save-models "$SAVE_MODELS/$v")
  python3 benchmarks/quality.py "${common[@]}" "${extra[@]}" "${models[@]}" --out "$out/$v" > "$out/$v.log" 2>&1
  echo "== $v (rc $?): ${extra[*]}"
  python3 - "$out/$v/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for x in r["runs"]:
    if x["budget"] != "images" or x["status"] != "ok":
        continue
    m, rm = x["metrics"], x["real_metrics"]
    print(f'{x["method"]:14s} val {m["psnr"]:.2f} band {m["band_psnr"]:.2f} | real {rm["psnr"]:.2f} '
          f'band {rm["band_psnr"]:.2f} | gap {m["psnr"] - rm["psnr"]:.2f} | R2 {x["r2_lstm"]} {x["r2_ridge"]} | '
          f'per frame {rm.get("psnr_per_frame")}')
PY
done
