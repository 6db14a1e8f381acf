#!/usr/bin/python3
"""Trains a small CNN on generated coloured shapes and streams the run into a trainwatch server.

The dataset is made on the fly (no download): 10 classes, each a shape and colour of its own on a
noisy background, 32x32 RGB, labelled with the CIFAR-10 class names so dashboards look familiar.
The loop obeys the dashboard: pause holds it before the next batch, stop ends it cleanly. It offers
two custom commands with a form on the dashboard: `set_lr` (a fixed learning rate from the next
step, the schedule off) and `save_checkpoint` (torch.save of model and optimiser; answers the path).

    /usr/bin/python3 clients/python/examples/train_cnn.py --server 127.0.0.1:50051 --epochs 5 --batches 100

Needs torch (Debian: python3-torch) besides the client's own dependencies.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional, Tuple

import numpy as np

if importlib.util.find_spec("trainwatch") is None:  # a checkout, not `pip install ./clients/python`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from trainwatch import Arg, TrainingConfig, TrainingSession

CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
IMAGE_SIZE = 32
# (shape, RGB colour) per class: shapes repeat, so colour matters too and the task is not trivial.
CLASS_STYLES = [
    ("circle", (230, 60, 50)),
    ("square", (40, 120, 230)),
    ("triangle", (250, 200, 40)),
    ("cross", (60, 190, 90)),
    ("ring", (170, 70, 200)),
    ("circle", (40, 200, 210)),
    ("square", (240, 130, 30)),
    ("triangle", (120, 120, 120)),
    ("cross", (230, 90, 160)),
    ("ring", (140, 200, 60)),
]


def _shape_mask(shape: str, yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, r: float) -> np.ndarray:
    dy, dx = yy - cy, xx - cx
    if shape == "circle":
        return dy**2 + dx**2 <= r**2
    if shape == "ring":
        d2 = dy**2 + dx**2
        return (d2 <= r**2) & (d2 >= (0.55 * r) ** 2)
    if shape == "square":
        return (np.abs(dy) <= r * 0.85) & (np.abs(dx) <= r * 0.85)
    if shape == "triangle":
        return (dy <= r * 0.8) & (dy >= -r) & (np.abs(dx) <= (dy + r) * 0.6)
    if shape == "cross":
        return ((np.abs(dy) <= r * 0.3) & (np.abs(dx) <= r)) | ((np.abs(dx) <= r * 0.3) & (np.abs(dy) <= r))
    raise ValueError(shape)


def make_dataset(count: int, seed: int) -> Tuple[np.ndarray, np.ndarray]:
    """(count, 3, 32, 32) float32 images in 0..1 and their int64 labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(CLASS_NAMES), size=count)
    yy, xx = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE].astype(np.float32)
    images = np.empty((count, IMAGE_SIZE, IMAGE_SIZE, 3), np.float32)
    for index, label in enumerate(labels):
        shape, colour = CLASS_STYLES[label]
        background = rng.uniform(0.0, 0.35, size=3)
        radius = rng.uniform(6, 11)
        cy, cx = rng.uniform(radius, IMAGE_SIZE - radius, size=2)
        mask = _shape_mask(shape, yy, xx, cy, cx, radius)
        tint = np.clip(np.array(colour) / 255.0 + rng.normal(0, 0.08, size=3), 0, 1)
        picture = np.broadcast_to(background, images.shape[1:]).copy()
        picture[mask] = tint
        images[index] = np.clip(picture + rng.normal(0, 0.05, size=picture.shape), 0, 1)
    return images.transpose(0, 3, 1, 2).copy(), labels.astype(np.int64)


