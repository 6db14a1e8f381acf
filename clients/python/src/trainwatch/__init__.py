"""trainwatch: stream a training loop to a trainwatch server and steer it from the dashboard.

Typical use::

    from trainwatch import TrainingSession

    session = TrainingSession("127.0.0.1:50051", {"total_epochs": 5, "batches_per_epoch": 100,
                                                   "batch_size": 64, "class_names": names}).connect()
    for epoch in range(5):
        for batch_idx, (x, y) in enumerate(loader):
            if not session.gate():
                break
            ...
            session.log_batch(epoch, batch_idx, loss.item(), images=x, predictions=logits, ground_truth=y)
    session.close()
"""

from .buffer import DEFAULT_BOUND, DEFAULT_IMAGE_BUDGET_BYTES
from .client import TrainingSession
from .config import TrainingConfig
from .connection import ConnectionOptions
from .custom_commands import Arg
from .gate import Gate
from .version import __version__

__all__ = [
    "Arg",
    "DEFAULT_BOUND",
    "DEFAULT_IMAGE_BUDGET_BYTES",
    "ConnectionOptions",
    "Gate",
    "TrainingConfig",
    "TrainingSession",
    "__version__",
]
