"""Uploaded originals: checked, stored by content hash under the data home's `files/`, and their
ingest status read back from the catalogue.

An upload is written to `files/<sha256>/<sanitised name>` (any format `ingest` reads, by content): the same content uploaded twice is
stored once, the name a user gave is kept (archive staff recognise their files by it), and no
name a user sends can leave that folder. Status is never kept in memory: a stored file is
`ingested` when the catalogue has it, `failed` with the reason when the catalogue recorded a
failure, and `pending` otherwise, so a server restart loses nothing (pending files are queued again).
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from .catalog import Catalog
from .messages import message
from .readers.base import ReadError
from .readers.dispatch import DEFAULT_SUFFIX, EXTENSIONS, sniff_file

MAX_UPLOAD_BYTES = 100 * 1024 * 1024
# One upload request (one or more files together, plus the multipart framing). The server front
# refuses a request announcing more at once (413, its body never read) and cuts a streamed body
# here; the upload views check it again before they read a byte of the form.
MAX_REQUEST_BYTES = MAX_UPLOAD_BYTES + 1024 * 1024
TOO_LARGE_MESSAGE = message("upload.too_large", mb=MAX_UPLOAD_BYTES // (1024 * 1024))
SIGNATURE_WINDOW = 1024          # PDF readers accept the %PDF- header within the first 1024 bytes
_CHUNK = 1 << 20
_UNSAFE = re.compile(r"[^\w\u3000-\u303f\uff00-\uffef（）()\-.+ ]+")


class UploadError(Exception):
    """An upload that was refused, with a reason a program can test and a message for people."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason, self.message = reason, message


@dataclass(frozen=True)
class StoredUpload:
    sha256: str
    path: Path
    filename: str
    size: int
    duplicate: bool          # the same content was uploaded before

    def to_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "path": str(self.path), "filename": self.filename,
                "size": self.size, "duplicate": self.duplicate}


def request_limit(configured: int | None) -> int:
    """The most an upload request may carry: the app's own limit when lower, else MAX_REQUEST_BYTES."""
    return min(configured, MAX_REQUEST_BYTES) if configured else MAX_REQUEST_BYTES


def refuse_announced_length(content_length: int | None, limit: int = MAX_REQUEST_BYTES) -> None:
    """Raise UploadError('too_large') for a request whose Content-Length is over `limit`: refused
    before any of its body is read (a body without a length is cut at the limit while read)."""
    if content_length is not None and content_length > limit:
        raise UploadError("too_large", TOO_LARGE_MESSAGE)


def safe_filename(name: str | None, kind: str = "pdf") -> str:
    """A file name that keeps Chinese and ordinary punctuation but cannot name another folder,
    a hidden file or a device: path parts dropped, controls and separators removed, ≤ 120
    characters, ending in its own extension when that is a document's (`.doc` for Word 2003 XML
    stays `.doc`), else in the one of the format read from its content (`kind`)."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    match = re.search(r"\.[A-Za-z0-9]{1,5}$", name)
    if match and match.group().lower() in EXTENSIONS:
        stem, suffix = name[:match.start()], match.group().lower()
    else:
        stem, suffix = name, DEFAULT_SUFFIX.get(kind, ".pdf")
    stem = _UNSAFE.sub("_", stem).strip(" ._") or "upload"
    return stem[:120] + suffix


def store_upload(files_dir: Path, filename: str | None, stream: BinaryIO,
                 max_bytes: int = MAX_UPLOAD_BYTES) -> StoredUpload:
    """Copy an uploaded stream into the store; raises UploadError when it is empty, too large or
    not a PDF. Nothing half-written is left behind."""
    files_dir.mkdir(parents=True, exist_ok=True)
    digest, size, head = hashlib.sha256(), 0, b""
    fd, tmp_name = tempfile.mkstemp(dir=files_dir, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadError("too_large", message("upload.file_too_large", mb=max_bytes // (1024 * 1024)))
                if len(head) < SIGNATURE_WINDOW:
                    head += chunk[:SIGNATURE_WINDOW - len(head)]
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise UploadError("empty", message("upload.empty"))
        try:
            kind = sniff_file(tmp_name)
        except ReadError as exc:
            if (filename or "").lower().endswith(".pdf"):       # it said PDF: say it is not one
                raise UploadError("not_pdf", message("upload.not_pdf")) from None
            raise UploadError("unsupported", message("upload.unsupported", detail=exc)) from None
        sha = digest.hexdigest()
        folder = files_dir / sha
        existing = _stored_in(folder)
        if existing:
            return StoredUpload(sha, existing[0], existing[0].name, size, True)
        folder.mkdir(exist_ok=True)
        target = folder / safe_filename(filename, kind)
        os.replace(tmp_name, target)
        os.chmod(target, 0o440)       # originals are never modified
        return StoredUpload(sha, target, target.name, size, False)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)


def stored_files(files_dir: Path) -> list[Path]:
    """Every stored upload, newest first."""
    if not files_dir.is_dir():
        return []
    found = [p for p in files_dir.glob("*/*") if re.fullmatch(r"[0-9a-f]{64}", p.parent.name)
             and p.is_file() and not p.name.startswith(".")]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def find_upload(files_dir: Path, sha256: str) -> Path | None:
    if not re.fullmatch(r"[0-9a-f]{64}", sha256 or ""):
        return None
    found = _stored_in(files_dir / sha256)
    return found[0] if found else None


def _stored_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")) if folder.is_dir() else []


def upload_status(catalog: Catalog, path: Path) -> dict[str, Any]:
    """What became of one stored upload, from the catalogue."""
    key = str(path)
    row = catalog.db.execute("select doc_id from files where path = ?", [key]).fetchone()
    base = {"sha256": path.parent.name, "filename": path.name, "size": path.stat().st_size,
            "uploaded_at": _iso_mtime(path)}
    if row:
        doc = catalog.get_document(row[0])
        if doc is not None:
            return {**base, "status": "ingested", "document_id": doc.id, "title": doc.title,
                    "doc_type": doc.doc_type, "org": doc.org.name, "pages": doc.pages,
                    "doc_status": doc.status}
    fail = catalog.db.execute("select reason, message from failures where path = ?", [key]).fetchone()
    if fail:
        return {**base, "status": "failed", "reason": fail[0], "message": fail[1]}
    inside = catalog.db.execute("select count(*) from files where path like ? escape '\\'",   # an archive's members
                                [key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%"]).fetchone()[0]
    if inside:
        return {**base, "status": "ingested", "documents": inside}
    return {**base, "status": "pending"}


def _iso_mtime(path: Path) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat(timespec="seconds")
