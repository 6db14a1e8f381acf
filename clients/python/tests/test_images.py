"""Tensor/array conversion, resizing and JPEG encoding (no network)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from trainwatch import images as imaging

NAMES = ["cat", "dog", "bird"]


def decode(image) -> Image.Image:
    picture = Image.open(io.BytesIO(image.image_bytes))
    assert picture.format == "JPEG" and picture.size == (image.width, image.height)
    return picture


def encode(images=None, predictions=None, truth=None, limit=16, max_side=512):
    raw = imaging.snapshot(images, predictions, truth, limit)
    return imaging.encode(raw, limit, max_side, NAMES)


def test_channels_first_float_images_become_rgb_jpegs() -> None:
    pixels = np.zeros((2, 3, 10, 20), np.float32)
    pixels[:, 0] = 1.0  # pure red
    [first, _], _, _ = encode(pixels)
    assert (first.width, first.height, first.channels, first.format) == (20, 10, 3, "jpeg")
    red, green, blue = decode(first).convert("RGB").getpixel((10, 5))
    assert red > 240 and green < 15 and blue < 15


def test_channels_last_uint8_and_greyscale_batches() -> None:
    [rgb], _, _ = encode(np.full((1, 6, 8, 3), 200, np.uint8))
    assert (rgb.width, rgb.height, rgb.channels) == (8, 6, 3)
    [grey], _, _ = encode(np.full((1, 6, 8), 50, np.uint8))
    assert grey.channels == 1 and decode(grey).mode == "L"
    assert abs(decode(grey).getpixel((3, 3)) - 50) <= 2


def test_normalised_inputs_are_stretched_to_stay_visible() -> None:
    pixels = np.linspace(-2.0, 2.0, 16 * 16, dtype=np.float32).reshape(1, 1, 16, 16)
    [image], _, _ = encode(pixels)
    values = np.asarray(decode(image))
    assert values.min() < 10 and values.max() > 245


def test_images_are_shrunk_to_the_server_limit_keeping_the_aspect_ratio() -> None:
    [image], _, _ = encode(np.zeros((1, 300, 1000, 3), np.uint8), max_side=256)
    assert (image.width, image.height) == (256, 77)


def test_only_the_allowed_number_of_samples_is_kept() -> None:
    images, predictions, truth = encode(
        np.zeros((40, 4, 4, 3), np.uint8), np.arange(40) % 3, np.arange(40) % 3, limit=16
    )
    assert len(images) == len(predictions) == len(truth) == 16


def test_logits_probabilities_and_indices_become_predictions() -> None:
    _, [from_logits], _ = encode(predictions=np.array([[0.0, 2.0, 0.0]]))
    assert (from_logits.predicted_class, from_logits.predicted_label) == (1, "dog")
    assert from_logits.confidence == pytest.approx(np.exp(2) / (np.exp(2) + 2), rel=1e-5)
    _, [from_probs], _ = encode(predictions=np.array([[0.1, 0.2, 0.7]]))
    assert from_probs.predicted_class == 2 and from_probs.confidence == pytest.approx(0.7)
    _, [bare], _ = encode(predictions=np.array([5]))
    assert (bare.predicted_class, bare.predicted_label, bare.confidence) == (5, "", 0.0)  # unknown class name


def test_one_hot_ground_truth_becomes_indices() -> None:
    _, _, truth = encode(truth=np.eye(3)[[2, 0]])
    assert truth == [2, 0]


def test_the_snapshot_is_a_private_copy() -> None:
    pixels = np.zeros((1, 4, 4, 3), np.uint8)
    raw = imaging.snapshot(pixels, None, None, 16)
    pixels[:] = 255  # the training loop reuses its buffer
    [image], _, _ = imaging.encode(raw, 16, 512, NAMES)
    assert np.asarray(decode(image)).max() < 10


def test_bad_shapes_and_types_are_named() -> None:
    with pytest.raises(ValueError, match="1 or 3 channels"):
        encode(np.zeros((1, 4, 4, 5), np.uint8))
    with pytest.raises(TypeError, match="torch tensor, numpy array or list"):
        imaging.snapshot("not an image", None, None, 4)


def test_torch_tensors_when_torch_is_installed() -> None:
    torch = pytest.importorskip("torch")
    pixels = torch.zeros((3, 3, 12, 9))
    pixels[:, 2] = 1.0  # blue
    raw = imaging.snapshot(pixels, torch.tensor([[0.0, 0.0, 3.0]] * 3), torch.tensor([2, 1, 0]), 2)
    pixels[:] = 0.0  # the loop's tensor changes; the snapshot must not
    images, predictions, truth = imaging.encode(raw, 16, 512, NAMES)
    assert len(images) == 2 and (images[0].width, images[0].height) == (9, 12)
    assert decode(images[0]).convert("RGB").getpixel((4, 6))[2] > 240
    assert [p.predicted_label for p in predictions] == ["bird", "bird"] and truth == [2, 1]
