"""Letters sent as documents: the text of a .docx, .odt or .txt attachment.

Part of letters.intake.parse (no Django, no database, no network).
"""

from __future__ import annotations

import io
import zipfile
from xml.etree import ElementTree

from .decoding import decode_bytes

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_TEXT_NS = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
# A document's XML is inflated in chunks and given up past this size, whatever size the zip
# declares (a declared size can lie); and its elements may nest at most this deep. A letter's
# document.xml is tens of kilobytes; a megabyte of the worst XML (a million tiny elements)
# takes about a fifth of a second to read.
_MAX_XML = 1024 * 1024
_MAX_DEPTH = 100
_CHUNK = 64 * 1024


def _read_zip_member(data: bytes, name: str) -> bytes | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            info = zf.getinfo(name)
            if info.file_size > _MAX_XML:
                return None
            chunks, size = [], 0
            with zf.open(info) as member:
                while chunk := member.read(_CHUNK):
                    size += len(chunk)
                    if size > _MAX_XML:
                        return None
                    chunks.append(chunk)
            xml = b"".join(chunks)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, RuntimeError, EOFError):
        return None
    except Exception:  # noqa: BLE001 - zlib/zipfile on corrupt data can raise odd things
        return None
    # Refuse DTDs outright: no entity expansion tricks in a letter.
    if b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:
        return None
    return xml


def _parse_xml(xml: bytes) -> ElementTree.Element | None:
    """The document's root element; None if the XML is broken or nests deeper than
    _MAX_DEPTH (no letter does: it is an attack on the walks below)."""
    depth = 0
    try:
        parsing = ElementTree.iterparse(io.BytesIO(xml), events=("start", "end"))
        for event, _ in parsing:
            depth += 1 if event == "start" else -1
            if depth > _MAX_DEPTH:
                return None
        return parsing.root
    except (ElementTree.ParseError, ValueError):
        return None


def _docx_paragraphs(root: ElementTree.Element):
    """The outermost <w:p> elements, in order (a paragraph nested in another one is part of
    it, not walked again)."""
    stack = [root]
    while stack:
        el = stack.pop()
        if el.tag == _W + "p":
            yield el
        else:
            stack.extend(reversed(el))


def docx_text(data: bytes) -> str:
    root = _parse_xml(_read_zip_member(data, "word/document.xml") or b"")
    if root is None:
        return ""
    paras = []
    for p in _docx_paragraphs(root):
        bits = []
        for el in p.iter():
            if el.tag == _W + "t" and el.text:
                bits.append(el.text)
            elif el.tag == _W + "tab":
                bits.append("\t")
            elif el.tag in (_W + "br", _W + "cr"):
                bits.append("\n")
        paras.append("".join(bits))
    return "\n\n".join(paras)


def _odt_inline(el: ElementTree.Element, bits: list[str]) -> None:
    if el.text:
        bits.append(el.text)
    for child in el:
        tag = child.tag
        if tag == _TEXT_NS + "s":
            try:
                n = int(child.get(_TEXT_NS + "c", "1"))
            except ValueError:
                n = 1
            bits.append(" " * max(1, min(n, 100)))
        elif tag == _TEXT_NS + "tab":
            bits.append("\t")
        elif tag == _TEXT_NS + "line-break":
            bits.append("\n")
        elif tag in (_TEXT_NS + "note", _TEXT_NS + "annotation"):
            pass
        else:
            _odt_inline(child, bits)
        if child.tail:
            bits.append(child.tail)


def odt_text(data: bytes) -> str:
    root = _parse_xml(_read_zip_member(data, "content.xml") or b"")
    if root is None:
        return ""
    paras = []
    for el in root.iter():
        if el.tag in (_TEXT_NS + "p", _TEXT_NS + "h"):
            bits: list[str] = []
            _odt_inline(el, bits)
            paras.append("".join(bits))
    return "\n\n".join(paras)


_DOCX_TYPES = {"application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
_ODT_TYPES = {"application/vnd.oasis.opendocument.text"}


def attachment_kind(filename: str, ctype: str) -> str | None:
    name = filename.lower()
    if name.endswith(".docx") or ctype in _DOCX_TYPES:
        return "docx"
    if name.endswith(".odt") or ctype in _ODT_TYPES:
        return "odt"
    if name.endswith(".txt") or (ctype == "text/plain" and not name):
        return "txt"
    return None


_ZIP_MAGIC = b"PK\x03\x04"


def content_is(kind: str, data: bytes) -> bool:
    """Whether the bytes are what the name and type claim: documents are zip archives, text
    has no NUL byte. A name or a Content-Type is the sender's word; the content decides."""
    if kind in ("docx", "odt"):
        return data.startswith(_ZIP_MAGIC)
    return b"\x00" not in data[:65536]


def attachment_text(kind: str, data: bytes, charset: str | None) -> str:
    """The text of an attachment of `kind` ("docx", "odt" or "txt"); "" when unreadable or
    when its content is not of that kind."""
    if not content_is(kind, data):
        return ""
    if kind == "docx":
        return docx_text(data)
    if kind == "odt":
        return odt_text(data)
    return decode_bytes(data, charset)
