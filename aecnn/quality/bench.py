"""The quality benchmark: PCA, the users' V1, the seed's 4x4 bottleneck and aecnn's presets,
trained under the same budget on held-out synthetic droplet sequences, then scored on
reconstruction (PSNR, SSIM, outline-band PSNR), speed, the sequence stage's R^2 and the real
frames.

::

    synthetic train/val sequences (different seeds) --+--> PCA (exact, fp32)        --+
      crops 201x201, strips 152x1280, viscosity/seq   +--> V1, seed, aecnn conv/spat. -+-> val metrics,
                                                          same loop, same budget:        latents -> R^2,
                                                          N images seen | S seconds      real frames

Budgets: every network at one frame size sees the same number of images ``N`` (strips see
``strip_images_ratio * N``); separately, at the reference latent, V1 (``seconds_methods``) gets
the same GPU seconds ``S`` as aecnn's default (``SECONDS_REFERENCE``, the presets' spatial
latent) took for its N images (or ``--seconds``, and then that reference is trained for S seconds too). All latents are run for ``all_latent_methods``; the other
networks (aecnn spatial) at the reference latent only. ``N`` is fitted to ``train_budget_s`` from measured throughputs when not given.
"""
from __future__ import annotations

import logging
import math
import os
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from aecnn.checkpoint import atomic_save, save_checkpoint
from aecnn.devices import resolve_device
from aecnn.quality import data as qdata
from aecnn.quality.generator import generator_record
from aecnn.quality.loop import EvalResult, check_recipe, evaluate, loss_rose, model_codec, throughput, train
from aecnn.quality.pca import PCA, pca_codec
from aecnn.quality.plan import (
    CONTROL,
    KINDS,
    LATE_LSTM,
    METHODS,
    NETWORKS,
    SECONDS_REFERENCE,
    BenchConfig,
    Run,
    build_model,
    plan,
    strip_images,
)
from aecnn.quality.seqstage import sequence_scores
from aecnn.quality.train_state import identity, load_state, save_state, state_path

__all__ = ["CONTROL", "KINDS", "METHODS", "NETWORKS", "SECONDS_REFERENCE", "BenchConfig", "Benchmark", "Run", "build_model",
           "plan", "run_benchmark", "strip_images"]
log = logging.getLogger(__name__)
SCORE_MARGIN_S = 30.0  # seconds a training leaves before the deadline for its scoring
SEQ_TIMEOUT_S = 900.0  # longest wait for one sequence-stage fit when no deadline is set
FINISH_MARGIN_S = 10.0  # seconds before the deadline the wait for sequence-stage fits ends (ridge, writing)


