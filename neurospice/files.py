"""Writing outputs so that nothing already written is lost or truncated.

Every file neurospice writes goes through :func:`atomic_write`: the content is written to a
temporary file in the same folder, flushed to disk, then renamed over the target. A run killed
or stopped by a full disk leaves either the old file or the new one, never half of one. A full
disk becomes :class:`OutputError` (a failed run, exit status 1) with the temporary file removed.

:class:`OutputLock` keeps two runs from writing into one output folder at once.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from neurospice.errors import SimulationError, UsageError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_MODE = 0o666 & ~_umask()

__all__ = ["OutputError", "atomic_write", "atomic_write_text", "atomic_copy", "OutputLock",
           "prepare_output_dir"]


class OutputError(SimulationError):
    """An output could not be written (disk full, permission); exit status 1."""


def _describe(exc: OSError, path: Path) -> str:
    if exc.errno == errno.ENOSPC:
        return f"the disk is full: could not write {path}"
    if exc.errno == errno.EDQUOT:
        return f"the disk quota is exceeded: could not write {path}"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"no permission to write {path}"
    if exc.errno == errno.EFBIG:
        return f"{path} would exceed the file-size limit"
    return f"could not write {path}: {exc.strerror or exc}"


@contextlib.contextmanager
def atomic_write(path: Path, mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success it replaces ``path`` atomically.

    Raises
    ------
    OutputError
        On any OS error (disk full, permission); ``path`` is left as it was.
    """
    path = Path(path)
    tmp_name = None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp_name, _MODE)
        os.replace(tmp_name, path)
        tmp_name = None
    except OSError as exc:
        raise OutputError(_describe(exc, path)) from None
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    return Path(path)


def atomic_write_with(path: Path, writer: Callable[[Path], object]) -> Path:
    """Let ``writer(tmp_path)`` write a file, then rename it over ``path``.

    For writers that want a file name (matplotlib's ``savefig``, pyarrow, numpy).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        writer(Path(tmp))
        os.chmod(tmp, _MODE)
        os.replace(tmp, path)
        tmp = ""
    except OSError as exc:
        raise OutputError(_describe(exc, path)) from None
    finally:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return path


def atomic_copy(src: Path, dst: Path) -> Path:
    """Copy ``src`` to ``dst`` atomically."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_with(dst, lambda tmp: shutil.copyfile(src, tmp))


def prepare_output_dir(path: Path) -> Path:
    """Create the output folder (and parents) or explain why it cannot be used.

    Raises
    ------
    UsageError
        ``path`` exists and is not a folder, or cannot be created or written.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UsageError(f"-o {path}: exists and is not a folder; give a folder name")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"-o {path}: cannot create the output folder ({exc.strerror})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UsageError(f"-o {path}: the output folder is not writable")
    return path


class OutputLock:
    """An exclusive lock on an output folder (``.neurospice.lock``, ``flock``).

    A second run into the same folder is refused with a message while the first holds it; the
    lock goes with the process, so a killed run leaves no stale lock behind.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._fh: IO[str] | None = None

    def __enter__(self) -> OutputLock:
        import fcntl

        lock = self.folder / ".neurospice.lock"
        try:
            self._fh = open(lock, "a+")  # noqa: SIM115 - held for the whole run
        except OSError as exc:
            raise UsageError(f"cannot lock the output folder {self.folder}: "
                             f"{exc.strerror}") from None
        try:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._fh.close()
            self._fh = None
            raise UsageError(f"another neurospice run is writing into {self.folder}; wait for "
                             "it to finish or choose another folder with -o") from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
