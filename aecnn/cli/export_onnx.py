"""``aecnn export-onnx CKPT --out DIR``: encoder.onnx + decoder.onnx, checked with onnxruntime.

Success is reported only after both files ran through onnxruntime at batch sizes 1 and 3 and
matched PyTorch within the tolerance; otherwise the command ends with exit status 2.
"""
from __future__ import annotations

import argparse
import sys

from aecnn.cli.common import add_checkpoint_arguments, at_least, load_model_from_args, positive
from aecnn.cli.errors import CLIError


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_checkpoint_arguments(p)
    p.add_argument("--out", "-o", required=True, help="output folder (encoder.onnx, decoder.onnx, onnx.json)")
    p.add_argument("--input-size", "--input_size", nargs=2, type=int, metavar=("H", "W"), default=None,
                   help="image size the ONNX files take (default: the model's input_size)")
    p.add_argument("--opset", type=at_least(7), default=None, help="ONNX opset (default: the exporter's; the "
                   "dynamo exporter may write another, which onnx.json records)")
    p.add_argument("--exporter", choices=("auto", "dynamo", "torchscript"), default="auto",
                   help="auto: torch.export-based first, TorchScript if it fails")
    p.add_argument("--atol", type=positive, default=1e-4,
                   help="fail if max |onnxruntime - PyTorch| > atol * max(1, max |output|) (default 1e-4)")
    p.add_argument("--no-check", action="store_true", help="skip the onnxruntime check (not recommended)")


def run(args: argparse.Namespace) -> int:
    from aecnn.inference.onnx_export import export_onnx
    from aecnn.inference.reconstruct import check_writable_dir

    check = not args.no_check
    if check:
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            raise CLIError("the check needs onnxruntime (pip install 'aecnn[onnx]'), or pass --no-check") from None
    check_writable_dir(args.out)
    if args.device != "auto" and not args.device.startswith("cpu"):
        print(f"note: --device {args.device} is not used: the export and its check run on the CPU in fp32",
              file=sys.stderr)
    args.device = "cpu"  # exported and checked in fp32 on CPU
    model = load_model_from_args(args)
    report = export_onnx(model, args.out, input_size=tuple(args.input_size) if args.input_size else None,
                         opset=args.opset, exporter=args.exporter, check=check, atol=args.atol)
    for line in report.lines():
        print(line)
    if not report.checks:
        print("  not checked (--no-check): onnx.json records ok: false, checked: false")
        return 0
    if not report.ok:
        bad = ", ".join(f"{k} {c.max_abs_diff:.3e} > {c.tolerance:.1e}" for k, c in report.checks.items() if not c.ok)
        raise CLIError(f"ONNX outputs differ from PyTorch ({bad}); files left in {args.out} for inspection")
    return 0