class Benchmark:
    """Holds the data and runs the plan; see :func:`run_benchmark`."""

    def __init__(self, cfg: BenchConfig) -> None:
        self.cfg = cfg
        self.t_start = time.perf_counter()
        self.device = resolve_device(cfg.device)
        self.runs: list[Run] = []
        self.meta: dict = {"config": _jsonable(asdict(cfg)), "generator": generator_record(cfg.synth_overrides)}
        self.samples: dict = {}  # figures: (kind, method, latent) -> recon arrays
        self.pool = None  # multiprocessing Pool; False once it failed to start
        self.futures: dict[tuple, object] = {}  # run key -> AsyncResult
        self.seq_args: dict[tuple, tuple[tuple, dict]] = {}  # kept to score in-process if a worker fails
        self.progress_path = None  # results.json rewritten after every run when set
        self.states: dict[tuple, dict] = {}  # run key -> saved training state to continue (state_dir)

    # ------------------------------------------------------------------ helpers
    def elapsed(self) -> float:
        return time.perf_counter() - self.t_start

    def _sizes(self, kind: str) -> tuple[int, int]:
        return self.cfg.crop_size if kind == "crop" else self.cfg.strip_size

    def _prepare_data(self) -> None:
        c = self.cfg
        t = time.perf_counter()
        synth = dict(c.synth_overrides)
        train = qdata.make_split(c.train_sequences, c.frames_per_sequence, c.strip_size, c.crop_size, c.seed, **synth)
        val = qdata.make_split(c.val_sequences, c.frames_per_sequence, c.strip_size, c.crop_size, c.seed + 1000,
                               **synth)
        self.meta["data_seconds"] = time.perf_counter() - t
        self.y_train, self.y_val = train["crop"].viscosity, val["crop"].viscosity
        # per-frame drop displacement (crops: where they were cut; strips: tracked in the strip)
        self.motion = {k: (train[k].motion, val[k].motion) for k in ("crop", "strip")}
        self.train = {k: torch.from_numpy(train[k].frames).to(self.device) for k in c.kinds}
        self.val = {k: torch.from_numpy(val[k].frames).to(self.device) for k in c.kinds}
        self.keep = qdata.shown_frames(c.val_sequences, c.frames_per_sequence)
        self.samples["val"] = {k: val[k].frames[self.keep] for k in c.kinds}
        real = qdata.load_real_frames(c.real_dir)
        self.real, self.real_region = {}, {}
        if real is not None:
            frames, names = real
            self.meta["real_frames"] = names
            if "crop" in c.kinds:
                self.real["crop"] = qdata.real_crops(frames, c.crop_size)
                self.real_region["crop"] = None
            if "strip" in c.kinds:
                self.real["strip"], self.real_region["strip"] = qdata.real_strips(frames, c.strip_size)
            self.samples["real"] = dict(self.real)
        self.meta["frames"] = {k: {"train": int(self.train[k].shape[0]), "val": int(self.val[k].shape[0]),
                                   "size": list(self.train[k].shape[1:])} for k in c.kinds}
        log.info("data ready in %.1f s: %s", self.meta["data_seconds"],
                 {k: tuple(v.shape) for k, v in self.train.items()})

    def _score_sequences(self, run: Run, train_lat: np.ndarray, val_lat: np.ndarray) -> None:
        """R^2 of the sequence stage, in worker processes (the LSTM fits run on the CPU while
        the GPU trains the next network) or, without workers, right here. ``r2_lstm_pc``: on
        ``seq_reduce`` principal components, plus the drop's per-frame displacement (crops: of the crop
        origin; strips: of the dark-pixel centroid tracked in each strip)."""
        c = self.cfg
        extra_tr, extra_va = self.motion.get(run.kind, (None, None))
        args = (train_lat, self.y_train, val_lat, self.y_val, c.frames_per_sequence, c.lstm_epochs, 1)
        kw = {"reduce": c.seq_reduce, "train_extra": extra_tr, "test_extra": extra_va}
        if c.seq_workers > 0 and _can_spawn() and self.pool is not False:
            try:
                if self.pool is None:
                    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
                        os.environ[var] = "1"
                    import multiprocessing as mp
                    self.pool = mp.get_context("spawn").Pool(c.seq_workers)
                self.futures[run.key] = self.pool.apply_async(sequence_scores, args, kw)
                self.seq_args[run.key] = (args, kw)
                return
            except Exception:
                log.exception("sequence-stage workers unavailable; scoring in the main process")
                self.pool = False
        self._set_scores(run, sequence_scores(*args, **kw))

    @staticmethod
    def _set_scores(run: Run, scores: dict) -> None:
        run.r2_lstm = scores.get("r2_lstm", math.nan)
        run.r2_ridge = scores.get("r2_ridge", math.nan)
        run.r2_lstm_pc = scores.get("r2_lstm_pc", math.nan)

    def _score(self, run: Run, codec, kind: str) -> None:
        bs = self.cfg.batch_size  # the training batch: cuDNN's autotuned algorithms are reused
        ev: EvalResult = evaluate(codec, self.val[kind], keep=self.keep, batch=bs)
        run.metrics = ev.metrics
        self.samples[(kind, run.method, run.latent, run.budget)] = {"val": ev.recon}
        tr = evaluate(codec, self.train[kind], decode=False, batch=bs)
        self._score_sequences(run, tr.latents, ev.latents)
        if kind in self.real:
            frames = torch.from_numpy(self.real[kind]).to(self.device)
            rv = evaluate(codec, frames, keep=list(range(len(frames))), region=self.real_region[kind], batch=bs)
            run.real_metrics = rv.metrics
            self.samples[(kind, run.method, run.latent, run.budget)]["real"] = rv.recon

    # ------------------------------------------------------------------ PCA
    def _run_pca(self, kind: str, latents: tuple[int, ...]) -> None:
        frames = self.train[kind]
        k = min(max(latents), frames.shape[0])
        t = time.perf_counter()
        pca = PCA(k).fit(frames)
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        fit_s = time.perf_counter() - t
        for lat in latents:
            for budget in ("images", "seconds") if lat == self.cfg.reference_latent and kind == "crop" else ("images",):
                run = Run(kind, "pca", lat, budget, params=int(pca.components[:, :lat].numel() + pca.mean.numel()),
                          images_seen=int(frames.shape[0]), train_seconds=fit_s,
                          train_ips=frames.shape[0] / fit_s, note="closed form, one pass (exact, fp32)")
                self.runs.append(run)
                if budget == "seconds":  # same fit; listed so the seconds table is complete
                    src = next(r for r in self.runs if r.key == (kind, "pca", lat, "images"))
                    run.metrics, run.real_metrics, run.status = src.metrics, src.real_metrics, "ok"
                    run.note = "same fit as the images row"
                    self.futures[run.key] = self.futures.get(src.key)
                    run.r2_lstm, run.r2_ridge, run.r2_lstm_pc = src.r2_lstm, src.r2_ridge, src.r2_lstm_pc
                    continue
                if lat > k:
                    run.status, run.note = "skipped", f"PCA has at most {k} components here"
                    continue
                codec = pca_codec(pca, lat)
                self._score(run, codec, kind)
                run.status = "ok"
                log.info("%s pca L=%d: %.2f dB (fit %.1f s)", kind, lat, run.metrics["psnr"], fit_s)
        del pca
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    # ------------------------------------------------------------------ budgets
    def _calibrate(self, runs: list[Run]) -> dict[tuple[str, str], float]:
        ips: dict[tuple[str, str], float] = {}
        for run in runs:
            fam = (run.kind, run.method)
            if fam in ips or run.method == CONTROL:  # the control is never trained: no throughput to budget
                continue
            try:
                model = build_model(run.method, self.cfg.preset, self._sizes(run.kind), run.latent,
                                    dict(self.cfg.model_overrides)).to(self.device)
                ips[fam] = throughput(model, self.train[run.kind], batch=self.cfg.batch_size)
                del model
            except Exception as exc:  # noqa: BLE001 - report and go on
                log.warning("calibration of %s failed: %s", fam, exc)
        self.meta["calibrated_images_per_s"] = {f"{k}/{m}": v for (k, m), v in ips.items()}
        log.info("calibrated training images/s: %s [%.0f s]",
                 ", ".join(f"{k}/{m} {v:.0f}" for (k, m), v in ips.items()), self.elapsed())
        return ips

    def _fit_budget(self, runs: list[Run], ips: dict) -> tuple[int, float | None]:
        c = self.cfg
        if c.images_seen is not None:
            return c.images_seen, c.seconds
        ref_ips = ips.get(("crop", SECONDS_REFERENCE))
        coef, fixed = 0.0, 0.0
        for r in runs:
            v = ips.get((r.kind, r.method))
            if not v:
                continue
            n_eval = len(self.train[r.kind]) * 0.5 + len(self.val[r.kind])
            fixed += n_eval / (3 * v) + 1.0
            if r.budget == "seconds":
                if c.seconds is not None:
                    fixed += c.seconds
                elif ref_ips:
                    coef += 1.0 / ref_ips
            else:
                coef += (c.strip_images_ratio if r.kind == "strip" else 1.0) / v
        n = int((c.train_budget_s - fixed) / coef) if coef else c.batch_size * 50
        n = max(n, c.min_images, c.batch_size * 20)
        n -= n % c.batch_size
        self.meta["budget_fit"] = {"train_budget_s": c.train_budget_s, "fixed_s": fixed, "coef": coef}
        return n, c.seconds

    # ------------------------------------------------------------------ main
    def run(self) -> dict:
        c = self.cfg
        torch.manual_seed(c.seed)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        self.load_states()
        self._prepare_data()
        for kind in c.kinds:
            if "pca" in c.methods:
                try:
                    self._run_pca(kind, c.latents if kind == "crop" else c.strip_latents)
                except Exception as exc:
                    log.exception("PCA on %s failed", kind)
                    self.runs.append(Run(kind, "pca", c.reference_latent, "images", status="error",
                                         note=f"{type(exc).__name__}: {exc}"))
        self._save_progress()
        todo = plan(c)
        ips = self._calibrate(todo) if c.images_seen is None else {}
        n_images, seconds = self._fit_budget(todo, ips)
        self.meta.update(images_seen=n_images, strip_images_seen=strip_images(c, n_images))
        log.info("budget: %d images (crops), %d (strips); seconds budget %s", n_images,
                 strip_images(c, n_images), f"{seconds:.1f}" if seconds else f"= {SECONDS_REFERENCE}'s time")
        for run in todo:
            self.runs.append(run)
            if run.budget == "seconds" and seconds is None:
                ref = next((r for r in self.runs if r.key == ("crop", SECONDS_REFERENCE, c.reference_latent, "images")
                            and r.status == "ok"), None)
                if ref is None:
                    run.status, run.note = "skipped", f"no {SECONDS_REFERENCE} reference time"
                    continue
                seconds = ref.train_seconds
                self.meta["seconds"] = seconds
            self._train_and_score(run, n_images, seconds, ips)
            self._save_progress()
        if "crop" in c.kinds and seconds is not None and c.seconds is None:
            src = next((r for r in self.runs if r.key == ("crop", SECONDS_REFERENCE, c.reference_latent, "images")),
                       None)
            if src is not None and src.status == "ok":
                alias = replace(src, budget="seconds", note="same run as the images row (it defines S)")
                self.runs.append(alias)
                self.futures[alias.key] = self.futures.get(src.key)
        self._collect_sequence_scores()
        self.meta["total_seconds"] = self.elapsed()
        return {"meta": self.meta, "runs": [_jsonable(asdict(r)) for r in self.runs]}

    def load_states(self) -> None:
        """With ``state_dir``: the saved states of planned trainings, each checked against its run and
        training recipe before any data is made (a ValueError names a file that is unreadable or of
        another run)."""
        c = self.cfg
        if not c.state_dir:
            return
        for run in plan(c):
            if run.budget != "images":  # a seconds budget is measured anew in every call: never continued
                continue
            path = state_path(c.state_dir, run)
            state = load_state(path, identity(c, run))
            if state is None:
                continue
            recipe = {"batch": c.batch_size, "lr": c.lr, "beta2": c.beta2, "seed": c.train_seed,
                      "images": strip_images(c, c.images_seen) if run.kind == "strip" else c.images_seen,
                      "device": self.device.type, "recipe": c.recipe}
            try:
                check_recipe(state, recipe)
            except ValueError as exc:
                raise ValueError(f"{path}: {exc}; delete it to train that network from the start") from None
            self.states[run.key] = state
            log.info("%s continues from its saved state at %d images", "/".join(map(str, run.key)),
                     state["n_steps"] * state["recipe"]["batch"])

    def _save_state(self, run: Run, state: dict) -> None:
        """A stopped training's state written to ``state_dir`` (failure logged and noted, not fatal)."""
        path = state_path(self.cfg.state_dir, run)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            save_state(path, state, identity(self.cfg, run))
            note = f"its state is saved in {path}: run again with the same --train-state to continue"
        except Exception as exc:  # noqa: BLE001 - torch's writer reports a full disk as RuntimeError
            log.error("could not save the training state of %s to %s: %s", run.key, path, exc)
            note = f"could not save its training state ({getattr(exc, 'strerror', None) or exc})"
        run.note = "; ".join(filter(None, (run.note, note)))

    def _train_and_score(self, run: Run, n_images: int, seconds: float | None, ips: dict) -> None:
        c = self.cfg
        images = strip_images(c, n_images) if run.kind == "strip" else n_images
        v = ips.get((run.kind, run.method))
        est = (seconds if run.budget == "seconds" else images / v) if v else 0.0
        resume = self.states.pop(run.key, None)  # a saved state to continue (--train-state)
        if c.deadline_s is not None and self.elapsed() + max(est * 1.15 + 5, SCORE_MARGIN_S + 5) > c.deadline_s:
            run.status, run.note = "skipped", f"deadline ({c.deadline_s:.0f} s) before this run"
            log.warning("skip %s: deadline", run.key)
            return
        try:
            torch.manual_seed(c.train_seed)
            model = build_model(run.method, c.preset, self._sizes(run.kind), run.latent, dict(c.model_overrides))
            run.params = sum(p.numel() for p in model.parameters())
            model.to(self.device)
            if run.method == CONTROL:  # scored as built, at the initial weights train_seed gives
                run.train_seconds, run.note = 0.0, "control: aecnn spatial at its initial weights, never trained"
                self._score(run, model_codec(model), run.kind)
                self._save_model(run, model)
                run.status = "ok"
                log.info("%s %s L=%d: val %.2f dB, real %s dB [%.0f s]", run.kind, run.method, run.latent,
                         run.metrics["psnr"], f"{run.real_metrics['psnr']:.2f}" if run.real_metrics else "-",
                         self.elapsed())
                return
            budget = {"seconds": seconds} if run.budget == "seconds" else {"images": images}
            # A training that would outlive the deadline stops there and is scored as "cut" (never lost).
            stop_after = None if c.deadline_s is None else max(0.0, c.deadline_s - SCORE_MARGIN_S - self.elapsed())
            st = train(model, self.train[run.kind], batch=c.batch_size, lr=c.lr, seed=c.train_seed,
                       beta2=c.beta2, recipe=c.recipe, warmup_steps=c.warmup_steps, stop_after=stop_after,
                       resume=resume, **budget)
            run.images_seen, run.train_seconds, run.train_ips, run.final_loss, run.loss_curve = (
                st.images_seen, st.seconds, st.images_per_s, st.final_loss, st.loss_curve)
            if st.state is not None and c.state_dir and run.budget == "images":  # first, before scoring can fail
                self._save_state(run, st.state)
            if st.resumed_at:  # its seconds and images/s add up calls that may have run on other cards
                resumed = f"continued from a saved state at {st.resumed_at:,} images (seconds: of every call)"
                run.note = "; ".join(filter(None, (run.note, resumed)))
            rose = loss_rose(st.loss_curve)
            if rose:
                run.note = "; ".join(filter(None, (run.note, rose)))
                log.warning("%s %s L=%d (%s): %s", run.kind, run.method, run.latent, run.budget, rose)
            self._score(run, model_codec(model), run.kind)
            self._save_model(run, model)
            run.status = "ok"
            if st.stopped:  # scored, kept, but not the budget of the other rows: no target reads it
                run.status = "cut"
                at = f"at the deadline ({c.deadline_s:.0f} s)" if c.deadline_s is not None else "early"
                cut = f"training stopped {at} after {st.images_seen:,} images, not the budget of the other rows"
                run.note = "; ".join(filter(None, (run.note, cut)))
            elif resume is not None:  # completed and scored: a later run must not continue it again
                state_path(c.state_dir, run).unlink(missing_ok=True)
            log.info("%s %s L=%d (%s): %d img in %.1f s (%.0f img/s), loss %.2e, val %.2f dB, SSIM %.4f, "
                     "band %.2f dB, real %s dB [%.0f s]", run.kind, run.method, run.latent, run.budget,
                     st.images_seen, st.seconds, st.images_per_s, st.final_loss, run.metrics["psnr"],
                     run.metrics["ssim"], run.metrics["band_psnr"],
                     f"{run.real_metrics['psnr']:.2f}" if run.real_metrics else "-", self.elapsed())
        except Exception as exc:
            run.status, run.note = "error", f"{type(exc).__name__}: {exc}"
            log.exception("run %s failed", run.key)
        finally:
            model = None
            if self.device.type == "cuda":
                torch.cuda.empty_cache()

    def _save_model(self, run: Run, model: torch.nn.Module) -> None:
        """With ``models_dir``: the trained network, named after its run (a failure to write is
        logged, not fatal: the scores are what the run is for)."""
        if not self.cfg.models_dir:
            return
        path = Path(self.cfg.models_dir) / f"{run.kind}-{run.method}-L{run.latent}-{run.budget}.pt"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if hasattr(model, "get_config"):  # aecnn: a checkpoint that rebuilds itself
                save_checkpoint(path, model, quality_run={k: getattr(run, k) for k in (
                    "kind", "method", "latent", "budget", "images_seen")})
            else:  # V1: its state_dict, as the users' code saves it
                atomic_save(model.state_dict(), path)
            run.note = (run.note + "; " if run.note else "") + f"model: {path.name}"
        except OSError as exc:
            log.error("could not save the %s model to %s: %s", run.key, path, exc)
            run.note = (run.note + "; " if run.note else "") + f"could not save the model ({exc.strerror or exc})"

    def _collect_sequence_scores(self) -> None:
        from multiprocessing import TimeoutError as PoolTimeout

        if not self.futures:
            return
        for run in self.runs:
            fut = self.futures.get(run.key)
            if fut is None:
                continue
            # With a deadline the whole run ends by it: a call's hard limit (set just above the
            # deadline) must not kill the process while it waits for fits, or nothing is written.
            left = SEQ_TIMEOUT_S if self.cfg.deadline_s is None else max(
                1.0, self.cfg.deadline_s - FINISH_MARGIN_S - self.elapsed())
            try:
                scores = fut.get(timeout=left)
            except PoolTimeout:
                scores = {"r2_lstm": math.nan, "r2_ridge": math.nan}
                run.note = (run.note + "; " if run.note else "") + LATE_LSTM
                log.warning("%s: the sequence stage's LSTM fit did not finish by the deadline; R² LSTM not measured",
                            run.key)
                saved = self._args_for(run)
                if saved is not None:
                    scores["r2_ridge"] = sequence_scores(*saved[0], lstm=False)["r2_ridge"]
            except Exception as exc:  # noqa: BLE001 - a worker failed: score here instead
                log.warning("sequence-stage worker failed for %s (%s); scoring in the main process", run.key, exc)
                saved = self._args_for(run)
                late = self.cfg.deadline_s is not None and self.elapsed() > self.cfg.deadline_s - FINISH_MARGIN_S
                scores = sequence_scores(*saved[0], lstm=not late, **saved[1]) if saved is not None else {}
            self._set_scores(run, scores)
        if self.pool:  # unfinished fits are abandoned: end the workers, or exit would wait for them
            self.pool.terminate()
            self.pool.join()

    def _args_for(self, run: Run) -> tuple[tuple, dict] | None:
        fut = self.futures.get(run.key)
        return next((a for k, a in self.seq_args.items() if self.futures.get(k) is fut), None)

    def _save_progress(self) -> None:
        if self.progress_path is None:
            return
        import json

        try:
            self.progress_path.write_text(json.dumps(
                {"meta": _jsonable(self.meta), "runs": [_jsonable(asdict(r)) for r in self.runs], "partial": True}))
        except OSError:
            log.warning("could not write %s", self.progress_path)


def _can_spawn() -> bool:
    """Spawned workers re-import ``__main__``; ``python -m aecnn`` runs the CLI at import time."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return getattr(spec, "name", None) != "aecnn.__main__"


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, (np.floating, np.integer)):
        return _jsonable(obj.item())
    return obj


def run_benchmark(cfg: BenchConfig, progress_path=None) -> tuple[dict, dict]:
    """Run everything; returns (results as JSON-ready dict, samples for the figures).

    With ``progress_path``, the partial results are written there after every run (so a run
    cut short still leaves its numbers)."""
    bench = Benchmark(cfg)
    bench.progress_path = progress_path
    results = bench.run()
    return results, bench.samples
