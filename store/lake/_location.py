"""Where a lake lives: a local directory or an S3-compatible bucket, behind one pyarrow filesystem."""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pyarrow.fs as pafs

from ._errors import LakeError

ENDPOINT_ENV_VARS = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")


@dataclass(frozen=True)
class LakeLocation:
    """A lake root on some filesystem.

    Attributes:
        fs: the pyarrow filesystem the lake is on.
        root: the lake's root path inside ``fs`` (no trailing slash).
        display: how to name the lake in messages (never contains credentials).
        local: whether ``fs`` is the local filesystem (atomic rename, file locks).
    """

    fs: pafs.FileSystem
    root: str
    display: str
    local: bool

    def path(self, *parts: str) -> str:
        """A path inside the lake."""
        return posixpath.join(self.root, *parts)

    def exists(self, *parts: str) -> bool:
        return self.fs.get_file_info(self.path(*parts)).type != pafs.FileType.NotFound

    def is_dir(self, *parts: str) -> bool:
        return self.fs.get_file_info(self.path(*parts)).type == pafs.FileType.Directory

    def list_files(self, *parts: str) -> list[str]:
        """Every file below a folder of the lake (recursively), sorted; [] when the folder is missing."""
        selector = pafs.FileSelector(self.path(*parts), recursive=True, allow_not_found=True)
        try:
            infos = self.fs.get_file_info(selector)
        except OSError as e:
            raise LakeError(f"Cannot list {self.display}/{'/'.join(parts)}: {e}") from e
        return sorted(i.path for i in infos if i.type == pafs.FileType.File)

    def read_text(self, *parts: str) -> str:
        with self.fs.open_input_stream(self.path(*parts)) as f:
            return f.read().decode("utf-8")

    def write_text(self, text: str, *parts: str) -> None:
        """Write a small file whole: temporary name then rename locally, one PUT on object storage."""
        target = self.path(*parts)
        if self.local:
            final = Path(target)
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, final)
            return
        with self.fs.open_output_stream(target) as f:
            f.write(text.encode("utf-8"))

    def publish(self, local_file: Path, *parts: str) -> None:
        """Move a finished local file into the lake under its final name.

        Locally this is an atomic rename (the staging folder is inside the lake, on the same
        filesystem); on object storage an upload, which becomes visible only once complete.
        """
        target = self.path(*parts)
        if self.local:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            os.replace(local_file, target)
            return
        pafs.copy_files(
            str(local_file), target, source_filesystem=pafs.LocalFileSystem(), destination_filesystem=self.fs
        )
        local_file.unlink(missing_ok=True)


def open_location(target: str | os.PathLike[str], *, s3_endpoint: str | None = None) -> LakeLocation:
    """Resolve a lake argument: a directory path, or ``s3://bucket/prefix``.

    Object storage credentials come from the usual AWS environment variables or config files; the
    endpoint of an S3-compatible server (MinIO, R2, moto...) from ``s3_endpoint``, else
    ``$AWS_ENDPOINT_URL_S3`` / ``$AWS_ENDPOINT_URL``.

    Example:
        >>> open_location("/tmp/lake").root
        '/tmp/lake'
    """
    text = os.fspath(target)
    if not text.strip():
        raise LakeError("Give a lake location: a directory, or s3://bucket/prefix.")
    parsed = urlparse(text)
    if parsed.scheme in ("", "file") or (len(parsed.scheme) == 1 and os.name == "nt"):
        local = Path(parsed.path if parsed.scheme == "file" else text).expanduser().resolve()
        if local.exists() and not local.is_dir():
            raise LakeError(
                f"{local} is a file, not a lake directory. Give a directory (it is created if missing)."
            )
        return LakeLocation(pafs.LocalFileSystem(), local.as_posix(), str(local), True)
    if parsed.scheme != "s3":
        raise LakeError(
            f"Unsupported lake location '{parsed.scheme}://...': use a local directory or s3://bucket/prefix "
            "(any S3-compatible store, with --s3-endpoint or $AWS_ENDPOINT_URL)."
        )
    bucket, prefix = parsed.netloc, parsed.path.strip("/")
    if not bucket:
        raise LakeError(f"'{text}' names no bucket: write s3://bucket/prefix.")
    endpoint = s3_endpoint or next((os.environ[v] for v in ENDPOINT_ENV_VARS if os.environ.get(v)), None)
    kwargs: dict[str, object] = {
        "region": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    }
    if endpoint:
        ep = urlparse(endpoint if "://" in endpoint else f"https://{endpoint}")
        if not ep.netloc:
            raise LakeError(f"S3 endpoint '{endpoint}' is not a URL: write http://host:port or https://host.")
        kwargs.update(endpoint_override=ep.netloc, scheme=ep.scheme or "https")
    try:
        fs = pafs.S3FileSystem(**kwargs)  # type: ignore[arg-type]
    except (OSError, ValueError) as e:
        raise LakeError(f"Cannot set up S3 access for {text}: {e}") from e
    root = posixpath.join(bucket, prefix) if prefix else bucket
    return LakeLocation(fs, root, f"s3://{root}", False)
