"""Callback bodies are checked before any XML parser of wechatpy sees them.

No DTDs at all (so no entity expansion and no external entities), strict UTF-8, well-formed XML.
The check parses the body (defusedxml); the parsed tree is kept so the body is parsed only once.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError

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
    if not body.strip():
        raise BadInput("empty body")
    try:
        root = SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
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
