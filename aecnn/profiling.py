"""Parameter and FLOP counts (``torch.utils.flop_counter``), shared by ``info`` and ``bench``."""
from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_flops(model: nn.Module, input_size: tuple[int, int], backward: bool = False,
                batch: int = 1) -> float:
    """FLOPs of one forward (and backward, if asked) pass per image, counted by PyTorch's
    FlopCounterMode on the CPU (convolutions, matmuls and attention; elementwise ops are not counted).
    """
    device = next(model.parameters()).device
    batch = max(batch, 2) if backward else batch  # batch norm needs two samples in training mode
    x = torch.rand(batch, 1, *input_size, device=device)
    was_training = model.training
    model.train(backward)
    try:
        with FlopCounterMode(display=False) as counter:
            if backward:
                model(x).float().square().mean().backward()
            else:
                with torch.no_grad():
                    model(x)
    finally:
        model.train(was_training)
        if backward:
            model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / batch
