"""Word formats we do not parse ourselves (binary Word 97–2003 `.doc`, `.rtf`, `.odt`, Kingsoft `.wps`)
→ PDF by LibreOffice headless.

Why a PDF rather than text: the rest of the pipeline then reads the rendition with `archive.pdf.read_pdf`,
so page view, page images, tables and highlights work as for any PDF. Converting costs ~0.6–1 s for a
short document (seconds for a long one), so the PDF is kept in the data home by the input's SHA-256 and
made once.

How LibreOffice is run, and why:
- the input's content is checked first and the import filter is forced: LibreOffice falls back to
  importing anything it cannot recognise as plain text (garbage becomes a 1 MB PDF of noise after
  ~10 s) and hung on a damaged RTF in our trials; with the filter forced a bad file fails in under a second;
- a private temporary folder per conversion holds the input under a fixed name (never the original's),
  the output and LibreOffice's own temporary files, and is removed afterwards;
- its own user profile (HOME and `-env:UserInstallation`), so it never reads or writes the user's
  ~/.config nor hands the job to a LibreOffice the user has open; one per process (a fresh profile's
  first start costs ~0.4 s more), never shared between processes (a fork makes its own), one conversion
  at a time (`_lock`), thrown away after a timeout or crash;
- the profile forbids macros and blocks links to untrusted places (a document's linked pictures are
  otherwise fetched from any URL while it is converted);
- its own process group, so a timeout kills soffice and every process it started.
"""
from __future__ import annotations

import atexit
import hashlib
import io
import os
import re
import shutil
import signal
import stat
import struct
import subprocess
import tempfile
import threading
import time
import zipfile
from pathlib import Path

from ..messages import message
from .base import ReadError

KINDS = ("doc", "rtf", "odt", "wps")
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_MANIFEST_LIMIT = 1 << 20        # bytes of an ODT's manifest read to see whether it is encrypted

