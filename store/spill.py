"""Events too large for DuckDB's tables: kept whole in files beside the database.

At each checkpoint DuckDB rewrites (and holds in memory at once) the row groups it appends to or
merges, so events of many megabytes in a table would make every later fold hold all of them. A fold
therefore keeps each event whose payload is over :data:`SPILL_BYTES` whole in ``spill/`` (one JSON
file, owner-only) and stores a preview in DuckDB: the payload with long strings cut and long lists
shortened, each cut saying how much was left out, plus ``"$spilled": {"file": "spill/...", "bytes": N}``.

Browsing and SQL see the preview; what needs every byte (tapes for replay, lake exports) reads the
file through :func:`full_payload` and :func:`spilled_blob`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from pathlib import Path
from typing import Any

from ._files import write_all

SPILL_BYTES = 1024 * 1024
"""Payloads larger than this (serialized bytes) are kept whole in ``spill/``, previewed in DuckDB."""

PREVIEW_CHARS = 8192
"""How much of a long string a preview keeps (less when a payload holds many long strings)."""

PREVIEW_ITEMS = 64
"""How many items of a long list a preview keeps."""

SPILLED = "$spilled"
SPILL_DIR = "spill"
_SAFE_NAME = re.compile(r"[A-Za-z0-9_-]{1,96}")


def spill_name(kind: str, event_id: str, payload: Any) -> str:
    """The file an event's whole payload is kept in: ``blob-<hash>.json`` for a blob (readers look blobs
    up by hash), else ``ev-<event id>.json``; a name that is not plainly safe for a file is hashed."""
    is_blob = kind == "blob" and isinstance(payload, dict) and payload.get("hash") is not None
    prefix, key = ("blob-", payload.get("hash")) if is_blob else ("ev-", event_id)
    if not isinstance(key, str) or not _SAFE_NAME.fullmatch(key):
        key = "h-" + hashlib.sha256(str(key).encode("utf-8", "surrogatepass")).hexdigest()[:40]
    return f"{prefix}{key}.json"


def spill(spill_dir: Path, kind: str, event_id: str, payload_text: str) -> str:
    """Keep ``payload_text`` whole in ``spill_dir`` and return the preview payload (JSON text) to store.

    Text DuckDB read but Python cannot (a number of thousands of digits, nesting past Python's limit)
    is kept whole all the same, with only the marker and the start of the text as its preview.
    """
    try:
        payload: Any = json.loads(payload_text)
    except (ValueError, RecursionError):
        payload = None
    name = spill_name(kind, event_id, payload)
    data = payload_text.encode("utf-8", "surrogatepass")
    _write_once(spill_dir, name, data)
    where = f"{SPILL_DIR}/{name}"
    if not isinstance(payload, dict):
        kept: dict[str, Any] = {"$preview": _cut(payload_text, where, PREVIEW_CHARS)}
    else:
        kept = preview(payload, where, budget=SPILL_BYTES // 2)
        if len(json.dumps(kept, ensure_ascii=False)) > SPILL_BYTES:  # e.g. thousands of keys
            too_large = f"[too large to preview: the whole value is in {where}]"
            kept = {
                k: v if isinstance(v, (bool, int, float)) or v is None or k == "hash" else too_large
                for k, v in list(payload.items())[:PREVIEW_ITEMS]
            }
    kept[SPILLED] = {"file": where, "bytes": len(data)}
    return json.dumps(kept, ensure_ascii=False)


def preview(value: Any, where: str, budget: int = SPILL_BYTES // 2) -> Any:
    """``value`` with strings over :data:`PREVIEW_CHARS` cut and lists over :data:`PREVIEW_ITEMS`
    shortened, each cut naming what was left out and where the whole value is."""
    long_strings = _count_long_strings(value)
    chars = max(256, min(PREVIEW_CHARS, budget // max(1, long_strings)))
    return _cut(value, where, chars)


def _count_long_strings(value: Any, depth: int = 0) -> int:
    if isinstance(value, str):
        return int(len(value) > PREVIEW_CHARS)
    if depth > 200:
        return 0
    if isinstance(value, dict):
        return sum(_count_long_strings(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return sum(_count_long_strings(v, depth + 1) for v in value[:PREVIEW_ITEMS])
    return 0


def _cut(value: Any, where: str, chars: int, depth: int = 0) -> Any:
    if isinstance(value, str):
        if len(value) <= chars:
            return value
        return f"{value[:chars]}… [{len(value) - chars:,} more characters: the whole value is in {where}]"
    if depth > 200:
        return f"[nested too deep to preview: the whole value is in {where}]"
    if isinstance(value, dict):
        return {k: _cut(v, where, chars, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        kept = [_cut(v, where, chars, depth + 1) for v in value[:PREVIEW_ITEMS]]
        if len(value) > PREVIEW_ITEMS:
            kept.append(f"… [{len(value) - PREVIEW_ITEMS:,} more items: the whole list is in {where}]")
        return kept
    return value


def full_payload(root: Path, kind: str, event_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The whole payload of an event whose stored payload may be a spilled preview.

    Only the event's own spill file is read (a payload that names another file, e.g. in an imported
    tape, is left as it is). A spill file that is missing or unreadable leaves the preview, with a
    warning naming the file.
    """
    marker = payload.get(SPILLED)
    if (
        not isinstance(marker, dict)
        or marker.get("file") != f"{SPILL_DIR}/{spill_name(kind, event_id, payload)}"
    ):
        return payload
    whole = _read(root, str(marker["file"]))
    return whole if isinstance(whole, dict) else payload


def spilled_blob(root: Path, digest: str, stored: str | None) -> dict[str, Any] | None:
    """The whole payload (hash, media_type, data) of a blob whose stored data (JSON text) is a preview
    of one kept in ``spill/``; None for a blob stored whole (a spill file alone is never trusted: a
    blob imported later with the same hash must not replace the one the store kept)."""
    name = spill_name("blob", "", {"hash": digest})
    where = f"{SPILL_DIR}/{name}"
    if not stored or f" is in {where}]" not in stored:  # how every cut in a preview ends
        return None
    whole = _read(root, where)
    return whole if isinstance(whole, dict) else None


def _read(root: Path, relative: str) -> Any:
    path = root / relative
    if not relative.startswith(f"{SPILL_DIR}/") or path.parent != root / SPILL_DIR:
        warnings.warn(
            f"teamtape: ignored a spill reference outside {root / SPILL_DIR}: {relative!r}", stacklevel=3
        )
        return None
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError) as e:
        warnings.warn(
            f"teamtape: {path} holds the whole of a large event but cannot be read ({e}); only its preview "
            "in the database is available",
            stacklevel=3,
        )
        return None


def _write_once(directory: Path, name: str, data: bytes) -> None:
    """Write a spill file whole and durably (the journal it came from is removed after the fold), or
    keep the one already there: as the first copy of an event (or of a blob) is the one the store
    keeps, an event imported again can never replace what was kept."""
    directory.mkdir(mode=0o700, exist_ok=True)
    if (directory / name).exists():
        return
    tmp = directory / f".{name}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, directory / name)
    dir_fd = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
