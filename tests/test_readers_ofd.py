"""OFD (archive/readers/ofd.py): certificates written with tests/ofdmaker.py, hand-written pages that
test reading order (TextObjects out of order, one per character, CTM, templates), and hostile
packages (no OFD.xml, broken XML, entity bombs, `../` names, a declared bomb)."""
from __future__ import annotations

import io
import os
import struct
import time
import zipfile

import pytest
from ofdmaker import NS, make_ofd

from archive.readers.base import ReadError
from archive.readers.ofd import is_ofd, read_ofd

CERTIFICATE = [
    ["认证证书", "兹证明", "北京华信精密机械有限公司", "统一社会信用代码：  91110108MA01ABCD2X",
     "注册地址：北京市海淀区中关村大街1号", "证书编号：  00124Q31234R0M"],
    ["认证范围：", "精密机械零部件的加工（资质范围内）", "有效期至：2027年05月19日"],
]


def test_certificate_two_pages(tmp_path):
    path = tmp_path / "证书.ofd"
    data = make_ofd(path, CERTIFICATE, custom={"证书编号": "00124Q31234R0M", "颁证日期": "2024-05-20"},
                    tags={"OrgName": 2, "CertType": "管理体系认证"})
    assert path.read_bytes() == data and is_ofd(data)
    started = time.perf_counter()
    pages = read_ofd(data)
    assert time.perf_counter() - started < 1
    assert [p.number for p in pages] == [1, 2] and all(p.has_text and not p.has_images for p in pages)
    assert pages[0].text.split("\n") == [
        "认证证书", "兹证明", "北京华信精密机械有限公司",
        "统一社会信用代码:  91110108MA01ABCD2X",          # label and value 30 mm apart: two spaces
        "注册地址:北京市海淀区中关村大街1号",              # one TextCode, advanced by DeltaX
        "证书编号:  00124Q31234R0M",
        # the custom data, after the page's own text
        "证书编号:00124Q31234R0M", "颁证日期:2024-05-20",
        "OrgName:北京华信精密机械有限公司",                 # an ObjectRef to the page's third line
        "CertType:管理体系认证",
    ]
    assert pages[1].text == "认证范围:\n精密机械零部件的加工(资质范围内)\n有效期至:2027年05月19日"
    assert pages[0].tables == [] and pages[1].tables == []


def _package(parts: dict[str, str | bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in parts.items():
            zf.writestr(name, content if isinstance(content, bytes) else content.encode("utf-8"))
    return out.getvalue()


OFD_XML = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="{NS}" Version="1.0" DocType="OFD">'
           '<ofd:DocBody><ofd:DocInfo><ofd:DocID>1</ofd:DocID></ofd:DocInfo>'
           '<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>')


def _document(pages: str, common: str = "") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document xmlns:ofd="{NS}"><ofd:CommonData>'
            f'<ofd:PageArea><ofd:PhysicalBox>0 0 210 140</ofd:PhysicalBox></ofd:PageArea>{common}'
            f'</ofd:CommonData><ofd:Pages>{pages}</ofd:Pages></ofd:Document>')


def _content(objects: str, template: str = "") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page xmlns:ofd="{NS}">{template}<ofd:Content>'
            f'<ofd:Layer ID="9">{objects}</ofd:Layer></ofd:Content></ofd:Page>')


def _obj(x: float, y: float, text: str, size: float = 3.5, extra: str = "", code: str = "") -> str:
    return (f'<ofd:TextObject ID="{abs(hash((x, y, text))) % 10**6}" Boundary="{x} {y} 60 6" Font="1" '
            f'Size="{size}"{extra}><ofd:TextCode X="0" Y="{size}"{code}>{text}</ofd:TextCode></ofd:TextObject>')


