"""Callback bodies are checked before any XML parser of wechatpy sees them.

No DTDs at all (so no entity expansion and no external entities), strict UTF-8, well-formed XML.
"""

from __future__ import annotations

from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException


class BadInput(ValueError):
    """A callback body that is refused with 400; the message is safe to log."""


def safe_xml(body: bytes | str) -> str:
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
    return body


def fields(xml: str) -> dict[str, str]:
    """The flat child elements of a (checked) callback body."""
    root = SafeET.fromstring(xml, forbid_dtd=True)
    return {child.tag: (child.text or "") for child in root}
