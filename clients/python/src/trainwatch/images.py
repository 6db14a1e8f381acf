"""Turning a training step's tensors into what BatchData carries.

Work is split in two so the training thread pays almost nothing:

- :func:`snapshot` runs on the logger thread moments after ``log_batch`` (on the caller's thread with
  ``copy_samples=True``): it keeps the first ``limit`` samples and takes a private copy (an
  asynchronous ``clone()`` for torch tensors, a small ``numpy`` copy otherwise), so the buffer holds
  samples the training loop can no longer change.
- :func:`encode` runs on the encoder thread: device transfer, layout and dtype conversion, resize to
  the server's limit, JPEG encoding, and predictions to (class, confidence).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

from .gen.telemetry.v1 import telemetry_pb2 as pb

JPEG_QUALITY = 85
"""Good enough to read a sample by eye, small enough for ~60 frames a second."""

MAX_SNAPSHOT_IMAGES = 1024
"""Hard cap on samples copied per batch before the server's own limit is known."""


def _is_tensor(value: Any) -> bool:
    # Duck-typed so torch stays optional: a torch.Tensor has detach/cpu/numpy.
    return hasattr(value, "detach") and hasattr(value, "cpu") and hasattr(value, "numpy")


def _copy_head(value: Any, limit: Optional[int]) -> Any:
    if value is None:
        return None
    if _is_tensor(value):
        head = value[:limit] if limit is not None and value.dim() > 0 else value
        return head.detach().clone()
    if isinstance(value, np.ndarray):
        head = value[:limit] if limit is not None and value.ndim > 0 else value
        return np.array(head, copy=True)
    if isinstance(value, (list, tuple)):
        head = list(value[:limit]) if limit is not None else list(value)
        return [
            _copy_head(item, None) if _is_tensor(item) or isinstance(item, np.ndarray) else item
            for item in head
        ]
    raise TypeError(f"expected a torch tensor, numpy array or list, got {type(value).__name__}")


def _nbytes(value: Any) -> int:
    if value is None:
        return 0
    if _is_tensor(value):
        return int(value.element_size() * value.nelement())
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, list):
        return sum(_nbytes(item) for item in value)
    return 0


@dataclass
class RawBatch:
    """The caller's samples, privately copied, waiting for the encoder."""

    images: Any
    predictions: Any
    ground_truth: Any
    nbytes: int


def snapshot(images: Any, predictions: Any, ground_truth: Any, limit: int) -> RawBatch:
    """Copies the first ``limit`` samples of each argument (on the logger thread, see deferred.py)."""
    limit = max(0, min(limit, MAX_SNAPSHOT_IMAGES))
    raw = RawBatch(
        images=_copy_head(images, limit),
        predictions=_copy_head(predictions, limit),
        ground_truth=_copy_head(ground_truth, limit),
        nbytes=0,
    )
    raw.nbytes = max(1, _nbytes(raw.images) + _nbytes(raw.predictions) + _nbytes(raw.ground_truth))
    return raw


def to_numpy(value: Any) -> np.ndarray:
    """A torch tensor (any device), numpy array or list as a numpy array."""
    if _is_tensor(value):
        return value.detach().cpu().numpy()
    if isinstance(value, list):
        return (
            np.stack([to_numpy(item) for item in value])
            if value and not np.isscalar(value[0])
            else np.asarray(value)
        )
    return np.asarray(value)


def _to_hwc_uint8(images: np.ndarray, channels_first: bool) -> np.ndarray:
    """(N,C,H,W) / (N,H,W,C) / (N,H,W) in uint8 or float 0..1 → (N,H,W,C) uint8, C in {1,3}."""
    if images.ndim == 3:
        images = images[..., None]  # (N,H,W): a batch of greyscale images
    elif images.ndim == 4:
        if channels_first and images.shape[1] in (1, 3, 4):
            images = np.transpose(images, (0, 2, 3, 1))
    else:
        raise ValueError(
            f"images must have 3 or 4 dimensions (N,C,H,W or N,H,W,C or N,H,W), got shape {images.shape}"
        )
    if images.shape[-1] == 4:
        images = images[..., :3]  # alpha is not shown on a dashboard
    if images.shape[-1] not in (1, 3):
        raise ValueError(f"images must have 1 or 3 channels, got shape {images.shape}")
    if images.dtype == np.uint8:
        return images
    values = images.astype(np.float32, copy=False)
    finite = np.isfinite(values)
    values = np.where(finite, values, 0.0)
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
    if low < 0.0 or high > 1.0:
        # Normalised inputs (e.g. mean/std): stretch each image to 0..1 so it stays viewable.
        lows = values.min(axis=(1, 2, 3), keepdims=True)
        spans = np.maximum(values.max(axis=(1, 2, 3), keepdims=True) - lows, 1e-12)
        values = (values - lows) / spans
    return np.clip(np.rint(values * 255.0), 0, 255).astype(np.uint8)


