"""The OS sandbox of the ngspice worker: defence in depth behind the deck compiler.

The worker process applies it to itself after Python's own modules are loaded and before
ngspice's shared library is opened, so nothing ngspice reads or runs escapes it:

- ``PR_SET_NO_NEW_PRIVS``: no set-uid or file-capability gain, ever;
- **seccomp** (libseccomp through ``pyseccomp``, a ctypes binding with libseccomp's own Python
  API): ``execve``, ``execveat``, ``fork``, ``vfork``, ``ptrace`` and ``socket`` fail with
  ``EPERM`` - no new program can start (ngspice's ``shell``, backquotes, ``system()``), no
  network;
- **Landlock** (through the ``landlock`` package): the file system is read-only for the Python
  installation, the system libraries and ngspice's scripts, the deck's tree and the shipped
  library; read-write for the job folder only (where no link, FIFO or device can be made);
  nothing else can be opened (``/etc/hostname``, ``$HOME``) and nothing may be executed;
- **rlimits**: CPU time, address space and file size, and no core files.

Why these libraries: ``pyseccomp`` talks to the system's libseccomp (present on every Debian
machine, ``libseccomp2``) with libseccomp's documented API and no compiled part of its own;
``landlock`` is a small pure-Python binding that negotiates the kernel's Landlock ABI. Both are
wrapped here, so replacing either touches one function.

:func:`apply` returns which layers are active; a layer the kernel lacks is reported, not
silently skipped. seccomp is required: without it the worker refuses to run.
"""

from __future__ import annotations

import errno
import os
import resource
import sys

__all__ = ["SandboxPolicy", "SandboxReport", "SandboxUnavailable", "apply", "load_bindings",
           "system_read_paths"]


class SandboxUnavailable(RuntimeError):
    """A required layer could not be applied."""


# Plain classes, not dataclasses: the worker imports this module on every run's critical path,
# and ``dataclasses`` (with ``inspect``) would cost it 3 ms.
class SandboxPolicy:
    """What the worker may do.

    Attributes
    ----------
    read_paths
        Folders and files it may read (and list).
    write_paths
        Folders it may read, create and write in (the job folder).
    cpu_seconds
        RLIMIT_CPU (s of CPU time); None for no limit.
    address_space
        RLIMIT_AS (bytes of virtual memory); None for no limit.
    file_size
        RLIMIT_FSIZE (largest file it may write, bytes); None for no limit.
    """

    __slots__ = ("read_paths", "write_paths", "cpu_seconds", "address_space", "file_size")

    def __init__(self, read_paths: tuple[str, ...] = (), write_paths: tuple[str, ...] = (),
                 cpu_seconds: int | None = None, address_space: int | None = None,
                 file_size: int | None = None) -> None:
        self.read_paths = tuple(read_paths)
        self.write_paths = tuple(write_paths)
        self.cpu_seconds = cpu_seconds
        self.address_space = address_space
        self.file_size = file_size


class SandboxReport:
    """Which layers are active (each value says how, or why not)."""

    __slots__ = ("no_new_privs", "seccomp", "landlock", "rlimits", "notes")

    def __init__(self) -> None:
        self.no_new_privs = "off"
        self.seccomp = "off"
        self.landlock = "off"
        self.rlimits = "off"
        self.notes: list[str] = []

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__}

    def summary(self) -> str:
        """One line: ``seccomp: ... | landlock: ... | ...``."""
        return (f"no_new_privs {self.no_new_privs}; seccomp {self.seccomp}; "
                f"landlock {self.landlock}; rlimits {self.rlimits}")


_DENIED_SYSCALLS = ("execve", "execveat", "fork", "vfork", "ptrace", "socket")


#: the modules the worker imports from outside the standard library (their files stay readable)
_WORKER_PACKAGES = ("neurospice", "landlock", "pyseccomp")


def system_read_paths() -> list[str]:
    """What Python and ngspice need to read to start and run: an explicit list.

    The interpreter's installation (its prefixes and the standard library's folders), the
    folders of the installed packages the worker imports (neurospice itself - its package
    folder, not the folder above it, which in a source checkout is the whole project - and the
    sandbox's bindings), the system libraries and ngspice's scripts. Not ``sys.path`` as given:
    it holds the caller's script folder (the API) and any ``PYTHONPATH`` folder, which a deck
    must not read.
    """
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             "/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/share/ngspice",
             "/etc/ld.so.cache", "/etc/localtime",
             # ngspice looks its user up (getpwuid) at start and crashes without an answer
             "/etc/nsswitch.conf", "/etc/passwd", "/dev/null", "/dev/urandom",
             "/proc/self", "/sys/devices/system/cpu", "/usr/local/lib"}
    # the standard library and its compiled modules, where the modules loaded say they are
    # (``sysconfig`` would cost the worker a millisecond)
    for module in ("os", "_ctypes", "_json"):
        where = getattr(sys.modules.get(module), "__file__", None)
        if where:  # (Landlock resolves links itself when it opens a rule's path)
            paths.add(os.path.dirname(where))
    for name in _WORKER_PACKAGES:
        paths.update(_package_folder(name))
    return sorted(p for p in paths if p and os.path.exists(p))


