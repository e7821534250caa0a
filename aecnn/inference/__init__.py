"""Using a trained model: reconstruct images, write latents, visualise attention, export ONNX.

::

    checkpoint -> aecnn.checkpoint.load_model -> AutoEncoder_CNNV3
      -> reconstruct_files   images -> recon/, compare/, metrics.csv (PSNR, SSIM, MSE)
      -> embed_frames        frame folder -> latents .npz/.h5/.pt + index -> load_embeddings
      -> visualize_attention one image -> figure (input, recon, attention matrix, saliency, query map)
      -> export_onnx         encoder.onnx + decoder.onnx, checked with onnxruntime

matplotlib and onnxruntime are imported only when a function needs them.
"""
from __future__ import annotations

from aecnn.inference.embed import (
    Embeddings,
    LatentWriter,
    embed_frames,
    load_embeddings,
    open_frames,
    save_embeddings,
)
from aecnn.inference.onnx_export import OnnxExportReport, export_onnx
from aecnn.inference.reconstruct import (
    expand_inputs,
    image_metrics,
    load_image,
    reconstruct_files,
    reconstruct_tensor,
    resolve_device,
)
from aecnn.inference.visualize import compute_attention, visualize_attention

__all__ = ["Embeddings", "LatentWriter", "OnnxExportReport", "compute_attention", "embed_frames",
           "expand_inputs", "export_onnx", "image_metrics", "load_embeddings", "load_image", "open_frames",
           "reconstruct_files", "reconstruct_tensor", "resolve_device", "save_embeddings", "visualize_attention"]
