"""``recipe="train"``: the benchmark's loop with aecnn train's optimiser and schedule (eval-quality --recipe)."""
from __future__ import annotations

import math

import pytest
import torch

from aecnn.quality import loop
from aecnn.quality.loop import _optimizer, _train_lr, train
from aecnn.quality.plan import BenchConfig
from aecnn.train.config import TrainConfig
from aecnn.train.optim import LRSchedule


def _net() -> torch.nn.Module:
    torch.manual_seed(3)
    return torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                               torch.nn.Conv2d(4, 1, 3, padding=1))


@pytest.fixture
def frames() -> torch.Tensor:
    return torch.randint(0, 256, (20, 12, 12), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))


def test_the_train_recipe_decays_weights_only_and_the_bench_recipe_everything():
    net = _net()
    bench = _optimizer(net, 1e-3, torch.device("cpu"), 0.99, "bench")
    assert [g["weight_decay"] for g in bench.param_groups] == [1e-4] and bench.param_groups[0]["betas"] == (0.9, 0.99)
    ours = _optimizer(net, 1e-3, torch.device("cpu"), 0.95, "train")
    decay, no_decay = ours.param_groups
    assert decay["weight_decay"] == TrainConfig.weight_decay and no_decay["weight_decay"] == 0.0
    assert {p.ndim for p in decay["params"]} == {4} and {p.ndim for p in no_decay["params"]} == {1}  # biases, norms
    assert decay["betas"] == (0.9, 0.95)


def test_the_train_recipe_schedule_is_aecnn_trains():
    # 20 frames in batches of 4: one epoch (the warm-up) is 5 steps; 300 steps in all
    at = _train_lr(3e-3, 20, 4, 300)
    ref = LRSchedule("cosine", 3e-3, 5, 300, min_lr_ratio=TrainConfig.min_lr_ratio)
    assert [at(s, s / 300) for s in range(300)] == [ref.lr(s) for s in range(300)]
    assert at(0, 0.0) == pytest.approx(3e-3 / 5) and at(4, 0.0) == pytest.approx(3e-3)
    assert at(299, 1.0) == pytest.approx(3e-3 * TrainConfig.min_lr_ratio, rel=0.01)  # the floor, not 0
    by_time = _train_lr(3e-3, 20, 4, None)  # a seconds budget: the same warm-up in steps, the cosine in time
    assert by_time(2, 0.5) == pytest.approx(3e-3 * 3 / 5)
    assert by_time(50, 0.5) == pytest.approx(3e-3 * (0.01 + 0.99 * 0.5))
    assert by_time(50, 1.0) == pytest.approx(3e-3 * 0.01)
    assert loop._lr_factor(1.0) == pytest.approx(0.0, abs=1e-12)  # the bench recipe ends at 0


@pytest.mark.parametrize("recipe, clipped", [("bench", True), ("train", False)])
def test_only_the_bench_recipe_clips_gradients(frames, monkeypatch, recipe, clipped):
    calls = []
    real = torch.nn.utils.clip_grad_norm_
    monkeypatch.setattr(loop.nn.utils, "clip_grad_norm_", lambda *a, **k: calls.append(1) or real(*a, **k))
    st = train(_net(), frames, images=40, batch=4, lr=1e-3, warmup_steps=0, recipe=recipe)
    assert st.images_seen == 40 and math.isfinite(st.final_loss)
    assert len(calls) == (10 if clipped else 0)


def test_the_recipes_train_differently_and_a_state_keeps_its_recipe(frames):
    kw = {"images": 200, "batch": 4, "lr": 3e-3, "seed": 5, "warmup_steps": 0}
    a, b = _net(), _net()
    train(a, frames, recipe="bench", **kw)
    train(b, frames, recipe="train", **kw)
    assert not torch.equal(a[0].weight, b[0].weight)
    first = train(_net(), frames, recipe="train", stop_after_images=40, **kw)
    with pytest.raises(ValueError, match=r"recipe: saved 'train', now 'bench'"):
        train(_net(), frames, resume=first.state, recipe="bench", **kw)
    with pytest.raises(ValueError, match="recipe must be one of"):
        train(_net(), frames, recipe="nanogpt", **kw)
    with pytest.raises(ValueError, match="recipe must be one of bench, train"):
        BenchConfig(recipe="nanogpt")
