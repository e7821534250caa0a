"""Data loading: image files and stacks → frame index → decoded-frame cache → torch datasets.

``make_datasets(root, Geometry(...))`` does it all; the pieces are exported for
embedding, benchmarking and in-memory (synthetic) data.
"""
from __future__ import annotations

from aecnn.data.cache import FrameCache, default_cache_dir
from aecnn.data.dataset import (
    RESIZE_MODES,
    ArrayFrameDataset,
    DataSummary,
    FrameDataset,
    Geometry,
    WidthBucketBatchSampler,
    apply_geometry,
    load_split,
    make_datasets,
    save_split,
    split_sequences,
)
from aecnn.data.imageio import (
    ACCEPTED_EXTENSIONS,
    UnreadableImageError,
    read_frame,
    read_image,
    to_unit_float,
)
from aecnn.data.index import FrameIndex, FrameMeta, FrameRef, index_frames, natural_key

__all__ = [
    "ACCEPTED_EXTENSIONS",
    "RESIZE_MODES",
    "ArrayFrameDataset",
    "DataSummary",
    "FrameCache",
    "FrameDataset",
    "FrameIndex",
    "FrameMeta",
    "FrameRef",
    "Geometry",
    "UnreadableImageError",
    "WidthBucketBatchSampler",
    "apply_geometry",
    "default_cache_dir",
    "index_frames",
    "load_split",
    "make_datasets",
    "natural_key",
    "read_frame",
    "read_image",
    "save_split",
    "split_sequences",
    "to_unit_float",
]
