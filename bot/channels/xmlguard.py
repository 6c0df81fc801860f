"""Callback bodies are checked before any XML parser of wechatpy sees them.

No DTDs at all (so no entity expansion and no external entities), strict UTF-8, well-formed XML.
The check parses the body; the parsed tree is kept so the body is parsed only once.

Which parser: a document type declaration can only begin with the literal "<!DOCTYPE" (markup is never
produced by character references, and the body is already decoded text), and entity declarations and
external entities exist only inside one. So a body without that literal cannot declare or expand
anything, and it is parsed by the standard library's C parser (`xml.etree.ElementTree.XMLParser`,
expat), which builds the same tree as defusedxml's pure-Python parser several times faster. A body
with it (rare: a DTD, or user text mentioning one) goes through defusedxml exactly as before and is
refused when it really declares a DTD. `tests/test_perf_round5.py` compares both parsers.

Most callbacks are flat documents of one shape: `<xml>`, then elements each holding one CDATA section or
plain text, then `</xml>`. `_flat_fields` reads that shape with string searches, and only accepts a
body when the whole of it has that shape and nothing in it could mean something else to an XML parser (no "&", no "]" or "<" in plain text, no carriage return, no character XML forbids, simple tag
names): such a body is well-formed, declares nothing, and its fields are exactly the parser's text. Any
other body is parsed as above; the tree of a fast-read body is built only if something asks for it.
`tests/test_perf_round8.py` compares the fast read with the parser's on generated bodies.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element, ParseError, XMLParser

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException


class BadInput(ValueError):
    """A callback body that is refused with 400; the message is safe to log."""


# the start of a child element: spaces, a simple name, and whether a CDATA section opens its content
_START = re.compile(r"[ \t\n]*<([A-Za-z_][A-Za-z0-9_.-]{0,63})>(<!\[CDATA\[)?")
_ROOT = re.compile(r"[ \t\n]*<xml>")
_END = re.compile(r"[ \t\n]*</xml>[ \t\n]*")


# in UTF-8: the control characters XML 1.0 does not allow and the carriage return (which a parser turns
# into a line feed) are single bytes; U+FFFE and U+FFFF (not allowed either) are these sequences
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (0x09, 0x0A))
_NONCHARACTERS = (b"\xef\xbf\xbe", b"\xef\xbf\xbf")


def _plain(encoded: bytes) -> bool:
    """No character in this UTF-8 text that XML forbids, nor a carriage return (checked on the bytes:
    a scan with a regular expression cost as much as the rest of the fast read)."""
    if len(encoded.translate(None, _CONTROL_BYTES)) != len(encoded):
        return False
    return b"\xef\xbf" not in encoded or not (_NONCHARACTERS[0] in encoded or _NONCHARACTERS[1] in encoded)


def _flat_fields(body: str, encoded: bytes | None = None) -> dict[str, str] | None:
    """The fields of a body of the common flat shape, text as the parser gives it; None for any other
    body (including a flat one with a repeated tag, which `flat` does not read either). `encoded`:
    the body's UTF-8 bytes, when the caller has them."""
    if encoded is None:
        try:
            encoded = body.encode("utf-8")
        except UnicodeEncodeError:
            return None
    if not _plain(encoded):
        return None
    # a short pattern for each start tag, string searches for the content: the regular expression
    # engine's scan of every character of a long CDATA section cost more than expat
    root = _ROOT.match(body)
    if root is None:
        return None
    pos, find, start = root.end(), body.find, _START.match
    out: dict[str, str] = {}
    while (m := start(body, pos)) is not None:
        tag, pos = m.group(1), m.end()
        if m.group(2) is not None:
            end = find("]]>", pos)
            if end < 0:
                return None
            value, pos = body[pos:end], end + 3
        else:
            end = find("<", pos)
            value = body[pos:end]
            if end < 0 or "&" in value or "]" in value:
                return None
            pos = end
        if tag in out or not body.startswith(f"</{tag}>", pos):
            return None
        out[tag] = value
        pos += len(tag) + 3
    return out if _END.fullmatch(body, pos) is not None else None


class Checked:
    """A checked callback body: its text and its root element <xml>, parsed when first asked for (a
    body of the common flat shape is read without it: `raw` holds its fields then)."""

    __slots__ = ("_root", "raw", "text")

    def __init__(self, text: str, root: Element | None = None, raw: dict[str, str] | None = None) -> None:
        self.text, self._root, self.raw = text, root, raw

    @property
    def root(self) -> Element:
        if self._root is None:
            self._root = _parse(self.text)
        return self._root


def _parse(body: str) -> Element:
    try:
        if "<!DOCTYPE" in body:
            root = SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        else:
            parser = XMLParser()  # the C accelerator: no DTD in this text, so nothing to forbid
            parser.feed(body)
            root = parser.close()
    except DefusedXmlException as exc:
        raise BadInput(f"forbidden XML construct: {type(exc).__name__}") from None
    except ParseError as exc:
        raise BadInput(f"malformed XML: {exc}") from None
    if root.tag != "xml":
        raise BadInput(f"unexpected root element <{root.tag[:40]}>")
    return root


def check(body: bytes | str) -> Checked:
    encoded = None
    if isinstance(body, bytes):
        encoded = body
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise BadInput("body is not UTF-8") from None
    if not body or body.isspace():  # = not body.strip(), without the copy
        raise BadInput("empty body")
    raw = _flat_fields(body, encoded)
    if raw is not None:
        return Checked(body, raw=raw)
    return Checked(body, _parse(body))


def safe_xml(body: bytes | str) -> str:
    return check(body).text


def fields(xml: str | Element | Checked) -> dict[str, str]:
    """The flat child elements of a (checked) callback body, their text as is."""
    if isinstance(xml, Checked):
        if xml.raw is not None:
            return dict(xml.raw)
        xml = xml.root
    root = SafeET.fromstring(xml, forbid_dtd=True) if isinstance(xml, str) else xml
    return {child.tag: (child.text or "") for child in root}


def _blank(text: str | None) -> bool:
    return not text or not text.strip()


def flat(doc: Element | Checked) -> dict[str, str | None] | None:
    """What xmltodict (wechatpy's parser) makes of a flat document: each child's text, stripped, None
    when empty. None when the document is not flat (nested elements, attributes, repeated or namespaced
    tags, text between elements): then only wechatpy itself says what it means."""
    if isinstance(doc, Checked):
        if doc.raw is not None:
            return {tag: text.strip() or None for tag, text in doc.raw.items()}
        doc = doc.root
    root = doc
    if root.attrib or not _blank(root.text):
        return None
    out: dict[str, str | None] = {}
    for child in root:
        tag = child.tag
        if (not isinstance(tag, str) or len(child) or child.attrib or tag in out or "{" in tag
                or not _blank(child.tail)):
            return None
        out[tag] = (child.text or "").strip() or None
    return out
