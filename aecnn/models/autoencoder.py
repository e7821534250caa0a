"""AutoEncoder_CNNV3: a skip-free convolutional autoencoder for grayscale images of any size."""
from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import fields
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from aecnn.models.blocks import make_block
from aecnn.models.bottleneck import Bottleneck, resample
from aecnn.models.config import MIN_SIZE, AutoEncoderConfig
from aecnn.models.geometry import ceil_to, feature_grid, plan_conv, plan_spatial
from aecnn.models.layers import ConvNormAct, NearestUpsample


def _stage(cin: int, cout: int, stride: int, block: str, n: int, cfg: AutoEncoderConfig,
           up: bool) -> nn.Sequential:
    """Encoder stage: strided 3x3 then ``n`` blocks. Decoder stage: ``n`` blocks, then
    nearest-upsample + 3x3 (no transposed convs: no checkerboard, any size)."""
    blocks = [make_block(block, cin if up else cout, cfg.norm, cfg.activation) for _ in range(n)]
    if up:
        resize = [NearestUpsample(stride)] if stride > 1 else []
        return nn.Sequential(*blocks, *resize, ConvNormAct(cin, cout, 3, norm=cfg.norm, act=cfg.activation))
    return nn.Sequential(ConvNormAct(cin, cout, 3, stride=stride, norm=cfg.norm, act=cfg.activation), *blocks)


@contextmanager
def _running_stats_kept(module: nn.Module) -> Iterator[None]:
    """Normalisation layers in ``module`` use batch statistics as usual but leave their running
    statistics as they found them (gradient checkpointing's recompute, interpretation calls)."""
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._NormBase) and m.track_running_stats]
    saved = [(m.momentum, m.num_batches_tracked.clone() if m.num_batches_tracked is not None else None)
             for m in norms]
    for m in norms:
        m.momentum = 0.0  # running = (1 - 0) * running + 0 * batch: unchanged, bit for bit
    try:
        yield
    finally:
        with torch.no_grad():
            for m, (momentum, count) in zip(norms, saved):
                m.momentum = momentum
                if count is not None:
                    m.num_batches_tracked.copy_(count)


# folders (with the separator, so ".../torch" does not also claim ".../torch_geometric") a warning skips
_OWN_FILES = tuple(str(p) + os.sep for p in (Path(__file__).resolve().parents[1], Path(torch.__file__).resolve().parent))


def _caller_stacklevel() -> int:
    """``stacklevel`` of the first frame outside aecnn and torch, so a warning names the user's line."""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(_OWN_FILES):
        frame, level = frame.f_back, level + 1
    return level


_FIELD_DEFAULTS = {f.name: f.default for f in fields(AutoEncoderConfig)}


