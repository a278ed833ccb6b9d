"""Writing outputs so that nothing already written is lost or truncated.

Every file neurospice writes goes through :func:`atomic_write`: the content is written to a
temporary file in the same folder, flushed to disk, then renamed over the target. A run killed
or stopped by a full disk leaves either the old file or the new one, never half of one. A full
disk becomes :class:`OutputError` (a failed run, exit status 1) with the temporary file removed.

:class:`OutputLock` keeps two runs from writing into one output folder at once, and makes the
folder an *output root* of the process while it holds it: every write, copy and move built
under it (:func:`check_output_path`) must stay in it. A folder that ships with a deck is the
deck author's: a link planted in it (``previous/``, ``summary.json``, the lock file) must not
send an output, a moved file or the lock anywhere else, and a name made of an instance name
(``iv_Xa/../../x.png``) must not climb out of it. :func:`output_name` makes such a name one
path component; the lock file and crash logs are created with ``O_EXCL | O_NOFOLLOW``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
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
           "prepare_output_dir", "check_output_path", "output_name", "printable",
           "shared_folder", "safe_replace", "write_crash_log"]

#: the output folders this process holds locked (real paths, see :class:`OutputLock`); a
#: forked report child inherits them
_ROOTS: list[tuple[str, str]] = []


def printable(text: object) -> str:
    """``text`` with control characters (ESC, CR, BEL...) escaped as ``\\xNN``; line breaks
    and tabs are kept. For every message that may quote a deck or a file name."""
    out = str(text)
    if not any((ord(c) < 32 and c not in "\n\t") or 127 <= ord(c) < 160 for c in out):
        return out
    return "".join(c if (c in "\n\t" or not (ord(c) < 32 or 127 <= ord(c) < 160))
                   else f"\\x{ord(c):02x}" for c in out)


_NAME_BAD = frozenset('/\\\0:*?"<>|')


def output_name(text: str, limit: int = 120) -> str:
    """``text`` made one safe path component, for file names made of instance names.

    Separators, control characters and the characters Windows refuses become ``_``; a name
    that would be ``.``, ``..`` or hidden gets a ``_`` in front; at most ``limit`` characters.
    """
    name = "".join("_" if c in _NAME_BAD or ord(c) < 32 or ord(c) == 127 else c
                   for c in str(text))[:limit]
    if not name or name.startswith("."):
        name = "_" + name
    return name


def shared_folder(folder: str | os.PathLike[str]) -> str | None:
    """What ``folder`` is, when it is a folder many unrelated files share - the root, the
    temporary folder or the home folder - or None. A deck saved directly in one of them must
    not have the whole folder as its tree."""
    real = os.path.realpath(folder)
    home = os.path.expanduser("~")
    named = {"/": "the root folder", tempfile.gettempdir(): "the temporary folder",
             "/tmp": "the temporary folder", "/var/tmp": "the temporary folder",
             "/dev/shm": "the shared-memory folder", home: "your home folder", "/home": "/home"}
    for cand, what in named.items():
        if cand and real == os.path.realpath(cand):
            return what
    return None


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def check_output_path(path: str | os.PathLike[str]) -> None:
    """Refuse a write to ``path`` that would land outside the output folder it is built under.

    Applies to paths written as ``<locked output folder>/...`` (see :class:`OutputLock`):
    no ``..`` component after the folder, and the folder that receives the file, once its
    links are resolved, inside the output folder; the file itself must not be a link (a
    planted link is replaced, never followed). Other paths (the model cache, ``-o FILE`` of
    ``build``) are not affected.

    Raises
    ------
    OutputError
        The path leaves the output folder.
    """
    text = _given_abs(path)
    for given, real_root in _ROOTS:
        if not (text == given or text.startswith(given.rstrip(os.sep) + os.sep)):
            continue
        rest = text[len(given):].split(os.sep)
        if ".." in rest:
            raise OutputError(f"refused to write {printable(text)}: the name climbs out of the "
                              f"output folder {printable(given)}")
        parent = os.path.realpath(os.path.dirname(text))
        if not _inside(parent, real_root):
            raise OutputError(f"refused to write {printable(text)}: a link in the output folder "
                              f"leads out of it (to {printable(parent)}); remove the link or "
                              "choose another folder with -o")
        return


def _given_abs(path: str | os.PathLike[str]) -> str:
    text = os.fspath(path)
    return text if os.path.isabs(text) else os.path.join(os.getcwd(), text)


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
    check_output_path(path)
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
    check_output_path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    except OSError as exc:
        raise OutputError(_describe(exc, path)) from None
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


def atomic_copy(src: Path, dst: Path, *, limit: int | None = None) -> Path:
    """Copy the regular file ``src`` to ``dst`` atomically.

    ``src`` is opened without following a link (``O_NOFOLLOW``) and must be a regular file of
    at most ``limit`` bytes: a worker's job folder is written by ngspice, and a link planted
    there must not make this (unsandboxed) process copy a file it names.

    Raises
    ------
    OutputError
        ``src`` is a link, not a regular file, over ``limit``, or ``dst`` cannot be written.
    """
    check_output_path(dst)
    try:
        fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        why = "it is a link" if exc.errno == errno.ELOOP else exc.strerror
        raise OutputError(f"refused to copy {printable(src)}: {why}") from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise OutputError(f"refused to copy {printable(src)}: not a regular file")
        if limit is not None and info.st_size > limit:
            raise OutputError(f"refused to copy {printable(src)}: {info.st_size} bytes, over "
                              f"the limit of {limit}")
        dst.parent.mkdir(parents=True, exist_ok=True)

        def copy(tmp: Path) -> None:
            with open(tmp, "wb") as out:
                shutil.copyfileobj(fh, out, 1 << 20)

        return atomic_write_with(dst, copy)


def safe_replace(src: Path, dst: Path) -> Path:
    """Move ``src`` to ``dst`` (``os.replace``) when both are inside the output folder they are
    built under (:func:`check_output_path`); ``dst``'s folder is created if missing, never
    through a link.

    Raises
    ------
    OutputError
        Either end leaves the output folder, or the move fails.
    """
    check_output_path(src)
    check_output_path(dst)
    try:
        if os.path.islink(dst.parent):
            raise OutputError(f"refused to move {printable(src.name)} into {printable(dst.parent)}"
                              ": it is a link; remove it")
        dst.parent.mkdir(exist_ok=True)
        check_output_path(dst)
        os.replace(src, dst)
    except OSError as exc:
        raise OutputError(_describe(exc, dst)) from None
    return dst


def prepare_output_dir(path: Path) -> Path:
    """Create the output folder (and parents) or explain why it cannot be used.

    Raises
    ------
    UsageError
        ``path`` exists and is not a folder, or cannot be created or written.
    """
    path = Path(path)
    if path.is_symlink():
        raise UsageError(f"-o {printable(path)}: the output folder is a link (to "
                         f"{printable(os.path.realpath(path))}); a folder that ships with a "
                         "deck must not send its outputs elsewhere - give the real folder "
                         "with -o, or remove the link")
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
        self._roots: list[tuple[str, str]] = []

    def __enter__(self) -> OutputLock:
        import fcntl

        lock = self.folder / ".neurospice.lock"
        shown = printable(self.folder)
        try:
            fd = _open_lock(str(lock))
        except OSError as exc:
            why = ("it is a link (planted with the folder?); remove it"
                   if exc.errno == errno.ELOOP else exc.strerror)
            raise UsageError(f"cannot lock the output folder {shown}: "
                             f".neurospice.lock: {why}") from None
        self._fh = os.fdopen(fd, "r")
        try:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._fh.close()
            self._fh = None
            raise UsageError(f"another neurospice run is writing into {shown}; wait for "
                             "it to finish or choose another folder with -o") from None
        given = _given_abs(self.folder)
        real = os.path.realpath(given)
        # as given, and resolved: a path spelt either way is checked
        self._roots = [(given, real), (real, real)]
        _ROOTS.extend(self._roots)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
            for root in self._roots:
                if root in _ROOTS:
                    _ROOTS.remove(root)
            self._roots = []


_NOFOLLOW = os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def _open_lock(path: str) -> int:
    """The lock file, created with ``O_EXCL`` or opened as found, never through a link, never
    a FIFO or device (``O_NONBLOCK`` and a check that it is a regular file)."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
    except FileExistsError:
        pass
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | _NOFOLLOW)
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file; remove it", path)
    return fd


def write_crash_log(text: str, folder: str | os.PathLike[str] | None) -> str | None:
    """Write a traceback to ``neurospice-error-<pid>[-k].log`` in ``folder`` (the output
    folder) with ``O_EXCL | O_NOFOLLOW`` - a planted file or link is never written through -
    or, without a folder, to a new file of unpredictable name in the temporary folder.
    Returns the file's path, or None if none could be written."""
    if folder is not None:
        for k in range(20):
            name = f"neurospice-error-{os.getpid()}{'' if k == 0 else f'-{k}'}.log"
            path = os.path.join(folder, name)
            try:
                check_output_path(path)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
            except FileExistsError:
                continue
            except (OSError, OutputError):
                break
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            return path
    try:
        fd, path = tempfile.mkstemp(prefix=f"neurospice-error-{os.getpid()}-", suffix=".log")
    except OSError:
        return None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path
