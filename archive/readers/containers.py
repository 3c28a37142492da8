"""Archives (zip, 7z) whose members are documents: listed, read and guarded.

Auditors hand in a project as a zipped folder, so every member is a document of its own, found at
`<archive path>/<member path>`. Members are read into memory (never written by their own names, so a
`../` name cannot climb out), with limits on each member's inflated size, on the archive's total and
on the compression ratio (a zip bomb fails alone). Zip tools on Chinese Windows write names in GBK
without the UTF-8 flag; they are decoded as such. Archives inside an archive are opened one level deep.

A member travels to a worker as a *reference*: the archive's path and the member names joined by
NUL, a character no path holds (`member_ref`), which `read_source` turns back into bytes.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable

from ..messages import message
from .base import ReadError

SEP = "\x00"
MAX_MEMBER_BYTES = 256 << 20          # a member's inflated size
MAX_TOTAL_BYTES = 2 << 30             # all members of one archive
MAX_RATIO = 200                       # inflated / compressed, for members over RATIO_FLOOR
RATIO_FLOOR = 1 << 20
MAX_MEMBERS = 20_000


def member_ref(archive: str | Path, *members: str) -> str:
    return SEP.join([str(archive), *members])


def split_ref(ref: str) -> tuple[str, list[str]]:
    """(the file on disk, the member names within it, outermost first)."""
    parts = ref.split(SEP)
    return parts[0], parts[1:]


def display_path(ref: str) -> str:
    """How people see a member: `<archive>/<member>` (the catalogue's path)."""
    path, members = split_ref(ref)
    return "/".join([path, *members])


def is_ref(source: object) -> bool:
    return isinstance(source, str) and SEP in source


@dataclass
class Member:
    name: str                     # decoded, as the archive names it
    size: int                     # declared inflated size
    problem: tuple[str, str] | None = None      # (reason, message) when it cannot be read


def _decoded(info: zipfile.ZipInfo) -> str:
    """The member's name: UTF-8 when flagged; otherwise the raw bytes as UTF-8 (Info-ZIP on Linux),
    else GBK (Chinese Windows tools), else zipfile's cp437."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:
        return info.filename
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


def unsafe_name(name: str) -> bool:
    """A name that would climb out of a folder it were extracted into (`..`, absolute, a drive)."""
    posix = name.replace("\\", "/")
    parts = PurePosixPath(posix).parts
    return posix.startswith("/") or ".." in parts or (len(posix) > 1 and posix[1] == ":")


def _zip_problem(info: zipfile.ZipInfo, name: str) -> tuple[str, str] | None:
    if unsafe_name(name):
        return "unsafe_name", message("archive.unsafe_name", name=name)
    if info.flag_bits & 0x1:
        return "encrypted", message("archive.member_encrypted")
    if info.file_size > MAX_MEMBER_BYTES:
        return "too_large", message("archive.member_too_large", mb=MAX_MEMBER_BYTES >> 20)
    if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        return "too_large", message("archive.ratio", ratio=MAX_RATIO)
    return None


def _open_zip(data: bytes | str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes) else data)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ReadError("damaged", message("archive.damaged", detail=exc)) from None


def _zip_members(zf: zipfile.ZipFile) -> list[Member]:
    out = []
    total = 0
    infos = [i for i in zf.infolist() if not i.is_dir()]
    if len(infos) > MAX_MEMBERS:
        raise ReadError("too_large", message("archive.too_many", count=len(infos), limit=MAX_MEMBERS))
    for info in infos:
        name = _decoded(info)
        problem = _zip_problem(info, name)
        total += info.file_size
        if problem is None and total > MAX_TOTAL_BYTES:
            problem = ("too_large", message("archive.total_too_large", mb=MAX_TOTAL_BYTES >> 20))
        out.append(Member(name, info.file_size, problem))
    return out


def _read_zip_member(zf: zipfile.ZipFile, name: str) -> bytes:
    for info in zf.infolist():
        if _decoded(info) == name and not info.is_dir():
            problem = _zip_problem(info, name)
            if problem:
                raise ReadError(*problem)
            try:
                with zf.open(info) as fh:
                    data = fh.read(MAX_MEMBER_BYTES + 1)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError,
                    RuntimeError) as exc:       # RuntimeError: zipfile's "encrypted, password required"
                raise ReadError("damaged", message("archive.member_damaged", detail=exc)) from None
            if len(data) > MAX_MEMBER_BYTES:
                raise ReadError("too_large", message("archive.member_too_large", mb=MAX_MEMBER_BYTES >> 20))
            return data
    raise ReadError("vanished", message("archive.member_missing", name=name))


def _open_7z(data: bytes | str):
    import py7zr

    try:
        return py7zr.SevenZipFile(io.BytesIO(data) if isinstance(data, bytes) else data, mode="r")
    except py7zr.exceptions.PasswordRequired:
        raise ReadError("encrypted", message("archive.encrypted")) from None
    except (py7zr.exceptions.Bad7zFile, py7zr.exceptions.ArchiveError, OSError, ValueError, EOFError,
            KeyError, IndexError) as exc:
        raise ReadError("damaged", message("archive.damaged", detail=exc)) from None


def _7z_members(archive) -> list[Member]:
    if archive.needs_password():
        raise ReadError("encrypted", message("archive.encrypted"))
    out = []
    total = 0
    entries = [e for e in archive.list() if not e.is_directory]
    if len(entries) > MAX_MEMBERS:
        raise ReadError("too_large", message("archive.too_many", count=len(entries), limit=MAX_MEMBERS))
    for entry in entries:
        size = entry.uncompressed or 0
        total += size
        problem = None
        if unsafe_name(entry.filename):
            problem = ("unsafe_name", message("archive.unsafe_name", name=entry.filename))
        elif size > MAX_MEMBER_BYTES:
            problem = ("too_large", message("archive.member_too_large", mb=MAX_MEMBER_BYTES >> 20))
        elif total > MAX_TOTAL_BYTES:
            problem = ("too_large", message("archive.total_too_large", mb=MAX_TOTAL_BYTES >> 20))
        out.append(Member(entry.filename, size, problem))
    return out


def _read_7z_member(archive, name: str) -> bytes:
    import py7zr
    from py7zr.io import BytesIOFactory

    factory = BytesIOFactory(MAX_MEMBER_BYTES + 1)
    try:
        archive.extract(targets=[name], factory=factory)
    except (py7zr.exceptions.ArchiveError, OSError, ValueError, EOFError, KeyError, IndexError) as exc:
        raise ReadError("damaged", message("archive.member_damaged", detail=exc)) from None
    try:
        product = factory.get(name)
    except KeyError:
        raise ReadError("vanished", message("archive.member_missing", name=name)) from None
    if product.size() > MAX_MEMBER_BYTES:
        raise ReadError("too_large", message("archive.member_too_large", mb=MAX_MEMBER_BYTES >> 20))
    product.seek(0)
    return product.read()


def list_members(data: bytes | str | Path, kind: str) -> list[Member]:
    """The archive's files (folders left out), each with the problem that keeps it from being read."""
    source = data if isinstance(data, bytes) else str(data)
    if kind == "zip":
        with _open_zip(source) as zf:
            return _zip_members(zf)
    with _open_7z(source) as archive:
        return _7z_members(archive)


def read_member(data: bytes | str | Path, kind: str, name: str) -> bytes:
    source = data if isinstance(data, bytes) else str(data)
    if kind == "zip":
        with _open_zip(source) as zf:
            return _read_zip_member(zf, name)
    with _open_7z(source) as archive:
        if archive.needs_password():
            raise ReadError("encrypted", message("archive.encrypted"))
        return _read_7z_member(archive, name)


def archive_kind(head: bytes) -> str | None:
    """zip or 7z by magic bytes (whether a zip is an archive or a docx is `dispatch.sniff`'s call)."""
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if head[:6] == b"7z\xbc\xaf\x27\x1c":
        return "7z"
    return None


def read_source(ref: str | Path | bytes) -> bytes:
    """A task's bytes: a file's, or a member's (through its archive, one level of nesting)."""
    if isinstance(ref, (bytes, bytearray)):
        return bytes(ref)
    ref = str(ref)
    if not is_ref(ref):
        return Path(ref).read_bytes()
    path, members = split_ref(ref)
    with open(path, "rb") as fh:
        head = fh.read(8)
    kind = archive_kind(head) or "zip"
    data = read_member(path, kind, members[0])
    for name in members[1:]:
        inner = archive_kind(data[:8])
        if inner is None:
            raise ReadError("damaged", message("archive.damaged", detail=members[0]))
        data = read_member(data, inner, name)
    return data


def real_file(ref: str | Path) -> str:
    """The file on disk a reference lives in (the archive, for a member)."""
    return split_ref(str(ref))[0]


@dataclass
class Expanded:
    """What an archive holds: members to read (reference, declared size), members that cannot be
    read (display path, reason, message), and names passed over (not documents)."""
    members: list[tuple[str, int]]
    problems: list[tuple[str, str, str]]
    others: list[str]


def _archive_of_path(path: Path) -> str | None:
    """zip or 7z when the file is an archive of documents (a docx, xlsx or OFD is a zip too)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return None
    kind = archive_kind(head)
    if kind == "zip":
        from .dispatch import zip_kind

        return "zip" if zip_kind(str(path)) == "zip" else None
    return kind


def _nested_kind(name: str) -> str | None:
    lower = name.lower()
    return "zip" if lower.endswith(".zip") else "7z" if lower.endswith(".7z") else None


def expand(path: Path, worth: Callable[[str], bool]) -> Expanded | None:
    """The archive's members (archives inside it opened one level deep), or None when `path` is
    not an archive. A damaged or encrypted archive is one problem at its own path."""
    kind = _archive_of_path(path)
    if kind is None:
        return None
    out = Expanded([], [], [])
    try:
        members = list_members(path, kind)
    except ReadError as exc:
        out.problems.append((str(path), exc.reason, str(exc)))
        return out
    for member in members:
        shown = f"{path}/{member.name}"
        if member.problem:
            out.problems.append((shown, *member.problem))
            continue
        inner = _nested_kind(member.name)
        if inner is None:
            if worth(member.name):
                out.members.append((member_ref(path, member.name), member.size))
            else:
                out.others.append(shown)
            continue
        try:
            data = read_member(path, kind, member.name)
            for sub in list_members(data, inner):
                sub_shown = f"{shown}/{sub.name}"
                if sub.problem:
                    out.problems.append((sub_shown, *sub.problem))
                elif _nested_kind(sub.name):
                    out.problems.append((sub_shown, "nested", message("archive.nested_too_deep")))
                elif worth(sub.name):
                    out.members.append((member_ref(path, member.name, sub.name), sub.size))
                else:
                    out.others.append(sub_shown)
        except ReadError as exc:
            out.problems.append((shown, exc.reason, str(exc)))
    return out


def ref_for_display(shown: str) -> str | None:
    """The member reference behind a catalogued `<archive>/<member>` path (None when no archive on
    disk holds such a member): the longest leading part that is a file is the archive; the rest is
    a member name, or an inner archive's name and a member of it."""
    path = Path(shown)
    for archive in path.parents:
        if archive.is_file():
            break
    else:
        return None
    rest = shown[len(str(archive)) + 1:]
    kind = _archive_of_path(archive)
    if kind is None:
        return None
    try:
        names = [m.name for m in list_members(archive, kind)]
    except ReadError:
        return None
    if rest in names:
        return member_ref(archive, rest)
    for name in names:
        inner = _nested_kind(name)
        if inner and rest.startswith(name + "/"):
            return member_ref(archive, name, rest[len(name) + 1:])
    return None