class AutoEncoder_CNNV3(nn.Module):
    """Convolutional autoencoder whose decoder sees the image only through the latent.

    ::

        x (B,1,H,W) -pad (replicate) to multiple M-> stem 3x3 -> [stage: stride-s 3x3, blocks] x S
          -> features (B,C,h,w) -> area-resample to fixed grid (gh,gw) -> self-attention (SDPA)
          -> 1x1 -> latent: 'conv' flatten + Linear -> (B,L) | 'spatial' (B,c,gh,gw), c*gh*gw = L
          -> [dropout, training only, if DropOut]
        latent -> [Linear] -> 1x1 -> bilinear to (h',w') -> 3x3 -> [blocks, nearest-up, 3x3] x S
          -> 3x3 to 1 channel -> crop to (H,W)

    Bottleneck choice: instead of pooling every feature map to 4x4 (the seed's design) or
    global average pooling (which the users found removes spatial information), the encoder
    keeps a grid that follows the input's aspect ratio — the stride-8 feature map, pooled by
    the smallest power of two that leaves at most ``max_grid_positions`` (256) positions:
    13x13 for 201x201 crops, 5x40 for 1280x152 strips. A 1x1 conv reduces the channels
    (``bottleneck_channels``, 8) before the linear layer, which keeps the linear layer small
    (13*13*8 = 1352 inputs) even for wide strips. Manakov et al. 2019 (arXiv 1911.07460) found
    that the bottleneck's spatial area matters more for reconstruction than its channel count,
    which is why area is kept and channels are cut. Attention runs over the grid positions.
    With ``latent_strategy='spatial'`` there is no linear layer: the latent is the reduced grid
    itself (16x16x2 for 201x201 at latent 512). The presets use it, as it reconstructed better
    in every comparison we ran (see ``PRESETS`` in config.py and benchmarks/QUALITY.md).

    Inputs of any size >= 32x32 are padded (replicate, bottom/right) to a multiple of the
    total stride and the output is cropped back, so no row or column is dropped or invented;
    inputs of another size than ``input_size`` are area-resampled onto the same grid.

    Args: see :class:`~aecnn.models.config.AutoEncoderConfig`; every field is a keyword here. With
    ``config=``, the keywords given beside it override its fields (a value equal to the constructor's
    default cannot be told from none given: use ``config.replace(...)`` for those).

    Inputs: ``(B, 1, H, W)`` floating point; a dtype other than the parameters' (float64 from
    ``torch.from_numpy``, say) is cast to theirs, so outputs come in the parameters' dtype.
    """

    def __init__(self, latent_size: int = 512, block_config: list[str] | tuple[str, ...] = ("resnet", "se", "resnet"),
                 channel_config: list[int] | tuple[int, ...] = (64, 128, 256),
                 stride_config: list[int] | tuple[int, ...] = (2, 2, 2), latent_strategy: str = "conv",
                 use_attention: bool = True, input_size: tuple[int, int] = (201, 201), DropOut: bool = False,
                 embedding_dim: int | None = None, *, config: AutoEncoderConfig | None = None,
                 **kwargs: Any) -> None:
        super().__init__()
        given = {"latent_size": latent_size, "block_config": block_config, "channel_config": channel_config,
                 "stride_config": stride_config, "latent_strategy": latent_strategy,
                 "use_attention": use_attention, "input_size": input_size, "DropOut": DropOut,
                 "embedding_dim": embedding_dim}
        if config is None:
            config = AutoEncoderConfig(**given, **kwargs)
        else:  # keywords beside config= override its fields (they used to be dropped without a word)
            changed = {k: v for k, v in given.items()
                       if (tuple(v) if isinstance(v, list) else v) != _FIELD_DEFAULTS[k]}
            if "latent_size" in changed and "embedding_dim" not in changed:
                changed["embedding_dim"] = None  # else the config's embedding_dim would win again
            if changed or kwargs:
                config = config.replace(**changed, **kwargs)
        cfg = self.config = config
        chans, strides = cfg.channel_config, cfg.stride_config
        stride = cfg.total_stride
        if cfg.latent_strategy == "conv":
            plan = plan_conv(cfg.input_size, stride, cfg.bottleneck_channels, cfg.max_grid_positions,
                             cfg.bottleneck_grid)
        else:
            plan = plan_spatial(cfg.latent_size, cfg.input_size, stride, cfg.max_grid_positions,
                                cfg.spatial_channels)
        self.plan = plan
        self.latent_size = self.embedding_dim = cfg.latent_size
        self.DropOut = cfg.DropOut
        self.dropout = nn.Dropout(cfg.dropout_p)
        self.gradient_checkpointing = cfg.gradient_checkpointing

        n = cfg.blocks_per_stage
        self.stem = ConvNormAct(1, chans[0], 3, norm=cfg.norm, act=cfg.activation)
        ins = (chans[0], *chans[:-1])
        self.encoder = nn.ModuleList(
            _stage(ci, co, s, b, n, cfg, up=False) for ci, co, s, b in zip(ins, chans, strides, cfg.block_config))
        self.bottleneck = Bottleneck(chans[-1], cfg.latent_size, plan, cfg.latent_strategy, cfg.use_attention,
                                     cfg.attention_heads, cfg.norm, cfg.activation)
        self.decoder = nn.ModuleList(
            _stage(co, ci, s, b, n, cfg, up=True)
            for ci, co, s, b in reversed(list(zip(ins, chans, strides, cfg.block_config))))
        self.head = nn.Conv2d(chans[0], 1, 3, padding=1)
        self._warned_transpose = False
        self._register_load_state_dict_pre_hook(_strip_orig_mod)

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        """The architecture as a plain dict; :meth:`from_config` rebuilds it."""
        d = self.config.to_dict()
        d["DropOut"] = bool(self.DropOut)
        return d

    @classmethod
    def from_config(cls, config: dict[str, Any] | AutoEncoderConfig) -> AutoEncoder_CNNV3:
        if not isinstance(config, AutoEncoderConfig):
            config = AutoEncoderConfig.from_dict(dict(config))
        return cls(config=config)

    @property
    def latent_shape(self) -> tuple[int, ...]:
        """Native latent shape without batch: ``(L,)`` for 'conv', ``(c, gh, gw)`` for 'spatial'."""
        return self.bottleneck.latent_shape

    # ------------------------------------------------------------------ checks
    def _check_input(self, x: torch.Tensor) -> torch.Tensor:
        """Refuse what the network cannot take, with the reason; return ``x`` in the parameters' dtype.

        Under ``torch.compile`` the value checks (NaN / Inf, transposed size) are skipped: they would
        read the tensor back to the host on every call.
        """
        if not isinstance(x, torch.Tensor):
            # ValueError, as for every other bad input: the CLI turns ValueErrors into one-line messages
            raise ValueError(f"expected a torch.Tensor of shape (B, 1, H, W), got {type(x).__name__}")  # noqa: TRY004
        if x.ndim != 4:
            raise ValueError(f"expected a 4-D tensor (B, 1, H, W), got {x.ndim}-D shape {tuple(x.shape)}")
        if x.shape[1] != 1:
            raise ValueError(f"expected 1 channel (grayscale), got {x.shape[1]} in shape {tuple(x.shape)}; "
                             "convert colour images to grayscale first")
        if x.shape[-2] < MIN_SIZE or x.shape[-1] < MIN_SIZE:
            raise ValueError(f"image {x.shape[-2]}x{x.shape[-1]} (H x W) is below the minimum {MIN_SIZE}x{MIN_SIZE}")
        if not x.is_floating_point():
            raise ValueError(f"expected a floating-point tensor, got {x.dtype}; scale images to [0, 1] floats")
        if not torch.compiler.is_compiling():
            if not bool(torch.isfinite(x).all()):
                raise ValueError("input contains NaN or Inf values")
            h, w = self.config.input_size
            if not self._warned_transpose and h != w and tuple(x.shape[-2:]) == (w, h):
                self._warned_transpose = True
                warnings.warn(f"input is {x.shape[-2]}x{x.shape[-1]} (H x W), the transpose of this model's "
                              f"input_size {h}x{w}; aecnn sizes are (H, W) as in PyTorch, e.g. input_size=(152, 1280) "
                              "for a 1280-wide strip", stacklevel=_caller_stacklevel())
        return x.to(self.head.weight.dtype)

    # ------------------------------------------------------------------ encoder / decoder
    def _run(self, module: nn.Module, x: torch.Tensor) -> torch.Tensor:
        if self.gradient_checkpointing and self.training and torch.is_grad_enabled():
            if torch.compiler.is_compiling():  # AOTAutograd already updates running statistics once
                return checkpoint(module, x, use_reentrant=False)
            # Eager recompute runs the stage's forward again in training mode: without this its batch
            # norms would take every batch into their running statistics twice.
            return checkpoint(module, x, use_reentrant=False,
                              context_fn=lambda: (nullcontext(), _running_stats_kept(module)))
        return module(x)

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        m = self.plan.multiple
        ph, pw = ceil_to(x.shape[-2], m) - x.shape[-2], ceil_to(x.shape[-1], m) - x.shape[-1]
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="replicate")
        x = self.stem(x)
        for stage in self.encoder:
            x = self._run(stage, x)
        return x  # (B, C, h, w)

    def Embedding(self, x: torch.Tensor) -> torch.Tensor:
        """Latent in its native form: ``(B, L)`` for 'conv', ``(B, c, gh, gw)`` for 'spatial'.

        Dropout (``DropOut=True``) is applied in training mode only.
        """
        x = self._check_input(x)
        z = self.bottleneck.encode(self._features(x))
        if self.DropOut and self.training:
            z = self.dropout(z)
        return z

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Flat latent ``(B, latent_size)`` for both strategies."""
        return self.Embedding(x).flatten(1)

    def decode(self, latent: torch.Tensor, output_size: tuple[int, int] | None = None) -> torch.Tensor:
        """Image ``(B, 1, H, W)`` of ``output_size`` (default ``input_size``) from a latent.

        Args:
            latent: ``(B, latent_size)``, or the native ``(B, c, gh, gw)`` for 'spatial'.
            output_size: (H, W) of the image to produce; each side >= 32.
        """
        size = output_size if output_size is not None else self.config.input_size
        if not isinstance(size, (tuple, list, torch.Size)) or len(size) != 2 or min(int(v) for v in size) < MIN_SIZE:
            raise ValueError(f"output_size must be (H, W) with both >= {MIN_SIZE}, got {output_size!r}")
        size = (int(size[0]), int(size[1]))
        if not isinstance(latent, torch.Tensor) or not latent.is_floating_point():
            raise ValueError(f"latent must be a floating-point torch.Tensor, got "
                             f"{latent.dtype if isinstance(latent, torch.Tensor) else type(latent).__name__}")
        latent = latent.to(self.head.weight.dtype)
        shape = self.latent_shape
        if latent.ndim == 2 and latent.shape[1] == self.latent_size:
            z = latent.view(latent.shape[0], *shape)
        elif tuple(latent.shape[1:]) == shape:
            z = latent
        else:
            raise ValueError(f"latent of shape {tuple(latent.shape)} does not match this model: expected "
                             f"(B, {self.latent_size})" + (f" or (B, {', '.join(map(str, shape))})" if len(shape) > 1 else ""))
        x = self.bottleneck.decode(z, feature_grid(size, self.plan.multiple, self.config.total_stride))
        for stage in self.decoder:
            x = self._run(stage, x)
        x = self.head(x)[..., : size[0], : size[1]]
        if self.config.output_activation == "sigmoid":
            x = torch.sigmoid(x)
        elif self.config.output_activation == "clamp":
            x = x.clamp(0.0, 1.0)
        return x

    decode_from_latent = decode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction with exactly the input's height and width."""
        return self.decode(self.Embedding(x), tuple(x.shape[-2:]))

    # ------------------------------------------------------------------ interpretation
    @torch.no_grad()
    def get_attention_matrix(self, x: torch.Tensor) -> torch.Tensor | None:
        """Self-attention weights over the ``N = gh*gw`` grid positions, ``(B, N, N)``, rows
        summing to 1 (mean over heads); ``None`` when ``use_attention=False``. In training mode
        the normalisation layers use the batch's statistics and keep their running ones."""
        x = self._check_input(x)
        attn = self.bottleneck.attn
        if attn is None:
            return None
        with _running_stats_kept(self) if self.training else nullcontext():
            return attn.attention_weights(resample(self._features(x), self.plan.grid))

    def get_attention_map(self, x: torch.Tensor) -> torch.Tensor:
        """Saliency ``(B, 1, H, W)``: |d MSE(recon, x) / d x| per pixel.

        Leaves no gradients on the parameters, keeps train/eval mode, and restores the
        normalisation running statistics if the model is in training mode.
        """
        if torch.is_inference_mode_enabled():
            raise RuntimeError("get_attention_map needs gradients, which torch.inference_mode() turns off; "
                               "call it outside inference_mode (torch.no_grad() around it is fine)")
        self._check_input(x)
        xi = x.detach().clone().requires_grad_(True)
        with torch.enable_grad(), _running_stats_kept(self) if self.training else nullcontext():
            loss = F.mse_loss(self(xi).float(), x.detach().float(), reduction="sum")
            (grad,) = torch.autograd.grad(loss, xi)
        return grad.abs()


def _strip_orig_mod(state_dict: dict, prefix: str, *args: Any) -> None:
    """Load hook: accept checkpoints of a ``torch.compile``d model (keys with ``_orig_mod.``)."""
    for key in [k for k in state_dict if "_orig_mod." in k]:
        state_dict[key.replace("_orig_mod.", "")] = state_dict.pop(key)
