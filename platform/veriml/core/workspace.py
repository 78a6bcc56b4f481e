"""The folder a piece of background work runs in, and the local files it hands the prover.

The prover reads files by path (``provers.api``) and tells their formats by suffix. A stored
file is copied into the folder once its digest checks. A PHI file (``compliance.hipaa``) is
never written to disk in plaintext: it is decrypted into anonymous memory (``memfd_create(2)``,
which no file system holds) and the folder gets only a symbolic link to ``/proc/self/fd/<n>``,
named with the file's suffix; the memory is released when the work ends. What the prover writes
from PHI (a committed test set holds the quantised samples) goes to a folder on a memory file
system (``PHI_WORK_DIR``), and so does any other secret it writes (the compiled form of a model
committed with hidden weights holds the weights, which is stored encrypted like PHI). A worker
that can do neither refuses the work rather than write PHI or hidden weights to its disk. Like
the rest of the worker's memory, these pages can be swapped out: run such workers without swap,
or with encrypted swap.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from types import TracebackType

from django.conf import settings

from compliance.hipaa.storage import is_encrypted
from veriml.core.files import copy_checked, read_checked
from veriml.core.models import StoredFile
from veriml.core.worker import WorkFailed

MEMORY_FILE_SYSTEMS = frozenset({"tmpfs", "ramfs"})
PROC_FD = Path("/proc/self/fd")
MOUNTS = Path("/proc/self/mounts")


def _unescape_mount_point(text: str) -> str:
    # /proc/self/mounts writes space, tab, newline and backslash as octal escapes.
    for escaped, plain in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        text = text.replace(escaped, plain)
    return text


def file_system_type(path: Path) -> str | None:
    """The type of the file system holding ``path`` (its longest mount point), None where the
    mount table cannot be read."""
    try:
        lines = MOUNTS.read_text().splitlines()
    except OSError:
        return None
    resolved = os.path.realpath(path)
    best: tuple[int, str] | None = None
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        mount_point = _unescape_mount_point(fields[1])
        inside = resolved == mount_point or resolved.startswith(mount_point.rstrip("/") + "/")
        if inside and (best is None or len(mount_point) > best[0]):
            best = (len(mount_point), fields[2])
    return best[1] if best else None


def _refuse(why: str) -> WorkFailed:
    return WorkFailed(
        "unavailable",
        f"This worker cannot keep PHI or hidden weights off its disk ({why}); it does not "
        "process them.",
    )


class Workspace:
    """A work folder on the worker's disk, with PHI kept in memory beside it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._memory_fds: list[int] = []
        self._memory_folder: tempfile.TemporaryDirectory[str] | None = None

    @property
    def holds_phi(self) -> bool:
        return bool(self._memory_fds)

    def local_copy(self, stored: StoredFile, stem: str) -> Path:
        """A path the prover can read the stored file's plaintext from; a PHI file's plaintext
        stays in memory (its access is logged by ``read_checked``)."""
        destination = self.path / f"{stem}{Path(stored.storage_name).suffix}"
        if not is_encrypted(stored):
            return copy_checked(stored, destination)
        create = getattr(os, "memfd_create", None)
        if create is None or not PROC_FD.is_dir():
            raise _refuse("it has no anonymous memory files")
        data = read_checked(stored)
        descriptor = create(destination.name, os.MFD_CLOEXEC)
        self._memory_fds.append(descriptor)
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view) :]
        destination.symlink_to(PROC_FD / str(descriptor))
        return destination

    def output_path(self, name: str, secret: bool = False) -> Path:
        """Where the prover writes a file: in the work folder, or, once the work holds PHI or
        when the file itself is ``secret``, in a private folder on a memory file system."""
        if not (secret or self.holds_phi):
            return self.path / name
        if self._memory_folder is None:
            base = Path(settings.PHI_WORK_DIR)
            kind = file_system_type(base) if base.is_dir() else None
            if kind not in MEMORY_FILE_SYSTEMS:
                raise _refuse(f"PHI_WORK_DIR {base} is not a memory file system")
            self._memory_folder = tempfile.TemporaryDirectory(prefix="veriml-phi-", dir=base)
        return Path(self._memory_folder.name) / name

    def close(self) -> None:
        while self._memory_fds:
            os.close(self._memory_fds.pop())
        if self._memory_folder is not None:
            self._memory_folder.cleanup()
            self._memory_folder = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
