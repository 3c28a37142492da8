"""Word reader: .docx built with python-docx (plus the XML python-docx cannot write), Word 2003 XML
and the flat "Word XML document" written here, hostile inputs, and the real files when present."""
from __future__ import annotations

import base64
import inspect
import io
import struct
import sys
import time
import zipfile
import zlib

import pytest
from docx import Document
from docx.enum.section import WD_SECTION
from docx.oxml import parse_xml
from PIL import Image

from archive.readers.base import ReadError
from archive.readers.word import is_wordml, read_docx, read_wordml

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = (f'xmlns:w="{W}" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
      'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
      'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
      'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
      'xmlns:v="urn:schemas-microsoft-com:vml"')


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def _save(doc) -> bytes:
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _text_box(text: str) -> str:
    """A floating text box as Word writes it: the DrawingML shape and, as mc:Fallback, the same
    text box again in VML."""
    body = f"<w:txbxContent><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:txbxContent>"
    return (f'<w:r {NS}><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wp:anchor>'
            '<a:graphic><a:graphicData uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">'
            f"<wps:wsp><wps:txbx>{body}</wps:txbx></wps:wsp></a:graphicData></a:graphic></wp:anchor>"
            f"</w:drawing></mc:Choice><mc:Fallback><w:pict><v:shape><v:textbox>{body}</v:textbox>"
            "</v:shape></w:pict></mc:Fallback></mc:AlternateContent></w:r>")


def _form_docx() -> bytes:
    """A two-page audit form: header/footer, a table with merged cells, a text box, a picture."""
    doc = Document()
    section = doc.sections[0]
    section.header.paragraphs[0].text = "某某认证有限公司 审核报告"
    section.footer.paragraphs[0].text = "表单编号 QR-8.2-01"
    doc.add_paragraph("第一阶段审核报告")
    table = doc.add_table(rows=3, cols=3)
    table.style = "Table Grid"
    table.cell(0, 0).text = "受审核方"
    merged = table.cell(0, 1).merge(table.cell(0, 2))
    merged.text = "宁波某某机械有限公司"
    team = table.cell(1, 0).merge(table.cell(2, 0))
    team.text = "审核组"
    table.cell(1, 1).text = "组长"
    table.cell(1, 2).text = "张三"
    table.cell(2, 1).text = "组员"
    table.cell(2, 2).text = "李四"
    anchor = doc.add_paragraph("见右侧说明")
    anchor._p.append(parse_xml(_text_box("文本框里的说明文字")))
    doc.add_page_break()
    doc.add_paragraph("第二页：审核发现")
    doc.add_picture(io.BytesIO(_png()))
    return _save(doc)


# -- docx ------------------------------------------------------------------------------------------

def test_docx_paragraphs_tables_header_footer_text_box_pages():
    pages = read_docx(_form_docx())
    assert len(pages) == 2
    first, second = pages
    lines = first.text.split("\n")
    assert lines[0] == "某某认证有限公司 审核报告"          # header once, on top of the first page
    assert "第一阶段审核报告" in lines
    assert "受审核方 宁波某某机械有限公司" in lines           # label and value cell on one line
    assert "审核组 组长 张三" in lines
    assert "组员 李四" in lines                               # the merged cell's text not repeated
    assert first.tables == [[["受审核方", "宁波某某机械有限公司", ""],
                             ["审核组", "组长", "张三"],
                             ["", "组员", "李四"]]]
    joined = "\n".join(p.text for p in pages)
    for once in ("某某认证有限公司", "QR-8.2-01", "宁波某某机械有限公司", "审核组", "文本框里的说明文字"):
        assert joined.count(once) == 1, once
    assert lines.index("见右侧说明") + 1 == lines.index("文本框里的说明文字")
    assert first.has_text and not first.has_images
    assert second.text.startswith("第二页:审核发现")        # normalised: full-width colon → ASCII
    assert second.has_images and second.tables == []


def test_docx_fields_come_out_of_extraction():
    from archive.extract import extract

    found = extract(read_docx(_form_docx()))
    assert found.org.name == "宁波某某机械有限公司"


