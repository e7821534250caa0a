"""``aecnn visualize CKPT --input IMAGE --output attention.png`` (or ``--checkpoint CKPT``).

Accepts the seed's ``infer_and_visualize.py`` flags (``--checkpoint``, ``--input``, ``--output``,
``--model_size``, ``--latent_size``, ``--input_size``, ``--device``). One figure: input,
reconstruction, self-attention matrix, saliency overlay and the attention of one query position.
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

from aecnn.cli.aliases import add_positional_alias
from aecnn.cli.common import add_checkpoint_arguments, load_model_from_args

logger = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", "-c", help="aecnn checkpoint, .safetensors or plain state_dict")
    add_positional_alias(p, "checkpoint", "--checkpoint", "CKPT", "aecnn checkpoint, .safetensors or plain state_dict")
    p.add_argument("--input", "-i", required=True, help="one image file (PNG, TIFF, JPEG, BMP or .npy)")
    p.add_argument("--output", "-o", default="attention.png", help="figure file (default attention.png; a folder "
                   "gets attention.png inside, a name without an extension gets .png)")
    add_checkpoint_arguments(p, positional=False)
    p.add_argument("--input-size", "--input_size", nargs=2, type=int, metavar=("H", "W"), default=None,
                   help="resize the image to H x W first (and, for plain state_dicts, the model's input_size)")
    p.add_argument("--query", nargs="+", type=int, metavar="Q", default=None,
                   help="query grid position: flat index N or ROW COL (default: the most salient cell)")
    p.add_argument("--no-matrix", action="store_true", help="leave out the attention matrix panel")
    p.add_argument("--no-heatmap", action="store_true", help="leave out the saliency heatmap panel")
    p.add_argument("--dpi", type=int, default=110)


def run(args: argparse.Namespace) -> int:
    import torch

    from aecnn.cli.errors import CLIError
    from aecnn.inference.reconstruct import check_writable_dir, load_image, save_figure
    from aecnn.inference.visualize import visualize_attention

    if not args.checkpoint:
        raise CLIError("which model? give its checkpoint: aecnn visualize CKPT --input IMAGE (or --checkpoint CKPT)")
    if args.query is not None and len(args.query) not in (1, 2):
        raise CLIError("--query takes one flat index or ROW COL")
    img = load_image(args.input)
    args.output = str(_figure_path(args.output))
    check_writable_dir(Path(args.output).parent)
    if args.input_size and not args.model_input_size:
        args.model_input_size = args.input_size
    model = load_model_from_args(args)
    x = torch.from_numpy(img.pixels)[None, None]  # (1, 1, H, W)
    if args.input_size:
        x = torch.nn.functional.interpolate(x, size=tuple(args.input_size), mode="bilinear",
                                            align_corners=False, antialias=True).clamp(0, 1)
    size = tuple(x.shape[-2:])
    if size != tuple(model.config.input_size):
        logger.warning("image is %dx%d (H x W), the model's input_size is %dx%d: running at the image's size",
                       *size, *model.config.input_size)
    query = None if args.query is None else (args.query[0] if len(args.query) == 1 else tuple(args.query))
    fig = visualize_attention(model, x, show_matrix=not args.no_matrix, show_heatmap=not args.no_heatmap,
                              query=query, title=Path(args.input).name)
    save_figure(fig, args.output, dpi=args.dpi)
    grid = model.plan.grid
    attn = "on" if model.bottleneck.attn is not None else "off (no matrix)"
    print(f"wrote {args.output} ({size[0]}x{size[1]} (H x W) input, bottleneck grid {grid[0]}x{grid[1]} (gh x gw), "
          f"attention {attn})")
    return 0


def _figure_path(output: str) -> Path:
    """Where the figure goes: ``output`` itself, ``output/attention.png`` for a folder, ``output.png`` for a
    name without an extension; an extension matplotlib cannot write is refused, naming those it can."""
    from matplotlib.figure import Figure

    from aecnn.cli.errors import CLIError

    path = Path(output).expanduser()
    if path.is_dir():
        return path / "attention.png"
    if not path.suffix:
        return path.with_suffix(".png")
    formats = Figure().canvas.get_supported_filetypes()
    if path.suffix.lstrip(".").lower() not in formats:
        raise CLIError(f"--output {output}: matplotlib cannot write {path.suffix!r} figures; "
                       f"use one of {', '.join('.' + f for f in sorted(formats))}")
    return path
