"""Structural checks of an untrusted zip archive, made before any other code reads it.

PyTorch's ``.pt2`` and ``.pt`` files and numpy's ``.npz`` files are zip archives. They reach
three different zip readers (Python's ``zipfile`` here, miniz inside PyTorch, ``zipfile`` again
inside numpy), so an archive is accepted only when every reader must see the same entries and
no entry can expand without bound:

- it starts with a local file header and ends with an end-of-central-directory record with no
  comment and no trailing bytes, and the central directory sits where that record says (no
  prepended data that readers might resolve differently);
- entry names are plain relative paths of ASCII letters, digits and ``._-`` (no ``..``, no
  absolute paths, no backslashes, no directories), each name once;
- entries are stored or deflated, not encrypted; each local header repeats its central name and
  the entries' data never overlap (overlapping entries are the classic small zip bomb);
- the entry count, each entry's size, the total uncompressed size and each compressed entry's
  expansion ratio stay within :class:`ArchiveLimits` (a large zip bomb claims, or really has,
  a huge uncompressed size).

Reading an entry afterwards with :func:`read_entry` is then bounded by the checked sizes.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from dataclasses import dataclass

ZIP_LOCAL_MAGIC = b"PK\x03\x04"
_END_RECORD = struct.Struct("<4s4H2LH")
_END_MAGIC = b"PK\x05\x06"
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_LOCATOR_MAGIC = b"PK\x06\x07"
_ZIP64_END_MAGIC = b"PK\x06\x06"
_ZIP64_START_DIR_AT = 48
"""Offset of the central directory's start inside a zip64 end record."""
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_ENCRYPTED_FLAG = 0x1
_NAME = re.compile(r"[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*")
MAX_NAME_LENGTH = 255
_ZIP_READ_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    NotImplementedError,
    OSError,
    EOFError,
    ValueError,
    struct.error,
)


class ArchiveError(ValueError):
    """The bytes are not an archive this module accepts; the message says why."""


@dataclass(frozen=True)
class ArchiveLimits:
    max_entries: int
    max_entry_bytes: int
    max_total_bytes: int
    max_ratio: int
    """Largest uncompressed/compressed size of one deflated entry."""


@dataclass(frozen=True)
class ArchiveEntry:
    name: str
    size: int
    """Uncompressed size in bytes, as the central directory declares (and reading enforces)."""


def is_zip(data: bytes) -> bool:
    return data[:4] == ZIP_LOCAL_MAGIC