def test_reading_order_from_positions():
    """An e-invoice-like page: objects written bottom first, a name set one TextObject per character,
    a label scaled by a CTM, a DeltaX in the `g` shorthand, a character drawn twice (fake bold), an
    absolute BaseLoc, and a template page under it holding the fixed labels."""
    objects = "".join([
        _obj(20, 60, "备注：无"),
        *[_obj(40 + 3.5 * i, 30.2, ch) for i, ch in reversed(list(enumerate("上海某某检测有限公司")))],
        _obj(20, 40, "金额", size=7, extra=' CTM="0.5 0 0 0.5 0 0"'),    # 7 × 0.5: drawn at 3.5 mm
        _obj(31, 40, "1,280.00", code=' DeltaX="g 7 1.75"'),
        _obj(20, 50, "合计"), _obj(20.05, 50, "合计"),
        _obj(120, 30, "No.", code=' DeltaX="1.75 1.75"'), _obj(127, 30, "03412"),
    ])
    template = _content(_obj(20, 30, "名称：") + _obj(20, 12, "电子发票（普通发票）", size=5))
    data = _package({
        "OFD.xml": OFD_XML,
        "Doc_0/Document.xml": _document(
            '<ofd:Page ID="2" BaseLoc="/Doc_0/Pages/Page_0/Content.xml"/>',
            '<ofd:TemplatePage ID="3" BaseLoc="Tpls/Tpl_0/Content.xml"/>'),
        "Doc_0/Pages/Page_0/Content.xml": _content(objects, '<ofd:Template TemplateID="3" ZOrder="Background"/>'),
        "Doc_0/Tpls/Tpl_0/Content.xml": template,
    })
    assert is_ofd(data)
    (page,) = read_ofd(data)
    assert page.text.split("\n") == [
        "电子发票(普通发票)",
        "名称:  上海某某检测有限公司  No.03412",        # template label, 10 one-character objects
        "金额  1,280.00",
        "合计",
        "备注:无",
    ]


def test_custom_tags_point_at_page_text():
    """E-invoice tags name page objects by ID; the fields read as the text those objects show."""
    data = _package({
        "OFD.xml": OFD_XML,
        "Doc_0/Document.xml": _document('<ofd:Page ID="2" BaseLoc="Pages/Page_0/Content.xml"/>').replace(
            "</ofd:Document>", "<ofd:CustomTags>Tags/CustomTags.xml</ofd:CustomTags></ofd:Document>"),
        "Doc_0/Pages/Page_0/Content.xml": _content(
            '<ofd:TextObject ID="77" Boundary="20 20 60 6" Size="3.5"><ofd:TextCode X="0" Y="3.5">'
            '24312000000012345678</ofd:TextCode></ofd:TextObject>'),
        "Doc_0/Tags/CustomTags.xml": (f'<ofd:CustomTags xmlns:ofd="{NS}"><ofd:CustomTag TypeID="invoice">'
                                      '<ofd:FileLoc>CustomTag.xml</ofd:FileLoc></ofd:CustomTag></ofd:CustomTags>'),
        "Doc_0/Tags/CustomTag.xml": ('<fp:eInvoice xmlns:fp="urn:fp"><fp:InvoiceNo><fp:ObjectRef PageRef="2">77'
                                     '</fp:ObjectRef></fp:InvoiceNo><fp:发票类型>普通发票</fp:发票类型>'
                                     '<fp:Missing><fp:ObjectRef PageRef="2">999</fp:ObjectRef></fp:Missing>'
                                     '</fp:eInvoice>'),
    })
    (page,) = read_ofd(data)
    assert page.text == "24312000000012345678\nInvoiceNo:24312000000012345678\n发票类型:普通发票"


def test_is_ofd():
    assert is_ofd(make_ofd(None, [["兹证明"]]))
    assert not is_ofd(b"")
    assert not is_ofd(b"%PDF-1.7\n")
    assert not is_ofd(_package({"word/document.xml": "<w:document/>"}))
    assert not is_ofd(_package({"OFD.xml": "<html/>"}))
    assert not is_ofd(_package({"OFD.xml": "<ofd:OFD xmlns:ofd="}))
    assert is_ofd(_package({"ofd.xml": f'<ofd:OFD xmlns:ofd="{NS}"/>'}))       # the name in any case


BILLION_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
                            for i in range(1, 10))
                  + f']><ofd:OFD xmlns:ofd="{NS}"><ofd:DocBody><ofd:DocRoot>&lol9;</ofd:DocRoot>'
                    '</ofd:DocBody></ofd:OFD>')
