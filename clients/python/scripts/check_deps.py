#!/usr/bin/python3
"""Fails loudly, naming the Debian packages to install, when the Python test dependencies are missing."""
from __future__ import annotations

import importlib.util
import shutil
import sys

# module or program -> Debian package providing it
MODULES = {
    "grpc": "python3-grpcio",
    "google.protobuf": "python3-protobuf",
    "numpy": "python3-numpy",
    "PIL": "python3-pil",
    "pytest": "python3-pytest",
    "flake8": "flake8",
}
PROGRAMS = {"protoc": "protobuf-compiler", "grpc_python_plugin": "protobuf-compiler-grpc"}


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def main() -> int:
    missing = sorted(
        {package for module, package in MODULES.items() if not _has_module(module)}
        | {package for program, package in PROGRAMS.items() if shutil.which(program) is None}
    )
    if missing:
        print(
            "python-client: missing Debian packages for the tests: " + " ".join(missing) + "\n"
            "  install them with: apt-get install -y --no-install-recommends " + " ".join(missing) + "\n"
            f"  (the tests run with {sys.executable}; Debian's packages install for /usr/bin/python3)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
