"""Rules derived from the contract, the same values as libs/proto/src/rules.ts.

``RULES`` must equal what ``rulesForOtherLanguages()`` there returns; tests/test_rules.py runs node
to print it and fails on any difference. Change a value there and here together.
Patterns are matched whole (``fullmatch``), as the server does.
"""

from __future__ import annotations

import re
from typing import Dict, Union

RULES: Dict[str, Union[str, int]] = {
    "SESSION_ID_PATTERN": "^[A-Za-z0-9._:-]{1,128}$",
    "SERIES_NAME_PATTERN": "^[A-Za-z0-9][A-Za-z0-9_./-]{0,127}$",
    "MAX_SERIES_NAME_LENGTH": 128,
    "LOSS_SERIES": "loss",
    "SYSTEM_SERIES_PREFIX": "system/",
    "DEFAULT_MAX_SERIES": 1000,
    "DEFAULT_MAX_METRICS_PER_MESSAGE": 256,
    "MAX_HYPERPARAMETERS": 256,
    "MAX_HYPERPARAMETER_TEXT_LENGTH": 1024,
    "MAX_TAGS": 32,
    "TAG_PATTERN": "^[^\\s,][^,]{0,63}$",
    "MAX_NOTE_LENGTH": 4096,
    "MAX_WEBHOOK_URLS_PER_SESSION": 4,
    "MAX_WEBHOOK_URL_LENGTH": 2048,
    "CUSTOM_COMMAND_NAME_PATTERN": "^[a-z][a-z0-9_]{0,63}$",
    "MAX_CUSTOM_COMMANDS": 32,
    "MAX_COMMAND_ARGUMENTS": 16,
    "MAX_COMMAND_DESCRIPTION_LENGTH": 512,
    "MAX_COMMAND_TEXT_ARGUMENT_LENGTH": 1024,
}

SESSION_ID_PATTERN = re.compile(str(RULES["SESSION_ID_PATTERN"]))
SESSION_ID_RULE = "1-128 characters from [A-Za-z0-9._:-]"
SERIES_NAME_PATTERN = re.compile(str(RULES["SERIES_NAME_PATTERN"]))
SERIES_NAME_RULE = "1-128 characters from [A-Za-z0-9_./-], starting with a letter or digit"
MAX_SERIES_NAME_LENGTH = int(RULES["MAX_SERIES_NAME_LENGTH"])
LOSS_SERIES = str(RULES["LOSS_SERIES"])
SYSTEM_SERIES_PREFIX = str(RULES["SYSTEM_SERIES_PREFIX"])
DEFAULT_MAX_SERIES = int(RULES["DEFAULT_MAX_SERIES"])
DEFAULT_MAX_METRICS_PER_MESSAGE = int(RULES["DEFAULT_MAX_METRICS_PER_MESSAGE"])
MAX_HYPERPARAMETERS = int(RULES["MAX_HYPERPARAMETERS"])
MAX_HYPERPARAMETER_TEXT_LENGTH = int(RULES["MAX_HYPERPARAMETER_TEXT_LENGTH"])
MAX_TAGS = int(RULES["MAX_TAGS"])
TAG_PATTERN = re.compile(str(RULES["TAG_PATTERN"]))
TAG_RULE = "1-64 characters, no comma, not starting with a space"
MAX_NOTE_LENGTH = int(RULES["MAX_NOTE_LENGTH"])
MAX_WEBHOOK_URLS_PER_SESSION = int(RULES["MAX_WEBHOOK_URLS_PER_SESSION"])
MAX_WEBHOOK_URL_LENGTH = int(RULES["MAX_WEBHOOK_URL_LENGTH"])
CUSTOM_COMMAND_NAME_PATTERN = re.compile(str(RULES["CUSTOM_COMMAND_NAME_PATTERN"]))
CUSTOM_COMMAND_NAME_RULE = "1-64 characters from [a-z0-9_], starting with a lowercase letter"
MAX_CUSTOM_COMMANDS = int(RULES["MAX_CUSTOM_COMMANDS"])
MAX_COMMAND_ARGUMENTS = int(RULES["MAX_COMMAND_ARGUMENTS"])
MAX_COMMAND_DESCRIPTION_LENGTH = int(RULES["MAX_COMMAND_DESCRIPTION_LENGTH"])
MAX_COMMAND_TEXT_ARGUMENT_LENGTH = int(RULES["MAX_COMMAND_TEXT_ARGUMENT_LENGTH"])


def global_step(epoch: int, batch_idx: int, batches_per_epoch: int) -> int:
    """Global step of a batch: epoch * batches_per_epoch + batch_idx."""
    return epoch * max(1, batches_per_epoch) + batch_idx