def inspect_archive(data: bytes, limits: ArchiveLimits) -> list[ArchiveEntry]:
    """Every entry of the archive, after all the checks in the module docstring."""
    if not is_zip(data):
        raise ArchiveError("not a zip archive (it does not start with a zip entry)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            start_dir = archive.start_dir
    except _ZIP_READ_ERRORS as error:
        raise ArchiveError(f"not a readable zip archive (truncated or damaged): {error}") from None
    _check_end_record(data, start_dir)
    if not infos:
        raise ArchiveError("the archive is empty")
    if len(infos) > limits.max_entries:
        raise ArchiveError(f"{len(infos)} entries, at most {limits.max_entries}")
    _check_names(infos)
    _check_sizes(infos, limits)
    _check_layout(data, infos, start_dir)
    return [ArchiveEntry(info.filename, info.file_size) for info in infos]


def read_entry(data: bytes, name: str) -> bytes:
    """One entry's bytes, from an archive that :func:`inspect_archive` accepted."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.read(name)
    except _ZIP_READ_ERRORS as error:
        raise ArchiveError(f"entry {name!r} cannot be read: {error}") from None


def _check_end_record(data: bytes, start_dir: int) -> None:
    if len(data) < _END_RECORD.size:
        raise ArchiveError("truncated archive")
    magic, _, _, _, _, _, dir_offset, comment_length = _END_RECORD.unpack_from(
        data, len(data) - _END_RECORD.size
    )
    if magic != _END_MAGIC or comment_length != 0:
        raise ArchiveError("the archive must end with its directory record (no comment, no tail)")
    if dir_offset == 0xFFFFFFFF:
        dir_offset = _zip64_start_dir(data)
    if dir_offset != start_dir:
        raise ArchiveError("the archive has data before its first entry")


def _zip64_start_dir(data: bytes) -> int:
    locator_at = len(data) - _END_RECORD.size - _ZIP64_LOCATOR.size
    if locator_at < 0:
        raise ArchiveError("truncated zip64 archive")
    magic, _, record_at, _ = _ZIP64_LOCATOR.unpack_from(data, locator_at)
    if magic != _ZIP64_LOCATOR_MAGIC or record_at + _ZIP64_START_DIR_AT + 8 > locator_at:
        raise ArchiveError("damaged zip64 directory record")
    if data[record_at : record_at + 4] != _ZIP64_END_MAGIC:
        raise ArchiveError("damaged zip64 directory record")
    start_dir: int = struct.unpack_from("<Q", data, record_at + _ZIP64_START_DIR_AT)[0]
    return start_dir


def _check_names(infos: list[zipfile.ZipInfo]) -> None:
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        parts = name.split("/")
        if (
            len(name) > MAX_NAME_LENGTH
            or not _NAME.fullmatch(name)
            or any(part in (".", "..") for part in parts)
        ):
            raise ArchiveError(f"unsafe entry name {name!r} (path traversal or odd characters)")
        if name in seen:
            raise ArchiveError(f"entry {name!r} appears twice")
        seen.add(name)


def _check_sizes(infos: list[zipfile.ZipInfo], limits: ArchiveLimits) -> None:
    total = 0
    for info in infos:
        if info.flag_bits & _ENCRYPTED_FLAG:
            raise ArchiveError(f"entry {info.filename!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ArchiveError(f"entry {info.filename!r} uses an unsupported compression")
        if info.file_size > limits.max_entry_bytes:
            raise ArchiveError(
                f"entry {info.filename!r} expands to {info.file_size} bytes, "
                f"at most {limits.max_entry_bytes} (a zip bomb?)"
            )
        total += info.file_size
        if total > limits.max_total_bytes:
            raise ArchiveError(
                f"the archive expands to more than {limits.max_total_bytes} bytes (a zip bomb?)"
            )
        if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
            raise ArchiveError(f"stored entry {info.filename!r} has inconsistent sizes")
        if info.compress_type == zipfile.ZIP_DEFLATED and (
            info.file_size > limits.max_ratio * max(info.compress_size, 1)
        ):
            raise ArchiveError(
                f"entry {info.filename!r} compresses {info.file_size} bytes into "
                f"{info.compress_size}, a ratio above {limits.max_ratio} (a zip bomb?)"
            )


def _check_layout(data: bytes, infos: list[zipfile.ZipInfo], start_dir: int) -> None:
    """Entries lie one after another before the central directory, none overlapping."""
    previous_end = 0
    for info in sorted(infos, key=lambda item: item.header_offset):
        offset = info.header_offset
        if offset < previous_end or offset + _LOCAL_HEADER.size > start_dir:
            raise ArchiveError(f"entry {info.filename!r} overlaps another (a zip bomb?)")
        fields = _LOCAL_HEADER.unpack_from(data, offset)
        magic, name_length, extra_length = fields[0], fields[9], fields[10]
        name_at = offset + _LOCAL_HEADER.size
        if magic != ZIP_LOCAL_MAGIC or data[name_at : name_at + name_length] != (
            info.filename.encode()
        ):
            raise ArchiveError(f"entry {info.filename!r}: local header disagrees with directory")
        previous_end = name_at + name_length + extra_length + info.compress_size
        if previous_end > start_dir:
            raise ArchiveError(f"entry {info.filename!r} runs into the directory")
