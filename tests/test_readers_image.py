"""Images as documents (archive.readers.image): scans in Pillow's many pixel formats, multi-page TIFFs,
phone photos of a form on a desk (outline, perspective, light, EXIF orientation) and hostile files.

The photo is made the way a phone makes it: a real rendered page, tilted in 3-D in front of a pinhole
camera over a textured desk, a shadow across it, blurred, noisy, stored sideways as JPEG with an
EXIF orientation tag."""
from __future__ import annotations

import difflib
import io
import math
import random
import struct
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium
import pytest
from pdfmaker import make_pdf
from PIL import Image, ImageOps

from archive import ocr
from archive.ocrcache import OcrCache
from archive.readers import image as reader
from archive.readers.base import ReadError
from archive.readers.image import flatten_photo, frame_count, load_frame, looks_like_photo, ocr_image_page
from archive.text import normalise
from corpus.scan import degrade

ORG = "宁波恒达精密机械有限公司"
LINES = ["不符合项报告", "", f"受审核方：{ORG}", "审核日期：2023年5月10日至2023年5月12日",
         "审核准则：GB/T 19001-2016", "审核组长：王建国", "",
         "不符合项 1：现场查看数控车间，未能提供首件检验记录。", "不符合条款：8.5.1  严重程度：一般",
         "不符合项 2：仓库未按规定对不合格品进行标识和隔离。", "不符合条款：8.7.1  严重程度：一般",
         "纠正措施要求：请于 2023年6月10日前提交纠正措施及证据。", ""]
TABLE = [["序号", "不符合条款", "严重程度", "责任部门"], ["1", "8.5.1", "一般", "生产部"], ["2", "8.7.1", "一般", "仓储部"]]
PAGE_TWO = ["第二页", "审核组成员：李明、张华", "专业代码：17.10.02"]
A4 = math.sqrt(2)


# -- making the files ----------------------------------------------------------------------------

def render(pdf_path: Path) -> list[np.ndarray]:
    """Every page of a PDF as a grey image at 200 dpi."""
    pdf = pdfium.PdfDocument(pdf_path.read_bytes())
    pages = []
    for page in pdf:
        image = page.render(scale=200 / 72, grayscale=True).to_numpy()
        pages.append(np.ascontiguousarray(image[..., 0] if image.ndim == 3 else image))
    pdf.close()
    return pages