def test_docx_page_marks_are_counted_once():
    doc = Document()
    doc.add_paragraph("第一页内容足够长")
    doc.add_page_break()
    after = doc.add_paragraph("第二页内容足够长")
    # Word also writes where it last laid out a new page: right after the explicit break
    after.runs[0]._r.insert(0, parse_xml(f'<w:lastRenderedPageBreak {NS}/>'))
    rendered = doc.add_paragraph("第二页末尾")
    tail = rendered.add_run("第三页开头")
    tail._r.insert(0, parse_xml(f'<w:lastRenderedPageBreak {NS}/>'))
    before = doc.add_paragraph("第四页标题")
    before.paragraph_format.page_break_before = True
    pages = read_docx(_save(doc))
    assert [p.text for p in pages] == ["第一页内容足够长", "第二页内容足够长\n第二页末尾",
                                       "第三页开头", "第四页标题"]
    assert [p.number for p in pages] == [1, 2, 3, 4]


def test_docx_section_breaks_and_headers_of_sections():
    doc = Document()
    doc.sections[0].header.paragraphs[0].text = "页眉甲"
    doc.add_paragraph("第一节正文")
    new_page = doc.add_section(WD_SECTION.NEW_PAGE)
    new_page.header.is_linked_to_previous = False
    new_page.header.paragraphs[0].text = "页眉乙"
    doc.add_paragraph("第二节正文")
    doc.add_section(WD_SECTION.CONTINUOUS)
    doc.add_paragraph("第三节正文接着排")
    pages = read_docx(_save(doc))
    assert len(pages) == 2
    assert pages[0].text.split("\n")[:2] == ["页眉甲", "页眉乙"]
    assert pages[1].text == "第二节正文\n第三节正文接着排"


def test_docx_nested_table_and_table_across_pages():
    doc = Document()
    outer = doc.add_table(rows=3, cols=2)
    outer.cell(0, 0).text = "审核组成员"
    inner = outer.cell(0, 1).add_table(rows=2, cols=2)
    for r, (name, role) in enumerate((("张三", "组长"), ("李四", "组员"))):
        inner.cell(r, 0).text = name
        inner.cell(r, 1).text = role
    outer.cell(1, 0).text = "条款"
    outer.cell(1, 1).text = "8.5.1"
    outer.cell(2, 0).text = "结论"
    outer.cell(2, 1).text = "推荐注册"
    # Word laid the last row out on the next page
    outer.cell(2, 0).paragraphs[0].runs[0]._r.insert(0, parse_xml(f'<w:lastRenderedPageBreak {NS}/>'))
    pages = read_docx(_save(doc))
    assert len(pages) == 2
    assert pages[0].text.split("\n") == ["审核组成员 张三 组长 李四 组员", "条款 8.5.1"]
    assert pages[0].tables == [[["审核组成员", "张三 组长 李四 组员"], ["条款", "8.5.1"]],
                               [["张三", "组长"], ["李四", "组员"]]]
    assert pages[1].text == "结论 推荐注册"
    assert pages[1].tables == [[["结论", "推荐注册"]]]


def test_docx_symbols_check_boxes_hidden_and_deleted_text():
    doc = Document()
    p = doc.add_paragraph()
    p._p.append(parse_xml(f'<w:r {NS}><w:sym w:font="Wingdings" w:char="F0FE"/><w:t xml:space="preserve"> QMS </w:t>'
                          '<w:sym w:font="Wingdings" w:char="F06F"/><w:t xml:space="preserve"> EMS</w:t></w:r>'))
    field = doc.add_paragraph("初次审核")
    field._p.insert(0, parse_xml(
        f'<w:r {NS}><w:fldChar w:fldCharType="begin"><w:ffData><w:checkBox><w:sizeAuto/>'
        '<w:default w:val="0"/><w:checked/></w:checkBox></w:ffData></w:fldChar></w:r>'))
    field._p.insert(1, parse_xml(f'<w:r {NS}><w:instrText> FORMCHECKBOX </w:instrText></w:r>'))
    field._p.insert(2, parse_xml(f'<w:r {NS}><w:fldChar w:fldCharType="end"/></w:r>'))
    hidden = doc.add_paragraph("可见文字")
    hidden._p.append(parse_xml(f'<w:r {NS}><w:rPr><w:vanish/></w:rPr><w:t>隐藏文字</w:t></w:r>'))
    hidden._p.append(parse_xml(f'<w:del {NS} w:id="1" w:author="x"><w:r><w:delText>删除的文字</w:delText></w:r></w:del>'))
    hidden._p.append(parse_xml(f'<w:ins {NS} w:id="2" w:author="x"><w:r><w:t>插入的文字</w:t></w:r></w:ins>'))
    boxes = doc.add_paragraph()
    boxes._p.append(parse_xml(f'<w:r {NS}><w:sym w:font="Wingdings 2" w:char="F052"/><w:t>合格</w:t></w:r>'))
    boxes._p.append(parse_xml(f'<w:r {NS}><w:rPr><w:rFonts w:ascii="Wingdings 2" w:hAnsi="Wingdings 2"/></w:rPr>'
                              '<w:t>\u00a3</w:t></w:r>'))
    boxes._p.append(parse_xml(f'<w:r {NS}><w:t>不合格</w:t></w:r>'))
    text = read_docx(_save(doc))[0].text
    assert text.split("\n") == ["☑ QMS □ EMS", "☑初次审核", "可见文字插入的文字", "☑合格□不合格"]