def encode_jpeg(image: np.ndarray, max_side: int, quality: int = JPEG_QUALITY) -> pb.ImageData:
    """One (H,W,C) uint8 image → ImageData, shrunk so neither side exceeds ``max_side``."""
    channels = int(image.shape[-1])
    picture = Image.fromarray(image[..., 0] if channels == 1 else image, mode="L" if channels == 1 else "RGB")
    if max(picture.size) > max_side:
        picture.thumbnail((max_side, max_side), Image.BILINEAR)
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=quality)
    width, height = picture.size
    return pb.ImageData(
        image_bytes=out.getvalue(), format="jpeg", width=width, height=height, channels=channels
    )


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def predictions_to_proto(predictions: Any, class_names: Sequence[str], limit: int) -> List[pb.Prediction]:
    """Class indices (N,) or scores (N,K) → Prediction list.

    Scores that already look like probabilities (non-negative rows summing to 1) are used as they
    are; anything else is treated as logits and softmaxed. Bare class indices carry confidence 0,
    meaning "not reported".
    """
    array = to_numpy(predictions)
    if array.ndim == 1:
        classes = array[:limit].astype(np.int64)
        confidences = np.zeros(len(classes), dtype=np.float32)
    elif array.ndim == 2:
        scores = np.nan_to_num(array[:limit].astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        is_probability = (
            scores.size > 0 and scores.min() >= 0 and np.allclose(scores.sum(axis=1), 1.0, atol=1e-3)
        )
        probabilities = scores if is_probability else _softmax(scores)
        classes = probabilities.argmax(axis=1)
        confidences = probabilities[np.arange(len(classes)), classes]
    else:
        raise ValueError(f"predictions must be (N,) class indices or (N,K) scores, got shape {array.shape}")
    # Probabilities that sum to 1 within rounding can exceed 1 by a hair; the server refuses > 1.
    confidences = np.clip(np.nan_to_num(confidences, nan=0.0), 0.0, 1.0)
    result = []
    for cls, confidence in zip(classes.tolist(), confidences.tolist()):
        label = class_names[cls] if 0 <= cls < len(class_names) else ""
        result.append(
            pb.Prediction(predicted_class=int(cls), predicted_label=label, confidence=float(confidence))
        )
    return result


def ground_truth_to_list(ground_truth: Any, limit: int) -> List[int]:
    """Class indices (N,) or one-hot (N,K) → list of ints."""
    array = to_numpy(ground_truth)
    if array.ndim == 2:
        array = array.argmax(axis=1)
    if array.ndim != 1:
        raise ValueError(f"ground_truth must be (N,) class indices or (N,K) one-hot, got shape {array.shape}")
    return [int(v) for v in array[:limit].tolist()]


def encode(
    raw: RawBatch, max_images: int, max_side: int, class_names: Sequence[str]
) -> Tuple[List[pb.ImageData], List[pb.Prediction], List[int]]:
    """Runs on the encoder thread: the raw copies → (images, predictions, ground truth)."""
    images: List[pb.ImageData] = []
    if raw.images is not None:
        array = to_numpy(raw.images)
        # Torch tensors are channels-first by convention; numpy arrays are guessed from the shape.
        channels_first = _is_tensor(raw.images) or (
            array.ndim == 4 and array.shape[1] in (1, 3) and array.shape[-1] not in (1, 3, 4)
        )
        pixels = _to_hwc_uint8(array[:max_images], channels_first)
        images = [encode_jpeg(np.ascontiguousarray(image), max_side) for image in pixels]
    predictions = (
        [] if raw.predictions is None else predictions_to_proto(raw.predictions, class_names, max_images)
    )
    truth = [] if raw.ground_truth is None else ground_truth_to_list(raw.ground_truth, max_images)
    return images, predictions, truth


def encoded_size(images: List[pb.ImageData]) -> int:
    return sum(len(image.image_bytes) for image in images)
