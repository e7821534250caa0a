"""What limits aecnn's reconstruction in the quality benchmark? One GPU call, crops, one latent.

Trains variants of aecnn small (and V1, the seed's bottleneck, the flat 'conv' latent) with the
quality benchmark's own data, loop and metrics (``aecnn.quality``), on 201x201 crops at one
latent size, and prints validation and training PSNR per variant: training recipe (learning
rate, batch), architecture options (attention, norm, activation, depth) and budget (1x and 4x
the images). A variant that wins by more than the run-to-run spread measured in
``benchmarks/QUALITY.md`` is a candidate default; the full benchmark then confirms it.

    PYTHONPATH=$PWD python3 benchmarks/quality_sweep.py --device cuda --out OUT --deadline 540
    python3 benchmarks/quality_sweep.py --quick --out /tmp/sweep        # CPU smoke run
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from aecnn.devices import resolve_device
from aecnn.io import atomic_write_text
from aecnn.quality import data as qdata
from aecnn.quality.loop import evaluate, model_codec, train
from aecnn.quality.pca import PCA, pca_codec
from aecnn.quality.plan import build_model

log = logging.getLogger("quality_sweep")


@dataclass(frozen=True)
class Variant:
    name: str
    method: str = "aecnn-spatial"
    overrides: dict = field(default_factory=dict)
    lr: float = 2e-3
    batch: int = 64
    scale: float = 1.0  # images seen, as a multiple of --images


VARIANTS = (  # in priority order: a deadline drops the last ones
    Variant("spatial (default)"),
    Variant("spatial 4x images", scale=4.0),
    Variant("V1", "v1"),
    Variant("V1 4x images", "v1", scale=4.0),
    Variant("conv (flat latent)", "aecnn-conv"),
    Variant("seed 4x4", "seed"),
    Variant("spatial lr 4e-3", lr=4e-3),
    Variant("spatial lr 1e-3", lr=1e-3),
    Variant("spatial no attention", overrides={"use_attention": False}),
    Variant("spatial group norm", overrides={"norm": "group"}),
    Variant("spatial silu", overrides={"activation": "silu"}),
    Variant("spatial batch 32", batch=32),
    Variant("spatial 2 blocks/stage", overrides={"blocks_per_stage": 2}),
)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--device", default="auto")
    p.add_argument("--latent", type=int, default=512)
    p.add_argument("--images", type=int, default=97_792, help="images seen at scale 1 (the 2026-12-01 run's N)")
    p.add_argument("--deadline", type=float, default=None, help="skip variants that would start after this many s")
    p.add_argument("--only", nargs="*", default=None, help="variant names to run (default: all)")
    p.add_argument("--commit", default="")
    p.add_argument("--quick", action="store_true", help="CPU smoke run at toy sizes")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    t_start = time.perf_counter()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    n_train, n_val, t_per, preset, over = 192, 64, 32, "small", {}
    if a.quick:
        n_train, n_val, t_per, a.images, a.latent, preset = 4, 2, 8, 64, 32, "tiny"
        over = {"channel_config": (8, 16, 32)}
    train_split = qdata.make_split(n_train, t_per, (152, 1280), (201, 201), 0)["crop"]
    val_split = qdata.make_split(n_val, t_per, (152, 1280), (201, 201), 1000)["crop"]
    device = resolve_device(a.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # as the quality benchmark does
    tr = torch.from_numpy(train_split.frames).to(device)
    va = torch.from_numpy(val_split.frames).to(device)
    tr_eval = tr[: va.shape[0]]
    rows = []
    pca = PCA(a.latent).fit(tr)
    codec = pca_codec(pca, a.latent)
    ev = evaluate(codec, va)
    rows.append({"name": "PCA", "val_psnr": ev.metrics["psnr"], "band_psnr": ev.metrics["band_psnr"],
                 "train_psnr": evaluate(codec, tr_eval).metrics["psnr"]})
    del pca
    chosen = [v for v in VARIANTS if a.only is None or v.name in a.only]
    for v in chosen:
        if a.deadline is not None and time.perf_counter() - t_start > a.deadline:
            rows.append({"name": v.name, "status": "skipped (deadline)"})
            continue
        torch.manual_seed(0)
        model = build_model(v.method, preset, (201, 201), a.latent, over if v.method != "v1" else None)
        images = int(a.images * v.scale)
        st = train(model, tr, images=images, batch=v.batch if not a.quick else 8, lr=v.lr, seed=0,
                   warmup_steps=0 if a.quick else 3)
        codec = model_codec(model)
        m = evaluate(codec, va).metrics
        row = {"name": v.name, "method": v.method, "overrides": v.overrides, "lr": v.lr, "batch": v.batch,
               "images": st.images_seen, "seconds": round(st.seconds, 2), "img_s": round(st.images_per_s),
               "params": sum(q.numel() for q in model.parameters()), "final_loss": st.final_loss,
               "val_psnr": m["psnr"], "band_psnr": m["band_psnr"], "ssim": m["ssim"],
               "train_psnr": evaluate(codec, tr_eval).metrics["psnr"]}
        rows.append(row)
        log.info("%-24s %6.2f dB val, %6.2f dB train, %5.1f s", v.name, row["val_psnr"], row["train_psnr"],
                 st.seconds)
        meta = {"commit": a.commit, "torch": torch.__version__, "device": str(device),
                "gpu": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
                "latent": a.latent, "images": a.images, "argv": sys.argv, "wall_s": time.perf_counter() - t_start}
        atomic_write_text(out / "sweep.json", json.dumps({"meta": meta, "rows": rows}, indent=1))
        del model
    lines = ["| variant | images | train s | img/s | val PSNR dB | band PSNR dB | train PSNR dB |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        if "val_psnr" not in r:
            lines.append(f"| {r['name']} | {r.get('status', '')} | | | | | |")
            continue
        lines.append(f"| {r['name']} | {r.get('images', '')} | {r.get('seconds', '')} | {r.get('img_s', '')} | "
                     f"{r['val_psnr']:.2f} | {r['band_psnr']:.2f} | {r['train_psnr']:.2f} |")
    atomic_write_text(out / "sweep.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