# What a fresh profile starts with: no macros at all, no links followed to untrusted places (linked
# pictures, which LibreOffice otherwise fetches while loading), and a "last version run" above any real
# one: a profile that never recorded it (headless runs never do) counts as just upgraded, and every
# start then runs LibreOffice's graphics self-tests (~2 s of a ~0.6 s conversion).
_REGISTRY = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks" \
oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution" \
oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" \
oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Setup/Product"><prop oor:name="ooSetupLastVersion" oor:op="fuse">\
<value>999.9</value></prop></item>
</oor:items>
"""

_PROFILE_PREFIX = "auditarchive-soffice-"     # + the owning process's id + random
_lock = threading.Lock()         # one conversion at a time in this process: they share the profile
_profile: Path | None = None     # this process's LibreOffice profile folder (also its HOME)
_profile_pid = 0                 # the process that made it


def available() -> bool:
    """Whether LibreOffice can be found on PATH."""
    return _soffice() is not None


def rendition_path(cache_dir: Path | str, sha256: str) -> Path:
    """Where the PDF made of the content with this SHA-256 is kept."""
    if not _SHA256.fullmatch(sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return Path(cache_dir) / f"{sha256}.pdf"


def convert_to_pdf(data: bytes, kind: str, cache_dir: Path | str | None = None, timeout: float = 60.0) -> bytes:
    """The PDF LibreOffice makes of `data` (a file of `kind`: doc, rtf, odt or wps); kept in `cache_dir`
    by content and taken from there next time. ReadError: empty, damaged, encrypted, unsupported
    (no LibreOffice), timeout (LibreOffice's run took longer than `timeout` seconds; waiting for
    another thread's conversion to finish is not counted)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    if not data:
        raise ReadError("empty", message("office.empty"))
    cached = None
    if cache_dir is not None:
        cached = rendition_path(cache_dir, hashlib.sha256(data).hexdigest())
        pdf = _read_cached(cached)
        if pdf is not None:
            return pdf
    infilter = _import_filter(data, kind)
    exe = _soffice()
    if exe is None:
        raise ReadError("unsupported", message("office.no_libreoffice", kind=_kind_name(kind)))
    with _lock:
        pdf = _read_cached(cached) if cached is not None else None    # made meanwhile by another thread
        if pdf is None:
            pdf = _convert(exe, data, kind, infilter, timeout)
    if cached is not None:
        _store(cached, pdf)
    return pdf


# -- what the input is -------------------------------------------------------------------------


def _kind_name(kind: str) -> str:
    return message(f"office.kind_{kind}")


def _import_filter(data: bytes, kind: str) -> str | None:
    """LibreOffice's import filter for this content (None: let it detect a Word 6/95 file itself);
    ReadError when the content is none of the formats it is converted from, or is encrypted.
    Decided by content, as `dispatch` does: a Kingsoft .wps is a Word 97 file inside."""
    if data[:8] == _OLE:
        return _word_filter(data, kind)
    if data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")[:5] == b"{\\rtf":
        return "Rich Text Format"
    if data[:4] == _ZIP:
        return _odt_filter(data, kind)
    raise ReadError("damaged", message("office.not_format", kind=_kind_name(kind)))


def _word_filter(data: bytes, kind: str) -> str | None:
    """A Word file is an OLE2 compound file with a WordDocument stream that starts with a FIB."""
    import olefile

    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:      # bytes under 1536 would be taken as a path
            if not ole.exists("WordDocument"):
                raise ReadError("damaged", message("office.not_format", kind=_kind_name(kind)))
            with ole.openstream("WordDocument") as stream:
                fib = stream.read(12)
    except ReadError:
        raise
    except Exception as exc:       # olefile raises many kinds on a broken compound file
        raise ReadError("damaged", message("office.not_format", kind=_kind_name(kind))) from exc
    if len(fib) < 12:
        raise ReadError("damaged", message("office.not_format", kind=_kind_name(kind)))
    ident, _nfib = struct.unpack_from("<HH", fib)
    flags = struct.unpack_from("<H", fib, 10)[0]
    if ident not in (0xA5EC, 0xA5DC):                    # Word 97 and later; Word 6/95
        raise ReadError("damaged", message("office.not_format", kind=_kind_name(kind)))
    if flags & 0x0100:                                   # fEncrypted
        raise ReadError("encrypted", message("office.encrypted", kind=_kind_name(kind)))
    return "MS Word 97" if ident == 0xA5EC else None


def _odt_filter(data: bytes, kind: str) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            manifest = b""
            if "META-INF/manifest.xml" in names:
                with zf.open("META-INF/manifest.xml") as fh:
                    manifest = fh.read(_MANIFEST_LIMIT)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, NotImplementedError) as exc:
        raise ReadError("damaged", message("office.not_format", kind=_kind_name(kind))) from exc
    if "content.xml" not in names:
        raise ReadError("damaged", message("office.not_format", kind=_kind_name(kind)))
    if b"encryption-data" in manifest:
        raise ReadError("encrypted", message("office.encrypted", kind=_kind_name(kind)))
    return "writer8"


# -- the cache ---------------------------------------------------------------------------------


def _read_cached(path: Path) -> bytes | None:
    try:
        pdf = path.read_bytes()
    except OSError:
        return None
    return pdf if pdf[:5] == b"%PDF-" else None       # a foreign or cut file is made again


def _store(path: Path, pdf: bytes) -> None:
    """Keep the PDF, atomically; a data home that cannot be written costs only the next conversion."""
    tmp = None
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(pdf)
        os.replace(tmp, path)
        tmp = None
    except OSError:
        pass
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


# -- running LibreOffice -----------------------------------------------------------------------


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def _profile_dir() -> Path:
    """This process's profile folder, made on first use with the settings in `_REGISTRY`."""
    global _profile, _profile_pid
    if _profile is None or _profile_pid != os.getpid() or not _profile.is_dir():
        _sweep_profiles(Path(tempfile.gettempdir()))
        root = Path(tempfile.mkdtemp(prefix=f"{_PROFILE_PREFIX}{os.getpid()}-"))
        user = root / "lo" / "user"
        user.mkdir(parents=True)
        (user / "registrymodifications.xcu").write_text(_REGISTRY, encoding="utf-8")
        _profile, _profile_pid = root, os.getpid()
    return _profile


def _sweep_profiles(folder: Path) -> None:
    """Remove the profiles of processes that have ended: a pool worker ends by os._exit, which skips
    `atexit`, and would otherwise leave its profile (~0.5 MB) behind in the temporary folder."""
    for path in folder.glob(f"{_PROFILE_PREFIX}*-*"):
        try:
            pid = int(path.name[len(_PROFILE_PREFIX):].split("-")[0])
            if pid == os.getpid() or path.lstat().st_uid != os.getuid() or not path.is_dir():
                continue
            os.kill(pid, 0)
        except ProcessLookupError:
            _remove_pipe(_installation_url(path))
            shutil.rmtree(path, ignore_errors=True)
        except (ValueError, OSError):          # not ours, or its process is alive (PermissionError)
            continue


def _installation_url(root: Path) -> str:
    return (root / "lo").as_uri()


def _discard_profile() -> None:
    """Throw this process's profile away (after a timeout or crash it may be half written)."""
    global _profile
    if _profile is not None and _profile_pid == os.getpid():
        _remove_pipe(_installation_url(_profile))
        shutil.rmtree(_profile, ignore_errors=True)
    _profile = None


def _remove_pipe(url: str) -> None:
    """A killed LibreOffice leaves its single-instance socket in /tmp; its name is the MD5 of the
    profile's URL (UTF-16), each byte in hex without padding."""
    digest = hashlib.md5(url.encode("utf-16-le"), usedforsecurity=False).digest()
    name = f"OSL_PIPE_{os.getuid()}_SingleOfficeIPC_{''.join(format(b, 'x') for b in digest)}"
    for folder in ("/tmp", "/var/tmp"):
        path = Path(folder) / name
        try:
            info = path.lstat()
            if stat.S_ISSOCK(info.st_mode) and info.st_uid == os.getuid():
                path.unlink()
        except OSError:
            pass


def _after_fork_in_child() -> None:
    """A forked child must not share the parent's profile, nor inherit a lock held by a parent thread."""
    global _lock, _profile
    _lock = threading.Lock()
    _profile = None


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_discard_profile)