def _with_part(docx: bytes, name: str, xml: str, rel_type: str, content_type: str) -> bytes:
    """The docx with one more part, related to the document (what Word adds for footnotes …)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx)) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "word/_rels/document.xml.rels":
                data = data.replace(b"</Relationships>", (
                    f'<Relationship Id="rIdTest" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                    f'relationships/{rel_type}" Target="{name.split("/", 1)[1]}"/></Relationships>').encode())
            elif info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", f'<Override PartName="/{name}" ContentType="{content_type}"/>'
                                    "</Types>".encode())
            dst.writestr(info, data)
        dst.writestr(name, xml)
    return buf.getvalue()


def test_docx_footnotes_and_list_numbers():
    doc = Document()
    cited = doc.add_paragraph("依据标准条款")
    cited._p.append(parse_xml(f'<w:r {NS}><w:footnoteReference w:id="2"/></w:r>'))
    for text, num in (("首次会议", 5), ("现场审核", 5), ("末次会议", 5), ("要点", 1)):
        item = doc.add_paragraph(text)
        item._p.insert(0, parse_xml(f'<w:pPr {NS}><w:numPr><w:ilvl w:val="0"/><w:numId w:val="{num}"/>'
                                    "</w:numPr></w:pPr>"))
    notes = (f'<w:footnotes {NS}><w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p>'
             '</w:footnote><w:footnote w:id="2"><w:p><w:r><w:footnoteRef/></w:r><w:r><w:t>GB/T 19001-2016</w:t>'
             "</w:r></w:p></w:footnote><w:footnote w:id=\"3\"><w:p><w:r><w:t>未引用的脚注</w:t></w:r></w:p>"
             "</w:footnote></w:footnotes>")
    data = _with_part(_save(doc), "word/footnotes.xml", notes, "footnotes",
                      "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml")
    assert read_docx(data)[0].text.split("\n") == ["依据标准条款", "1. 首次会议", "2. 现场审核", "3. 末次会议",
                                                   "• 要点", "GB/T 19001-2016"]


# -- Word 2003 XML -----------------------------------------------------------------------------------

HEAD_2003 = ('<?mso-application progid="Word.Document"?>\n'
             '<w:wordDocument xmlns:w="http://schemas.microsoft.com/office/word/2003/wordml" '
             'xmlns:wx="http://schemas.microsoft.com/office/word/2003/auxHint" '
             'xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
             'xmlns:aml="http://schemas.microsoft.com/aml/2001/core" '
             'xmlns:st1="urn:schemas-microsoft-com:office:smarttags">')


def _r(text: str) -> str:
    return f"<w:r><w:t>{text}</w:t></w:r>"


def _p(text: str, ppr: str = "") -> str:
    return f"<w:p>{ppr}{_r(text)}</w:p>"


def _tc(text: str, tcpr: str = "") -> str:
    return f"<w:tc>{'<w:tcPr>' + tcpr + '</w:tcPr>' if tcpr else ''}{_p(text) if text else '<w:p/>'}</w:tc>"


SPAN2, VRESTART, HRESTART = '<w:gridSpan w:val="2"/>', '<w:vmerge w:val="restart"/>', '<w:hmerge w:val="restart"/>'


def _wordml(encoding: str = "UTF-8", picture: bool = False) -> str:
    picture_xml = ""
    if picture:
        picture_xml = ('<w:p><w:r><w:pict><w:binData w:name="wordml://02000001.png">PICTURE</w:binData>'
                       '<v:shape style="width:40pt"><v:imagedata src="wordml://02000001.png"/></v:shape>'
                       '</w:pict></w:r></w:p>')
    table = ("<w:tbl><w:tblPr/><w:tblGrid><w:gridCol/><w:gridCol/><w:gridCol/></w:tblGrid>"
             f"<w:tr>{_tc('受审核方', SPAN2)}{_tc('杭州某某电子有限公司')}</w:tr>"
             f"<w:tr>{_tc('审核组', VRESTART)}{_tc('组长')}{_tc('王五')}</w:tr>"
             f"<w:tr>{_tc('', '<w:vmerge/>')}{_tc('组员')}{_tc('赵六')}</w:tr>"
             f"<w:tr>{_tc('备注说明', HRESTART)}{_tc('', '<w:hmerge/>')}{_tc('无')}</w:tr>"
             "</w:tbl>")
    body = (
        "<wx:sect>"
        + _p("第一页：审核计划")
        + f"<w:p>{_r('审核日期：')}<st1:chsdate Year=\"2023\"><w:r><w:t>2023年5月8日</w:t></w:r></st1:chsdate></w:p>"
        + table
        + "<w:p><w:pPr><w:listPr><wx:t wx:val=\"1.\"/></w:listPr></w:pPr>" + _r("首次会议") + "</w:p>"
        + "<w:p>" + _r("正文有脚注") + "<w:r><w:footnote><w:p>" + _r("脚注的内容") + "</w:p></w:footnote></w:r></w:p>"
        + "<w:p><w:r><w:br w:type=\"page\"/></w:r>" + _r("第二页：现场照片") + "</w:p>"
        + picture_xml
        + "<w:p><w:r><w:pict><v:shape><v:textbox><w:txbxContent>" + _p("文本框中的文字")
        + "</w:txbxContent></v:textbox></v:shape></w:pict></w:r></w:p>"
        + "<aml:annotation w:type=\"Word.Comment\"><aml:content>" + _p("批注不是正文") + "</aml:content></aml:annotation>"
        + "<w:p><w:pPr><w:sectPr><w:hdr w:type=\"odd\">" + _p("某某认证中心 审核记录") + "</w:hdr>"
        + "<w:ftr w:type=\"odd\">" + _p("第 1 页") + "</w:ftr></w:sectPr></w:pPr>" + _r("第一节最后一段") + "</w:p>"
        + "</wx:sect><wx:sect>"
        + _p("第三页：新的一节")
        + "<w:sectPr><w:hdr w:type=\"odd\">" + _p("某某认证中心 审核记录") + "</w:hdr></w:sectPr>"
        + "</wx:sect>")
    return (f'<?xml version="1.0" encoding="{encoding}" standalone="yes"?>\n'
            f"{HEAD_2003}<w:body>{body}</w:body></w:wordDocument>")


def test_wordml_2003_tables_pages_header_note_text_box_comment():
    pages = read_wordml(_wordml().encode("utf-8"))
    assert len(pages) == 3
    lines = pages[0].text.split("\n")
    assert lines[0] == "某某认证中心 审核记录"
    assert lines[-1] == "第 1 页"
    assert "受审核方 杭州某某电子有限公司" in lines
    assert "审核日期:2023年5月8日" in lines
    assert "审核组 组长 王五" in lines and "组员 赵六" in lines
    assert "备注说明 无" in lines
    assert "1. 首次会议" in lines
    assert "脚注的内容" in lines
    assert pages[0].tables == [[["受审核方", "", "杭州某某电子有限公司"], ["审核组", "组长", "王五"],
                                ["", "组员", "赵六"], ["备注说明", "", "无"]]]
    assert pages[1].text.split("\n") == ["第二页:现场照片", "文本框中的文字", "第一节最后一段"]
    assert pages[2].text == "第三页:新的一节"
    everything = "\n".join(p.text for p in pages)
    assert everything.count("某某认证中心") == 1
    assert "批注不是正文" not in everything


def test_wordml_big_picture_is_skipped_not_read():
    picture = base64.b64encode(bytes(range(256)) * (40 * 1024))    # 13.3 MB: over libxml2's text-node limit
    data = _wordml(picture=True).encode("utf-8").replace(b"PICTURE", picture)
    assert len(data) > 13_000_000
    started = time.perf_counter()
    pages = read_wordml(data)
    assert time.perf_counter() - started < 3
    assert pages[1].has_images and not pages[0].has_images
    assert pages[1].text.split("\n")[0] == "第二页:现场照片"
    assert max(len(line) for p in pages for line in p.text.split("\n")) < 200


@pytest.mark.parametrize("encoding,codec", [("GBK", "gbk"), ("gb2312", "gb2312"), ("UTF-16", "utf-16"),
                                            ("UTF-16", "utf-16-le"), ("UTF-8", "utf-8-sig")])
def test_wordml_encodings(encoding, codec):
    data = _wordml(encoding).encode(codec)
    assert is_wordml(data[:4096])
    pages = read_wordml(data)
    assert "受审核方 杭州某某电子有限公司" in pages[0].text.split("\n")
    assert pages[2].text == "第三页:新的一节"


@pytest.mark.parametrize("declared,codec,company", [
    ("gb2312", "gbk", "喆镕某某电子有限公司"),        # GBK characters outside gb2312, as systems write them
    ("UTF-8", "gbk", "杭州某某电子有限公司"),         # declared UTF-8, written in GBK
    ("GBK", "utf-8", "杭州某某电子有限公司"),         # declared GBK, written in UTF-8
])
def test_wordml_mislabelled_encodings(declared, codec, company):
    data = _wordml(declared).replace("杭州某某电子有限公司", company).encode(codec)
    assert f"受审核方 {company}" in read_wordml(data)[0].text.split("\n")


def _flat(docx: bytes, progid: str = "Word.Document") -> bytes:
    """A .docx as the one-file "Word XML document" (pkg:package) Word saves and business systems
    export under a .doc name."""
    parts = []
    with zipfile.ZipFile(io.BytesIO(docx)) as zf:
        for info in zf.infolist():
            data = zf.read(info)
            name = "/" + info.filename
            if info.filename.endswith((".xml", ".rels")):
                xml = data.decode("utf-8").split("?>", 1)[1] if data.startswith(b"<?xml") else data.decode("utf-8")
                parts.append(f'<pkg:part pkg:name="{name}" pkg:contentType="x"><pkg:xmlData>{xml}</pkg:xmlData></pkg:part>')
            else:
                parts.append(f'<pkg:part pkg:name="{name}" pkg:contentType="image/png" pkg:compression="store">'
                             f'<pkg:binaryData>{base64.encodebytes(data).decode()}</pkg:binaryData></pkg:part>')
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<?mso-application progid="{progid}"?>\n'
            '<pkg:package xmlns:pkg="http://schemas.microsoft.com/office/2006/xmlPackage">'
            + "".join(parts) + "</pkg:package>").encode("utf-8")


def test_flat_word_xml_document_reads_like_its_docx():
    docx = _form_docx()
    flat = _flat(docx)
    assert is_wordml(flat[:4096])
    assert read_wordml(flat) == read_docx(docx)


@pytest.mark.parametrize("head,expected", [
    (_wordml().encode("utf-8"), True),
    (_wordml().replace('<?mso-application progid="Word.Document"?>\n', "").encode("utf-8"), True),
    (_wordml("GBK").encode("gbk"), True),
    (_wordml("UTF-16").encode("utf-16-be"), True),
    (b'<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n'
     b'<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"></Workbook>', False),
    (b'<?xml version="1.0"?><w:wordDocument xmlns:w="urn:something-else"></w:wordDocument>', False),
    (b'<?xml version="1.0"?><html><body>w:wordDocument</body></html>', False),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", False),
    (b"PK\x03\x04\x14\x00\x06\x00", False),
    (b"", False),
])
def test_is_wordml(head, expected):
    assert is_wordml(head[:4096]) is expected


def test_is_wordml_flat_package_of_word_only():
    docx = _form_docx()
    assert is_wordml(_flat(docx)[:4096])
    assert not is_wordml(_flat(docx, progid="PowerPoint.Show")[:4096])
    assert is_wordml(_flat(docx).replace(b'<?mso-application progid="Word.Document"?>', b"")[:4096])
    assert not is_wordml(_flat(docx).replace(b'<?mso-application progid="Word.Document"?>', b"")
                         .replace(b"wordprocessingml", b"presentationml").replace(b"word/", b"ppt/")[:4096])


# -- hostile input ---------------------------------------------------------------------------------

LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
          + ']>\n' + HEAD_2003 + '<w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:wordDocument>')


def _docx_with_document(xml: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(_form_docx())) as src, zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, xml if info.filename == "word/document.xml" else src.read(info))
    return buf.getvalue()


def test_billion_laughs_fails_fast():
    for read, data in ((read_wordml, LAUGHS.encode()),
                       (read_docx, _docx_with_document(LAUGHS.replace(HEAD_2003, f"<w:document {NS}>")
                                                       .replace("</w:wordDocument>", "</w:document>").encode()))):
        started = time.perf_counter()
        with pytest.raises(ReadError) as err:
            read(data)
        assert err.value.reason == "damaged"
        assert "DTD" in str(err.value)
        assert time.perf_counter() - started < 1


def test_external_entity_is_not_fetched(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("机密内容", encoding="utf-8")
    data = (f'<?xml version="1.0"?><!DOCTYPE w:wordDocument [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
            f"{HEAD_2003}<w:body><w:p><w:r><w:t>&x;</w:t></w:r></w:p></w:body></w:wordDocument>")
    with pytest.raises(ReadError) as err:
        read_wordml(data.encode())
    assert "机密" not in str(err.value)


def _zip_bomb(inflated_mb: int) -> bytes:
    """A docx-named zip whose word/document.xml inflates to `inflated_mb` MB of blanks (a real,
    consistent zip: sizes and CRC are right, so a naive reader would inflate it all)."""
    chunk = b" " * (1 << 20)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    body = block * inflated_mb + packer.flush()
    crc = 0
    for _ in range(inflated_mb):
        crc = zlib.crc32(chunk, crc)
    name, size = b"word/document.xml", inflated_mb << 20
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(body), size, len(name), 0) + name
    central = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(body), size,
                          len(name), 0, 0, 0, 0, 0, 0) + name
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local) + len(body), 0)
    return local + body + central + end


def test_zip_bomb_fails_fast():
    bomb = _zip_bomb(300)
    assert len(bomb) < 400_000
    with zipfile.ZipFile(io.BytesIO(bomb)) as zf:
        assert zf.getinfo("word/document.xml").file_size == 300 << 20
    started = time.perf_counter()
    with pytest.raises(ReadError) as err:
        read_docx(bomb)
    assert err.value.reason == "too_large"
    assert time.perf_counter() - started < 0.5


def test_wordml_too_much_text_is_refused():
    data = _wordml().replace("第一页：审核计划", "审" * (23 << 20)).encode("utf-8")    # 69 MB of text
    started = time.perf_counter()
    with pytest.raises(ReadError) as err:
        read_wordml(data)
    assert err.value.reason == "too_large"
    assert time.perf_counter() - started < 2


def test_not_a_docx():
    cases = {
        b"": "empty",
        "受审核方：某某公司\n".encode() * 50: "damaged",
        _form_docx()[:3000]: "truncated",
        b"%PDF-1.7\n": "damaged",
    }
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
    cases[other.getvalue()] = "damaged"
    cases[_docx_with_document(b"<w:document xmlns:w='" + W.encode() + b"'><w:body><w:p>")] = "damaged"
    for data, reason in cases.items():
        with pytest.raises(ReadError) as err:
            read_docx(data)
        assert err.value.reason == reason, data[:20]
        assert str(err.value)


def test_encrypted_and_old_binary_office_files():
    # A password-protected docx is an OLE2 compound file holding an "EncryptedPackage" stream.
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    encrypted = header + bytes(512) + "EncryptedPackage".encode("utf-16-le") + bytes(2048)
    old_doc = header + bytes(512) + "WordDocument".encode("utf-16-le") + bytes(2048)
    for read in (read_docx, read_wordml):
        with pytest.raises(ReadError) as err:
            read(encrypted)
        assert err.value.reason == "encrypted"
    with pytest.raises(ReadError) as err:
        read_docx(old_doc)
    assert err.value.reason == "damaged"


def test_not_word_xml():
    cases = [b"just some text, not XML at all",
             b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"/>',
             _wordml().encode()[:-500],
             ("<a>" * 5000 + "</a>" * 5000).encode(),
             _wordml().replace("<w:body>", "<w:body>" + "<w:tbl><w:tr><w:tc>" * 400).encode()]
    for data in cases:
        with pytest.raises(ReadError) as err:
            read_wordml(data)
        assert err.value.reason == "damaged"


def test_deep_nesting_reads_or_is_refused():
    deep = _wordml().replace("<w:body>", "<w:body>" + "<w:tbl><w:tr><w:tc>" * 80 + _p("最里层的单元格")
                             + "</w:tc></w:tr></w:tbl>" * 80).encode()
    assert "最里层的单元格" in read_wordml(deep)[0].text
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 120)      # a caller already deep in its stack
    try:
        with pytest.raises(ReadError) as err:
            read_wordml(deep)
    finally:
        sys.setrecursionlimit(limit)
    assert err.value.reason == "damaged" and "nested too deeply" in str(err.value)


# -- real documents --------------------------------------------------------------------------------

def _real(realdocs, name: str) -> bytes:
    path = realdocs / name
    if not path.exists():
        pytest.skip(f"{path} is absent")
    return path.read_bytes()


def test_real_archive_quality_requirements(realdocs):
    pages = read_docx(_real(realdocs, "archive-quality-requirements.docx"))
    text = "\n".join(p.text for p in pages)
    assert len(pages) == 5                                 # as docProps/app.xml says
    assert text.startswith("审核全套表格最低质量要求")
    assert "2、 主文件夹目录下建立三个子文件夹,子文件夹命名规则:01体系文件、02企业资质、03审核资料、04其他证明;" \
        in text.split("\n")                                  # list numbers Word draws come out too
    assert "文件夹命名规则:资料上交年份-企业全称-认证体系+审核类型" in text
    tables = [t for p in pages for t in p.tables]
    header = ["序号", "表格编号与名称", "责任人", "审核全套表格的质量要求", "备注"]
    starts = [t for t in tables if t[0] == header]
    assert len(starts) == 2                                # the two tables (the second runs over a page)
    assert all(len(row) == 5 for t in tables for row in t)
    numbers = [row[0] for t in tables for row in t if row[0].isdigit()]
    assert numbers == [str(n) for n in range(1, 9)] + [str(n) for n in range(1, 16)]
    assert ["", "", "审核组", "申请认证组织/获证组织告知书", "盖章"] in tables[-1]   # vertically merged


def test_real_audit_consistency_checklist(realdocs):
    data = _real(realdocs, "audit-consistency-checklist.doc")
    assert is_wordml(data[:4096])
    pages = read_wordml(data)
    text = "\n".join(p.text for p in pages)
    lines = text.split("\n")
    assert lines[0] == "CSHCC 中标华信认证 A/1版"          # the header, once
    assert text.count("中标华信认证") == 1
    assert "审核一致性要点提示" in lines
    assert "(审核组长自查表-与每个审核项目档案一同交回)" in lines
    tables = [t for p in pages for t in p.tables]
    assert tables[0][0] == ["序号", "必查项目", "审核对象", "审核要点提示", "是否符合 (审核员自查)", "备注"]
    rows = [row for t in tables for row in t]
    assert all(len(row) == 6 for row in rows)
    assert ["", "", "特种设备的控制", "1)企业是否有“国家特种设备目录中”的特种设备? 2)特种设备是否进行了定期安全检定并在有效期内?",
            "", ""] in rows
    assert next(row for row in rows if row[0] == "通用要求")[1:3] == ["", ""]     # spans three columns
    assert text.count("强制检定的计量器具控制") == 1


def test_real_ccaa_audit_experience_record(realdocs):
    data = _real(realdocs, "ccaa-audit-experience-record.doc")
    assert is_wordml(data[:4096])
    pages = read_wordml(data)
    assert len(pages) == 1
    page = pages[0]
    lines = page.text.split("\n")
    assert "CCAA 审核经历记录表" in lines
    assert "CCAA-R304-2" in lines
    assert page.has_images and page.has_text
    assert "审核领域 □ QMS □ EMS □ OHSMS □ FSMS □ HACCP □ 其他" in lines     # Wingdings boxes
    table = page.tables[0]
    assert ["在审核组中的作用", "□ 组员 □ 组长"] in table
    assert ["受审核方信息", "名称: 地址: 联系人: 电话: (受审核方盖章确认) 传真:"] in table
    assert all(len(row) == 2 for row in table)


def test_real_documents_read_quickly(realdocs):
    for name, read in (("archive-quality-requirements.docx", read_docx),
                       ("audit-consistency-checklist.doc", read_wordml),
                       ("ccaa-audit-experience-record.doc", read_wordml)):
        data = _real(realdocs, name)
        read(data)                                         # warm up (OpenCC, imports)
        started = time.perf_counter()
        read(data)
        assert time.perf_counter() - started < 1, name