def build_model():
    import torch.nn as nn

    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 8 * 8, 64),
        nn.ReLU(),
        nn.Linear(64, len(CLASS_NAMES)),
    )


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--server", default="127.0.0.1:50051", help="trainwatch gRPC address (host:port)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batches", type=int, default=100, help="batches per epoch")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--samples", type=int, default=16, help="sample images sent per batch")
    parser.add_argument("--session-id", default=None, help="reuse an id to resume a session")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument(
        "--checkpoint-dir", default=None, help="where save_checkpoint writes (default: a new temp dir)"
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        print(
            "train_cnn.py needs torch: apt-get install python3-torch (or pip install torch)", file=sys.stderr
        )
        return 2
    torch.manual_seed(args.seed)
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    images, labels = make_dataset(max(args.batch_size * 64, 2048), args.seed)
    inputs, targets = torch.from_numpy(images), torch.from_numpy(labels)
    val_images, val_labels = make_dataset(512, args.seed + 1)  # held out: a validation pass per epoch
    val_inputs, val_targets = torch.from_numpy(val_images), torch.from_numpy(val_labels)
    model = build_model()
    optimiser = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=args.epochs * args.batches)
    config = TrainingConfig(
        total_epochs=args.epochs,
        batches_per_epoch=args.batches,
        batch_size=args.batch_size,
        model_name="SmallCNN (2 conv, 2 fc)",
        dataset_name="generated shapes 32x32",
        class_names=CLASS_NAMES,
    )

    # --- trainwatch: the whole integration is these few calls -------------------------------------
    session = TrainingSession(
        args.server,
        config,
        session_id=args.session_id,
        hyperparameters={
            "lr": args.lr,
            "optimizer": "sgd",
            "momentum": 0.9,
            "schedule": "cosine",
            "batch_size": args.batch_size,
            "seed": args.seed,
        },
        tags=["example", "shapes"],
        note="train_cnn.py: a small CNN on generated shapes",
    )
    # Commands run on the SDK's thread; a training step and a command never touch the model at once.
    step_lock = threading.Lock()
    fixed_lr = {"on": False}

    @session.command("set_lr", lr=float, description="fixed learning rate from the next step (> 0)")
    def set_lr(lr: float) -> str:
        if not lr > 0:
            raise ValueError(f"lr must be > 0, got {lr}")
        with step_lock:
            for group in optimiser.param_groups:
                group["lr"] = lr
            fixed_lr["on"] = True  # the cosine schedule would move it again
        return f"lr is {lr} from the next step (schedule off)"

    @session.command("save_checkpoint", tag=Arg(str, required=False, description="added to the file name"))
    def save_checkpoint(tag: Optional[str]) -> str:
        directory = Path(args.checkpoint_dir or tempfile.mkdtemp(prefix="train_cnn-"))
        args.checkpoint_dir = str(directory)
        suffix = f"-{''.join(c if c.isalnum() else '_' for c in tag)[:40]}" if tag else ""
        with step_lock:
            path = directory / f"checkpoint-epoch{progress['epoch']}-batch{progress['batch']}{suffix}.pt"
            torch.save({"model": model.state_dict(), "optimizer": optimiser.state_dict(), **progress}, path)
        return str(path)

    progress = {"epoch": 0, "batch": 0}
    session.connect()  # CPU, memory and GPU figures are sampled as system/ series by default
    stopped = False
    try:
        for epoch in range(args.epochs):
            order = torch.randperm(len(inputs))
            losses, correct, seen = [], 0, 0
            for batch_idx in range(args.batches):
                if not session.gate():  # holds while paused; False once the dashboard says stop
                    stopped = True
                    break
                start = (batch_idx * args.batch_size) % (len(inputs) - args.batch_size)
                picked = order[start : start + args.batch_size]
                x, y = inputs[picked], targets[picked]
                with step_lock:
                    progress.update(epoch=epoch, batch=batch_idx)
                    logits = model(x)
                    loss = F.cross_entropy(logits, y)
                    optimiser.zero_grad()
                    loss.backward()
                    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=float("inf"))
                    lr = optimiser.param_groups[0]["lr"]
                    optimiser.step()
                    if not fixed_lr["on"]:
                        schedule.step()
                losses.append(loss.item())
                batch_correct = int((logits.argmax(dim=1) == y).sum())
                correct += batch_correct
                seen += len(y)
                session.log_batch(
                    epoch,
                    batch_idx,
                    losses[-1],
                    images=x[: args.samples],
                    predictions=logits.detach()[: args.samples],
                    ground_truth=y[: args.samples],
                    batch_size=len(y),
                    metrics={"lr": lr, "grad_norm": float(grad_norm), "train/acc": batch_correct / len(y)},
                )
            if losses:
                model.eval()
                with torch.no_grad():
                    val_logits = model(val_inputs)
                    val_loss = float(F.cross_entropy(val_logits, val_targets))
                    val_acc = float((val_logits.argmax(dim=1) == val_targets).float().mean())
                model.train()
                session.log_epoch(
                    epoch,
                    float(np.mean(losses)),
                    correct / max(seen, 1),
                    metrics={"val/loss": val_loss, "val/acc": val_acc},
                )
                print(
                    f"epoch {epoch}: loss {np.mean(losses):.4f} accuracy {correct / max(seen, 1):.3f}"
                    f" val_loss {val_loss:.4f} val_acc {val_acc:.3f}",
                    flush=True,
                )
            if stopped:
                break
        session.close("completed", "stopped from the dashboard" if stopped else "finished all epochs")
    except BaseException as error:
        session.close("failed", f"{type(error).__name__}: {error}", timeout=2)
        raise
    # ------------------------------------------------------------------------------------------------
    stats = session.stats()
    print(
        f"session {stats['session_id']}: sent {stats['sent']}, acked {stats['acked']}, "
        f"dropped image frames {stats['dropped_image_frames']}{' (stopped)' if stopped else ''}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    print(f"done in {time.monotonic() - started:.1f}s", flush=True)
    sys.exit(code)
