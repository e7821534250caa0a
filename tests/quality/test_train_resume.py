"""A benchmark training stopped part-way continues from its state as if it had not stopped."""
from __future__ import annotations

import pytest
import torch

from aecnn.quality.loop import train


def _net() -> torch.nn.Module:
    torch.manual_seed(3)
    return torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                               torch.nn.Conv2d(4, 1, 3, padding=1))  # dropout: the global RNG is part of the state


@pytest.fixture
def frames() -> torch.Tensor:
    return torch.randint(0, 256, (20, 12, 12), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))


# 300 steps of 4 over 20 frames; a pause at 44 images falls inside an epoch (step 11) and inside a loss-curve
# segment (100 points: 3 steps each; 11 = 3 * 3 + 2); one at 24 images (step 6) in the lr's warm-up (3 %: 9 steps)
KW = {"images": 1200, "batch": 4, "lr": 3e-3, "seed": 5, "warmup_steps": 2}


@pytest.mark.parametrize("pause", [24, 44, 1180])  # in the warm-up; early; and late, where the final loss's 20-step
# window spans both calls
def test_a_resumed_training_is_the_uninterrupted_one_bit_for_bit(frames, pause):
    full_model = _net()
    full = train(full_model, frames, **KW)
    model = _net()
    first = train(model, frames, stop_after_images=pause, **KW)
    assert first.stopped and first.images_seen == pause and first.state is not None
    assert first.loss_curve[-1][0] == pause  # the cut segment is shown
    state = torch.load(_roundtrip(first.state), weights_only=True)  # what a later process reads
    state["seconds"] = 1000.0  # stands for a long first call: the seconds of both calls add up
    again = _net()  # a fresh process builds the model afresh; its weights come from the state
    rest = train(again, frames, resume=state, **KW)
    assert not rest.stopped and rest.state is None and rest.resumed_at == pause and rest.images_seen == 1200
    for (k, a), b in zip(full_model.state_dict().items(), again.state_dict().values()):
        assert torch.equal(a, b), k
    assert rest.loss_curve == full.loss_curve and rest.final_loss == full.final_loss
    assert 1000.0 < rest.seconds < 1000.0 + full.seconds * 10


def test_a_state_is_refused_by_another_training(frames):
    first = train(_net(), frames, stop_after_images=8, **KW)
    with pytest.raises(ValueError, match=r"another training \(lr: saved 0.003, now 0.001; seed: saved 5, now 6\)"):
        train(_net(), frames, resume=first.state, **{**KW, "lr": 1e-3, "seed": 6})
    with pytest.raises(ValueError, match="frames: saved"):
        train(_net(), frames[:10], resume=first.state, **KW)
    with pytest.raises(ValueError, match="not a benchmark training state"):
        train(_net(), frames, resume={"model": {}}, **KW)
    with pytest.raises(ValueError, match="another training"):  # the format alone, no recipe: named, not a KeyError
        train(_net(), frames, resume={"format": first.state["format"]}, **KW)


def test_a_state_resumed_before_its_first_epoch_draw(frames):
    first = train(_net(), frames, stop_after_images=0, **KW)  # stopped before any step: no batch order yet
    assert first.stopped and first.images_seen == 0 and first.state["perm"].numel() == 0
    model = _net()
    rest = train(model, frames, resume=first.state, **KW)
    full_model = _net()
    train(full_model, frames, **KW)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), full_model.state_dict().values()))
    assert rest.images_seen == 1200


def _roundtrip(state: dict):
    import io

    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    return buf


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_a_resumed_training_on_cuda_matches_the_uninterrupted_one():
    # the CUDA batch-order generator, the fused AdamW state and bf16 autocast survive the round trip through
    # a file: the resumed weights are the uninterrupted ones (up to cuDNN's nondeterministic kernels)
    frames = torch.randint(0, 256, (20, 12, 12), dtype=torch.uint8, generator=torch.Generator().manual_seed(1)).cuda()
    torch.backends.cudnn.deterministic = True
    try:
        full_model = _net()
        full = train(full_model, frames, **KW)
        first = train(_net(), frames, stop_after_images=44, **KW)
        again = _net()
        rest = train(again, frames, resume=torch.load(_roundtrip(first.state), weights_only=True), **KW)
    finally:
        torch.backends.cudnn.deterministic = False
    assert first.state["optimizer"]["param_groups"][0]["fused"] and rest.images_seen == 1200
    for (k, a), b in zip(full_model.state_dict().items(), again.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6, msg=k)
    assert [n for n, _ in rest.loss_curve] == [n for n, _ in full.loss_curve]
    assert [v for _, v in rest.loss_curve] == pytest.approx([v for _, v in full.loss_curve], rel=1e-3)