def _package_folder(name: str) -> list[str]:
    """The folder of the imported package ``name`` (the file of a one-file module)."""
    module = sys.modules.get(name)
    if name == "neurospice":
        return [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]
    where = getattr(module, "__file__", None) if module is not None else None
    if not where:
        return []
    return [os.path.dirname(where) if os.path.basename(where) == "__init__.py" else where]


def _rlimits(policy: SandboxPolicy) -> str:
    done = []
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for name, lim, value in (("cpu", resource.RLIMIT_CPU, policy.cpu_seconds),
                             ("as", resource.RLIMIT_AS, policy.address_space),
                             ("fsize", resource.RLIMIT_FSIZE, policy.file_size)):
        if value is None:
            continue
        soft = int(value)
        hard = soft + 5 if lim == resource.RLIMIT_CPU else soft
        _, old_hard = resource.getrlimit(lim)
        if old_hard != resource.RLIM_INFINITY:
            soft, hard = min(soft, old_hard), min(hard, old_hard)
        resource.setrlimit(lim, (soft, hard))
        done.append(f"{name}={soft}")
    done.append("core=0")
    return ", ".join(done)


def _seccomp() -> str:
    import pyseccomp as seccomp

    filt = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for name in _DENIED_SYSCALLS:
        filt.add_rule(seccomp.ERRNO(errno.EPERM), name)
    filt.load()
    return "denies " + ", ".join(_DENIED_SYSCALLS)


def _landlock(policy: SandboxPolicy) -> str:
    from landlock import FSAccess, Ruleset
    from landlock.plumbing import landlock_abi_version

    abi = landlock_abi_version()
    ruleset = Ruleset()
    read_file = FSAccess.READ_FILE
    read_dir = FSAccess.READ_FILE | FSAccess.READ_DIR
    for path in policy.read_paths:
        if not os.path.exists(path):
            continue
        ruleset.allow(path, rules=read_dir if os.path.isdir(path) else read_file)
    # the job folder: files and folders, but no links, FIFOs, sockets or devices - the parent
    # reads the results from it, and a link or FIFO planted there (by an --allow-control deck)
    # would make the unsandboxed parent read another file, or block
    write = FSAccess.all()
    for denied in ("EXECUTE", "MAKE_SYM", "MAKE_FIFO", "MAKE_SOCK", "MAKE_CHAR", "MAKE_BLOCK",
                   "IOCTL_DEV"):
        write &= ~getattr(FSAccess, denied, FSAccess(0))
    for path in policy.write_paths:
        ruleset.allow(path, rules=write)
    ruleset.apply()
    return f"ABI {abi}: read-only {len(policy.read_paths)} paths, read-write " + ", ".join(
        policy.write_paths)


def load_bindings() -> None:
    """Import the sandbox's bindings (they locate their C libraries when imported, which must
    happen before the sandbox is on). :func:`apply` does it too; a worker calls this while it
    waits for its job, so that the job's arrival finds only the system calls to make."""
    import landlock  # noqa: F401
    import pyseccomp  # noqa: F401


def apply(policy: SandboxPolicy) -> SandboxReport:
    """Sandbox the calling process (irreversibly) and say which layers are on.

    Raises
    ------
    SandboxUnavailable
        If seccomp cannot be applied (the worker must not run without it).
    """
    report = SandboxReport()
    try:
        load_bindings()
    except Exception as exc:  # noqa: BLE001
        raise SandboxUnavailable(f"the sandbox libraries could not be loaded: {exc}") from exc
    try:
        report.rlimits = _rlimits(policy)
    except (ValueError, OSError) as exc:
        report.rlimits = f"failed ({exc})"
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
            raise OSError(ctypes.get_errno(), "prctl")
        report.no_new_privs = "on"
    except OSError as exc:
        report.no_new_privs = f"failed ({exc})"
    try:
        report.landlock = _landlock(policy)
    except Exception as exc:  # noqa: BLE001 - any failure is reported, seccomp still applies
        report.landlock = f"unavailable ({type(exc).__name__}: {exc})"
    try:
        report.seccomp = _seccomp()
    except Exception as exc:  # noqa: BLE001
        raise SandboxUnavailable(f"seccomp could not be applied: {exc}") from exc
    return report