def camera_photo(page: np.ndarray, *, tilt: float = 40, yaw: float = 15, turn: float = 8, shadow: float = 0.7,
                 shift: tuple[float, float] = (8, 10), size: tuple[int, int] = (4000, 3000),
                 seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """A phone photo (RGB, upright, `size` = height×width) of the A4 sheet `page` lying on a wooden
    desk: the sheet turned by tilt/yaw/turn degrees in front of a pinhole camera (focal length 0.8 of
    the long side, as a phone's main camera), light falling off across the frame, a soft shadow over
    part of the sheet, blur and sensor noise. Returns the photo and the sheet's corners in it."""
    rng = np.random.default_rng(seed)
    height, width = size
    grain = cv2.resize(rng.standard_normal((height // 40, 12), np.float32), (width, height),
                       interpolation=cv2.INTER_CUBIC)
    fine = cv2.resize(rng.standard_normal((height // 4, width // 4), np.float32), (width, height))
    desk = 0.42 * (1 + 0.12 * grain + 0.06 * fine)                   # dark wood, grain along the boards
    sheet = np.array([[-105, -148.5, 0], [105, -148.5, 0], [105, 148.5, 0], [-105, 148.5, 0]])    # mm
    a, b, c = map(math.radians, (tilt, yaw, turn))
    rx = np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])
    ry = np.array([[math.cos(b), 0, math.sin(b)], [0, 1, 0], [-math.sin(b), 0, math.cos(b)]])
    rz = np.array([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])
    world = sheet @ (rx @ ry @ rz).T + [shift[0], shift[1], 390]
    f = 0.8 * max(size)
    corners = np.stack([f * world[:, 0] / world[:, 2] + width / 2,
                        f * world[:, 1] / world[:, 2] + height / 2], axis=1).astype(np.float32)
    ph, pw = page.shape
    matrix = cv2.getPerspectiveTransform(np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32), corners)
    paper = cv2.warpPerspective(page, matrix, (width, height)).astype(np.float32) * (0.97 / 255)
    mask = cv2.warpPerspective(np.ones_like(page, np.float32), matrix, (width, height))
    yy, xx = np.mgrid[0:height // 8, 0:width // 8].astype(np.float32) * 8
    light = 1.0 - 0.2 * xx / width - 0.2 * yy / height
    blob = ((xx - 0.85 * width) / (0.45 * width)) ** 2 + ((yy - 0.55 * height) / (0.35 * height)) ** 2 < 1
    light *= 1 - shadow * cv2.GaussianBlur(blob.astype(np.float32), (0, 0), 8)
    light = cv2.resize(light, (width, height))
    grey = cv2.GaussianBlur((desk * (1 - mask) + paper * mask) * light, (0, 0), 1.3) * 255
    grey += rng.standard_normal((height, width), np.float32) * 4
    rgb = cv2.merge([grey, grey * (0.96 - 0.2 * (1 - mask)), grey * (0.92 - 0.4 * (1 - mask))])   # warm wood
    return np.clip(rgb, 0, 255).astype(np.uint8), corners


def jpeg(rgb: np.ndarray, orientation: int | None = None, **options) -> bytes:
    image = Image.fromarray(rgb)
    exif = Image.Exif()
    if orientation == 6:           # the phone held upright stores the picture turned a quarter left
        image = image.transpose(Image.Transpose.ROTATE_90)
        exif[0x0112] = 6
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=88, exif=exif, **options)
    return buf.getvalue()


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    return buf.getvalue()


def upright(data: bytes) -> np.ndarray:
    """The photo as a viewer shows it (EXIF applied by Pillow), RGB, at the reader's working size."""
    with Image.open(io.BytesIO(data)) as image:
        rgb = np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
    h, w = rgb.shape[:2]
    ratio = min(1.0, reader.MAX_SIDE / max(h, w))
    return cv2.resize(rgb, (round(w * ratio), round(h * ratio)), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> list[np.ndarray]:
    pdf = tmp_path_factory.mktemp("form") / "form.pdf"
    return render(make_pdf(pdf, LINES + [TABLE, None] + PAGE_TWO, font_size=13))


@pytest.fixture(scope="module")
def photo(pages) -> tuple[bytes, np.ndarray]:
    """The form photographed on a desk (4000×3000, 12 MP), stored sideways with EXIF orientation 6."""
    rgb, corners = camera_photo(pages[0])
    return jpeg(rgb, orientation=6), corners


@pytest.fixture(scope="module")
def scan(pages) -> tuple[bytes, np.ndarray]:
    """The form as a flatbed scan: slightly tilted, paper tone, noise; a grey PNG."""
    image = degrade(Image.fromarray(pages[0]), random.Random(5), skew=0.8, rotation=0)
    return encode(image, "PNG"), np.asarray(image)


@pytest.fixture(scope="module")
def tiff(pages) -> bytes:
    """Two pages as scanners file them: a 1-bit frame, then a grey one (LZW-compressed)."""
    first = Image.fromarray(pages[0]).point(lambda v: 255 if v > 128 else 0).convert("1")
    return encode(first, "TIFF", compression="tiff_lzw", save_all=True,
                  append_images=[Image.fromarray(pages[1])], dpi=(200, 200))


# -- pages and frames ----------------------------------------------------------------------------

def test_frame_counts(photo, scan, tiff):
    assert frame_count(photo[0]) == 1
    assert frame_count(scan[0]) == 1
    assert frame_count(tiff) == 2


def test_a_scan_is_read_as_it_is(scan, tiff, pages):
    data, grey = scan
    assert np.array_equal(load_frame(data, 1), grey)              # flat: not cropped, not relit
    second = load_frame(tiff, 2)
    assert second.dtype == np.uint8 and np.array_equal(second, pages[1])
    first = load_frame(tiff, 1)                                   # 1-bit: black ink on white
    assert first.shape == pages[0].shape and set(np.unique(first)) == {0, 255}
    assert np.mean(first == (pages[0] > 128) * 255) > 0.99
    for number in (0, 3):
        with pytest.raises(ReadError) as err:
            load_frame(tiff, number)
        assert err.value.reason == "no_page" and "1 到 2" in str(err.value)
    with pytest.raises(ReadError) as err:
        load_frame(data, 2)
    assert err.value.reason == "no_page"


def _page() -> Image.Image:
    """A small page: white, a black bar of 'text'."""
    array = np.full((400, 300), 255, np.uint8)
    array[100:120, 40:260] = 0
    return Image.fromarray(array)


@pytest.mark.parametrize("name, make", [
    ("palette PNG", lambda: encode(_page().convert("P"), "PNG")),
    ("transparent PNG", lambda: encode(Image.merge("RGBA", [Image.new("L", (300, 400), 0)] * 3
                                                   + [ImageOps.invert(_page())]), "PNG")),   # black ink, clear paper
    ("16-bit PNG", lambda: encode(Image.fromarray(np.asarray(_page()).astype(np.uint16) * 257), "PNG")),
    ("CMYK JPEG", lambda: encode(_page().convert("CMYK"), "JPEG", quality=95)),
    ("grey JPEG", lambda: encode(_page(), "JPEG", quality=95)),
    ("1-bit BMP", lambda: encode(_page().convert("1"), "BMP")),
    ("WebP", lambda: encode(_page().convert("RGB"), "WEBP", lossless=True)),
    ("LA TIFF", lambda: encode(_page().convert("LA"), "TIFF")),
])
def test_pixel_formats_become_grey_pages(name, make):
    grey = load_frame(make(), 1)
    assert grey.dtype == np.uint8 and grey.shape == (400, 300), name
    assert grey[:90].min() > 230, name                 # paper white (transparent → white, not black)
    assert grey[105:115, 50:250].max() < 40, name      # the ink dark (16-bit scaled, CMYK not inverted)


def test_a_large_image_is_scaled_to_what_ocr_needs():
    big = np.full((6000, 4500), 255, np.uint8)
    big[1000:1100, 500:4000] = 0
    grey = load_frame(encode(Image.fromarray(big), "PNG"), 1)
    assert max(grey.shape) == reader.MAX_SIDE == 3508 and grey.shape[1] == round(4500 * 3508 / 6000)


# -- photos --------------------------------------------------------------------------------------

def likeness(flat: np.ndarray, page: np.ndarray) -> float:
    """How well a flattened photo lines up with the page it shows (correlation of the blurred
    images): a wrong outline shifts, shears or stretches the content."""
    inset = round(reader.INSET * page.shape[1]), round(reader.INSET * page.shape[0])
    page = page[inset[1]:page.shape[0] - inset[1], inset[0]:page.shape[1] - inset[0]]
    same = cv2.resize(flat, page.shape[::-1], interpolation=cv2.INTER_AREA).astype(np.float32)
    return float(np.corrcoef(cv2.GaussianBlur(same, (0, 0), 5).ravel(),
                             cv2.GaussianBlur(page.astype(np.float32), (0, 0), 5).ravel())[0, 1])


def test_looks_like_photo(photo, scan, tiff):
    assert looks_like_photo(upright(photo[0]))
    assert not looks_like_photo(scan[1])
    assert not looks_like_photo(load_frame(tiff, 1)) and not looks_like_photo(load_frame(tiff, 2))


def test_flatten_photo_finds_the_sheet(photo, pages, monkeypatch):
    rgb = upright(photo[0])
    started = time.perf_counter()
    flat = flatten_photo(rgb)
    seconds = time.perf_counter() - started
    h, w = flat.shape
    print(f"flatten_photo {rgb.shape} → {flat.shape} in {seconds:.2f} s")
    assert abs(h / w / A4 - 1) < 0.01                  # an A4 sheet, upright
    band = max(4, w // 50)
    for edge in (flat[:band], flat[-band:], flat[:, :band], flat[:, -band:]):
        assert np.median(edge) > 220 and np.mean(edge > 128) > 0.97      # the desk is gone
    assert likeness(flat, pages[0]) > 0.8      # ~0.87; shifted by 10 px (0.6 % of the page) it is ~0.5
    # the aspect is measured from the perspective (the sides' lengths alone say 1.2), not assumed
    monkeypatch.setattr(reader, "A4_SNAP", 0.0)
    h, w = flatten_photo(rgb).shape
    assert abs(h / w / A4 - 1) < 0.03, h / w


def test_load_frame_turns_the_photo_by_its_exif_tag(photo):
    with Image.open(io.BytesIO(photo[0])) as stored:
        assert stored.width > stored.height                       # stored sideways
    started = time.perf_counter()
    grey = load_frame(photo[0], 1)
    print(f"load_frame (decode 12 MP JPEG + flatten) {time.perf_counter() - started:.2f} s")
    h, w = grey.shape
    assert grey.dtype == np.uint8 and abs(h / w / A4 - 1) < 0.01    # portrait A4: turned, then flattened


@pytest.mark.parametrize("tag, stored_as", [
    (2, Image.Transpose.FLIP_LEFT_RIGHT), (3, Image.Transpose.ROTATE_180),
    (6, Image.Transpose.ROTATE_90), (8, Image.Transpose.ROTATE_270),
])
def test_every_exif_orientation_is_applied(tag, stored_as):
    page = np.asarray(_page()).copy()
    page[20:40, 20:60] = 0                                        # a mark in the top-left corner
    exif = Image.Exif()
    exif[0x0112] = tag
    data = encode(Image.fromarray(page).transpose(stored_as), "PNG", exif=exif)
    assert np.array_equal(load_frame(data, 1), page)


def test_a_sheet_with_a_corner_outside_the_frame(pages):
    rgb, corners = camera_photo(pages[0], tilt=25, yaw=10, shift=(40, 10), size=(1600, 1200), seed=3)
    assert corners[:, 0].max() > 1250                             # the top-right corner is cut off
    flat = flatten_photo(rgb)
    assert abs(flat.shape[0] / flat.shape[1] / A4 - 1) < 0.01
    assert np.median(flat[:, :20]) > 220 and np.median(flat[-20:]) > 220
    assert likeness(flat, pages[0]) > 0.8       # its sides met beyond the frame (four of the five: ~0.4)


def test_uneven_light_without_an_outline_is_evened_out(scan):
    grey = scan[1].astype(np.float32)
    h, w = grey.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    lit = grey * (1.0 - 0.6 * np.clip((xx / w - 0.4) * 2, 0, 1))      # the right half in shadow
    lit = np.clip(lit, 0, 255).astype(np.uint8)
    assert looks_like_photo(lit)
    flat = flatten_photo(lit)
    assert flat.shape == lit.shape                                     # no outline: nothing cut
    left, right = np.percentile(flat[:, : w // 4], 90), np.percentile(flat[:, -w // 4:], 90)
    assert np.percentile(lit[:, -w // 4:], 90) < 0.6 * np.percentile(lit[:, : w // 4], 90)
    assert abs(left - right) < 8 and right > 240                         # paper white on both sides
    text = scan[1] < 100
    assert np.median(flat[text]) < 110                                  # the ink still dark


def test_real_scans_do_not_look_like_photos(realdocs):
    pdf = pdfium.PdfDocument(str(realdocs / "exam-paper-scanned.pdf"))
    try:
        for index in range(3):
            page = pdf[index]
            assert not looks_like_photo(ocr.render_page(page)), index + 1
            page.close()
    finally:
        pdf.close()


# -- OCR -----------------------------------------------------------------------------------------

def _reading(text: str) -> tuple[int, int]:
    """(characters of the form read in reading order, lines of the form read as one line each)."""
    truth_lines = [normalise(line).replace(" ", "") for line in LINES if line]
    truth_lines += ["".join(row) for row in TABLE]
    got = [line.replace(" ", "") for line in normalise(text).split("\n")]
    matcher = difflib.SequenceMatcher(None, "".join(truth_lines), "".join(got), autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()), sum(line in got for line in truth_lines)


@pytest.mark.slow
def test_ocr_of_the_photo_reads_the_form_once_flattened(photo, tmp_path):
    data = photo[0]
    raw = cv2.cvtColor(upright(data), cv2.COLOR_RGB2GRAY)
    before = ocr.recognise(raw)                                       # recognition 1: the photo as taken
    cache = OcrCache(tmp_path / "ocr-cache.db")
    started = time.perf_counter()
    after = ocr_image_page(data, 1, cache)                            # recognition 2: flattened
    seconds = time.perf_counter() - started
    raw_chars, raw_lines = _reading(before.text)
    chars, lines = _reading(after.text)
    print(f"\nraw photo: {raw_chars} characters in order, {raw_lines} lines whole, "
          f"{len(before.tables)} tables, {before.seconds} s\n{before.text}")
    print(f"flattened: {chars} characters in order, {lines} lines whole, {len(after.tables)} tables, "
          f"OCR {after.seconds} s, with loading {seconds:.2f} s\n{after.text}\n{after.tables}")
    assert "受审核方" in after.text and ORG in after.text
    assert "审核日期:2023年5月10日至2023年5月12日" in after.text.split("\n")
    assert lines >= 12 and lines >= raw_lines + 5 and chars > raw_chars
    assert after.tables and after.tables[0][0] == TABLE[0] and after.tables[0][2] == TABLE[2]
    assert not before.tables                                          # the slanted table is lost unflattened
    assert not after.cached
    again = ocr_image_page(data, 1, cache)                            # no recognition: the cache
    assert again.cached and again.text == after.text and again.seconds == after.seconds
    cache.close()


# -- hostile files -------------------------------------------------------------------------------

def _png(width: int, height: int, idat: bytes) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def _bomb(side: int) -> bytes:
    """A grey PNG declaring side×side pixels; its data is the first rows of zeros, compressed."""
    return _png(side, side, zlib.compress(b"\x00" * (side + 1) * 64, 9))


@pytest.mark.parametrize("name, make, reason", [
    ("empty", lambda photo: b"", "empty"),
    ("truncated JPEG", lambda photo: photo[: len(photo) * 6 // 10], "truncated"),
    ("bomb PNG, 10 gigapixels", lambda photo: _bomb(100_000), "too_large"),
    ("bomb PNG, 81 megapixels", lambda photo: _bomb(9_000), "too_large"),
    ("text named .png", lambda photo: "受审核方：这不是图片\n".encode() * 50, "damaged"),
    ("EPS (not handed to Ghostscript)", lambda photo: b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", "damaged"),
    ("PNG cut in its header", lambda photo: _bomb(100)[:30], "damaged"),
])
def test_hostile_files_fail_quickly(photo, name, make, reason):
    data = make(photo[0])
    for read in (frame_count, lambda d: load_frame(d, 1)):
        started = time.perf_counter()
        with pytest.raises(ReadError) as err:
            read(data)
        assert err.value.reason == reason, (name, err.value.reason, str(err.value))
        assert str(err.value) and time.perf_counter() - started < 1.5, name
    assert len(data) < 2_000_000 or name == "truncated JPEG"


def test_too_many_frames():
    frames = [Image.new("L", (2, 2), 255) for _ in range(reader.MAX_FRAMES + 1)]
    data = encode(frames[0], "TIFF", save_all=True, append_images=frames[1:])
    with pytest.raises(ReadError) as err:
        frame_count(data)
    assert err.value.reason == "too_large"
    assert frame_count(encode(frames[0], "TIFF", save_all=True, append_images=frames[1:10])) == 10


def test_cut_tiffs_fail_with_read_errors(tiff):
    """Cut anywhere, a two-page TIFF gives its pages or ReadError, never another exception."""
    failures = 0
    for end in range(200, len(tiff), max(1, len(tiff) // 40)):
        cut = tiff[:end]
        try:
            for number in range(1, frame_count(cut) + 1):
                load_frame(cut, number)
        except ReadError as err:
            assert err.reason in ("truncated", "damaged"), err.reason
            failures += 1
    assert failures > 30