EXTERNAL = ('<?xml version="1.0"?><!DOCTYPE ofd [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
            f'<ofd:Page xmlns:ofd="{NS}"><ofd:Content><ofd:Layer><ofd:TextObject Boundary="0 0 9 9" Size="3">'
            '<ofd:TextCode X="0" Y="3">&secret;</ofd:TextCode></ofd:TextObject></ofd:Layer></ofd:Content></ofd:Page>')
PAGE_0 = "Doc_0/Pages/Page_0/Content.xml"


def _certificate_with(parts: dict[str, str | bytes], drop: str = "") -> bytes:
    src = zipfile.ZipFile(io.BytesIO(make_ofd(None, CERTIFICATE)))
    merged: dict[str, str | bytes] = {name: src.read(name) for name in src.namelist() if name != drop}
    merged.update(parts)
    return _package(merged)


HOSTILE = {
    "no OFD.xml": (lambda: _certificate_with({}, drop="OFD.xml"), "damaged", "OFD.xml"),
    "no Document.xml": (lambda: _certificate_with({}, drop="Doc_0/Document.xml"), "damaged", "Document.xml"),
    "broken OFD.xml": (lambda: _certificate_with({"OFD.xml": OFD_XML[:-20]}), "damaged", "XML"),
    "broken page": (lambda: _certificate_with({PAGE_0: "<ofd:Page><ofd:Content>"}), "damaged", PAGE_0),
    "billion laughs": (lambda: _certificate_with({"OFD.xml": BILLION_LAUGHS}), "damaged", "DTD"),
    "external entity": (lambda: _certificate_with({PAGE_0: EXTERNAL}), "damaged", "DTD"),
    "not ofd root": (lambda: _certificate_with({"OFD.xml": "<html><body/></html>"}), "damaged", "html"),
    "no pages": (lambda: _certificate_with({"Doc_0/Document.xml": _document("")}), "damaged", "没有页面"),
    "climbing DocRoot": (lambda: _certificate_with({"OFD.xml": OFD_XML.replace(
        "Doc_0/Document.xml", "../../../../etc/passwd")}), "damaged", "passwd"),
    "not a zip": (lambda: "兹证明".encode() * 100, "damaged", "zip"),
    "truncated": (lambda: make_ofd(None, CERTIFICATE)[:900], "damaged", "损坏"),
    "empty": (lambda: b"", "empty", "0 字节"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_packages(case):
    make, reason, words = HOSTILE[case]
    data = make()
    started = time.perf_counter()
    with pytest.raises(ReadError) as err:
        read_ofd(data)
    assert time.perf_counter() - started < 0.5
    assert err.value.reason == reason and words in str(err.value)
    assert "root:" not in str(err.value)                # /etc/passwd was not read
    assert not is_ofd(data) or case in ("no Document.xml", "broken page", "external entity", "no pages",
                                        "climbing DocRoot")


def test_declared_bomb_is_refused_before_inflating():
    data = bytearray(make_ofd(None, CERTIFICATE))
    name = PAGE_0.encode()
    at = data.find(b"PK\x01\x02")
    while at >= 0:                              # the central directory's uncompressed size: 3 GB
        if data[at + 46: at + 46 + struct.unpack_from("<H", data, at + 28)[0]] == name:
            struct.pack_into("<I", data, at + 24, 3 << 30)
        at = data.find(b"PK\x01\x02", at + 4)
    started = time.perf_counter()
    with pytest.raises(ReadError) as err:
        read_ofd(bytes(data))
    assert err.value.reason == "too_large" and time.perf_counter() - started < 0.5


def test_member_names_never_touch_the_disk(tmp_path, monkeypatch):
    """Members named `../x` or `/etc/x` are read in memory by name, never extracted."""
    monkeypatch.chdir(tmp_path)
    data = _certificate_with({"../../escape.xml": "<x/>", "/abs.xml": "<x/>",
                              "Doc_0/Pages/Page_0/../../../../evil.xml": "<x/>"})
    pages = read_ofd(data)
    assert pages[0].text.startswith("认证证书\n兹证明")
    assert os.listdir(tmp_path) == [] and not (tmp_path.parent / "escape.xml").exists()
