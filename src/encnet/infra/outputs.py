"""Output directories, checked before any work starts (a run must not compute for an hour and then fail to
write its results), and files written whole or not at all, with a full disk as one clear error.

A write that runs out of space raises :class:`DiskFullError`, one line: the file, "no space left on device",
the bytes it needed and those free on its filesystem. Files go to a temporary sibling first and are renamed
into place, so a failed write leaves the previous file (or none), never a truncated one.
"""

from __future__ import annotations

import errno
import io
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image


def require_writable(directory: str | Path, key: str = "paths.output_dir") -> Path:
    """Create ``directory`` if needed and check a file can be written in it; else one error naming ``key``."""
    path = Path(directory).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".write-check-")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise PermissionError(f"{key}={directory} cannot be written: {err.strerror or err}") from None
    return path


class DiskFullError(OSError):
    """A write found no space left on its device (errno ENOSPC); the message names the file and the bytes."""


def free_bytes(path: str | Path) -> int:
    """Free bytes on the filesystem that holds ``path`` (or its nearest existing parent)."""
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def disk_full(path: str | Path, needed: int) -> DiskFullError:
    """The one-line error of ``path`` not fitting: ``needed`` bytes against those free now."""
    return DiskFullError(errno.ENOSPC, f"cannot write {path}: no space left on device ({needed:,} bytes needed, "
                                       f"{free_bytes(path):,} free)")


def is_disk_full(error: BaseException | None) -> bool:
    """Whether ``error`` or an error it was raised from / during is ENOSPC (or the disk quota's EDQUOT)."""
    while error is not None:
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        error = error.__cause__ or error.__context__
    return False


class RecordingFile(io.RawIOBase):
    """An unbuffered binary file that keeps the OSError of a failed write (writers such as ``torch.save``
    report it as their own RuntimeError, without it)."""

    def __init__(self, file: IO[bytes]) -> None:
        super().__init__()
        self.file, self.error = file, None

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        view, done = memoryview(data).cast("B"), 0
        try:
            while done < len(view):  # an unbuffered write may take only part of the data
                done += self.file.write(view[done:])
        except OSError as err:
            self.error = err
            raise
        return done


class CountingFile(io.RawIOBase):
    """A sink that only counts the bytes written to it (the size a write would have needed)."""

    def __init__(self) -> None:
        super().__init__()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        size = memoryview(data).nbytes
        self.size += size
        return size


def write_atomic(path: str | Path, write: Callable[[IO[bytes]], None], size: Callable[[], int],
                 fsync: bool = True) -> Path:
    """``write(file)`` into a temporary sibling of ``path``, flushed to disk (``fsync``) and renamed over
    ``path``. A full disk leaves nothing behind and raises :func:`disk_full` with ``size()`` bytes needed
    (asked only then)."""
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    file = None
    try:
        with os.fdopen(fd, "wb", buffering=0) as raw:
            file = RecordingFile(raw)
            write(file)
            if fsync:
                os.fsync(raw.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)  # closed by now: its space is free again
        if is_disk_full(err) or (file is not None and is_disk_full(file.error)):
            raise disk_full(path, size()) from None
        raise
    return path


def write_bytes(path: str | Path, data: bytes, fsync: bool = True) -> Path:
    """Write ``data`` to ``path`` whole (see :func:`write_atomic`)."""
    return write_atomic(path, lambda file: file.write(data), lambda: len(data), fsync)


def write_text(path: str | Path, text: str, fsync: bool = True) -> Path:
    """Write ``text`` (UTF-8) to ``path`` whole."""
    return write_bytes(path, text.encode("utf-8"), fsync)


def save_image(image: Image.Image | np.ndarray, path: str | Path, fsync: bool = True, **options) -> Path:
    """Encode ``image`` in the format of ``path``'s suffix (PIL ``options``, e.g. ``quality``) and write it whole."""
    picture = image if isinstance(image, Image.Image) else Image.fromarray(image)
    buffer = io.BytesIO()
    picture.save(buffer, format=Image.registered_extensions()[Path(path).suffix.lower()], **options)
    return write_bytes(path, buffer.getvalue(), fsync)
