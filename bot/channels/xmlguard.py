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
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError, XMLParser

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException


class BadInput(ValueError):
    """A callback body that is refused with 400; the message is safe to log."""


@dataclass(frozen=True)
class Checked:
    """A checked callback body: its text and its parsed root element <xml>."""

    text: str
    root: Element


def check(body: bytes | str) -> Checked:
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise BadInput("body is not UTF-8") from None
    if not body or body.isspace():  # = not body.strip(), without the copy
        raise BadInput("empty body")
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
    return Checked(body, root)


def safe_xml(body: bytes | str) -> str:
    return check(body).text


def fields(xml: str | Element) -> dict[str, str]:
    """The flat child elements of a (checked) callback body, their text as is."""
    root = SafeET.fromstring(xml, forbid_dtd=True) if isinstance(xml, str) else xml
    return {child.tag: (child.text or "") for child in root}


def _blank(text: str | None) -> bool:
    return not text or not text.strip()


def flat(root: Element) -> dict[str, str | None] | None:
    """What xmltodict (wechatpy's parser) makes of a flat document: each child's text, stripped, None
    when empty. None when the document is not flat (nested elements, attributes, repeated or namespaced
    tags, text between elements): then only wechatpy itself says what it means."""
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
