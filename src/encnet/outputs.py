"""Output directories, checked before any work starts: a run must not compute for an hour and then fail to
write its results."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


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