def _environment(profile: Path, work: Path) -> dict[str, str]:
    """Only what soffice needs: no display (so no dialog can appear), nothing of the user's own."""
    return {
        "PATH": os.environ.get("PATH") or os.defpath,
        "HOME": str(profile),
        "XDG_CONFIG_HOME": str(profile / ".config"),
        "XDG_CACHE_HOME": str(profile / ".cache"),
        "XDG_DATA_HOME": str(profile / ".local" / "share"),
        "TMPDIR": str(work / "tmp"),
        "LANG": "C.UTF-8",
        "SAL_USE_VCLPLUGIN": "svp",
    }


def _convert(exe: str, data: bytes, kind: str, infilter: str | None, timeout: float) -> bytes:
    profile = _profile_dir()
    work = Path(tempfile.mkdtemp(prefix="auditarchive-convert-"))
    try:
        source = work / f"input.{kind}"
        with open(source, "xb") as fh:
            fh.write(data)
        out = work / "out"
        out.mkdir()
        (work / "tmp").mkdir()
        command = [exe, f"-env:UserInstallation={_installation_url(profile)}", "--headless", "--invisible",
                   "--nologo", "--nodefault", "--norestore", "--nolockcheck"]
        if infilter:
            command.append(f"--infilter={infilter}")
        command += ["--convert-to", "pdf:writer_pdf_Export", "--outdir", str(out), str(source)]
        with open(work / "log", "wb") as log:
            try:
                proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=work,
                                        env=_environment(profile, work), start_new_session=True)
            except OSError as exc:
                raise ReadError("error", message("office.cannot_start", detail=str(exc))) from exc
            finished = _wait(proc, timeout)
        if not finished:
            _discard_profile()
            raise ReadError("timeout", message("office.timeout", kind=_kind_name(kind), seconds=timeout))
        if proc.returncode != 0:
            _discard_profile()
        try:
            pdf = (out / "input.pdf").read_bytes()
        except OSError:
            pdf = b""
        if pdf[:5] != b"%PDF-":
            raise ReadError("damaged", message("office.damaged", kind=_kind_name(kind)))
        return pdf
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _wait(proc: subprocess.Popen, timeout: float) -> bool:
    """Wait up to `timeout` seconds for soffice to exit, then kill its whole process group either way
    (a launcher's children must not outlive it). Whether it exited in time. The group is killed while
    its leader is still unreaped, so its id cannot have been reused by then."""
    deadline = time.monotonic() + max(timeout, 0.0)
    delay = 0.005
    finished = False
    while True:
        try:
            if os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                finished = True
                break
        except ChildProcessError:          # already reaped elsewhere: nothing left to wait for
            finished = True
            break
        left = deadline - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(delay, left))
        delay = min(delay * 2, 0.05)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
    return finished
