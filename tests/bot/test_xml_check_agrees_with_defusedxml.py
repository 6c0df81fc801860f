"""Round 5 (event-loop side of a callback): the cheaper paths give exactly what the old ones gave."""

from __future__ import annotations

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.channels.xmlguard import BadInput, check


def _dump(el) -> tuple:
    return (el.tag, el.text, el.tail, sorted(el.attrib.items()), [_dump(c) for c in el])


def _reference(body: str) -> tuple | str:
    """What the check did before round 5: defusedxml for every body."""
    try:
        root = SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        return "forbidden"
    except SafeET.ParseError:
        return "malformed"
    return "root" if root.tag != "xml" else _dump(root)


def _now(body: str) -> tuple | str:
    try:
        return _dump(check(body).root)
    except BadInput as exc:
        text = str(exc)
        if text.startswith("forbidden"):
            return "forbidden"
        if text.startswith("malformed"):
            return "malformed"
        if text.startswith("unexpected root"):
            return "root"
        raise


_PIECES = st.sampled_from([
    "<a>1</a>", "<b><![CDATA[x]]></b>", "<c/>", "<d e='1'>t</d>", "<ns:f xmlns:ns='urn:x'>g</ns:f>",
    "&amp;", "&lt;", "&#20320;", "&#x4f60;", "&foo;", "&", "<", "]]>", "<!-- c -->", "<?pi x?>",
    " ", "\n", "文本", "<Content><![CDATA[<!DOCTYPE 是文字]]></Content>", "<g><h>n</h></g>", "</a>",
    "<!DOCTYPE xml>", '<!DOCTYPE xml [<!ENTITY e "v">]>', "&e;", "\x00", "\ud7ff",
])
_HEADS = st.sampled_from(["", '<?xml version="1.0" encoding="utf-8"?>', '<?xml version="1.0" encoding="gbk"?>',
                          "<!DOCTYPE xml>", '<!DOCTYPE xml [<!ENTITY e "v">]>',
                          '<!DOCTYPE xml SYSTEM "file:///etc/passwd">', " ", "<!-- x -->"])


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(_HEADS, st.sampled_from(["xml", "XML", "other"]), st.lists(_PIECES, max_size=8))
def test_check_parses_like_defusedxml(head: str, root: str, pieces: list[str]) -> None:
    body = f"{head}<{root}>{''.join(pieces)}</{root}>"
    assert _now(body) == _reference(body)


def test_a_dtd_is_still_refused_and_text_mentioning_one_is_not() -> None:
    for body in ("<!DOCTYPE xml><xml/>", '<!DOCTYPE xml [<!ENTITY e "v">]><xml>&e;</xml>',
                 '<!DOCTYPE xml SYSTEM "http://127.0.0.1/x.dtd"><xml/>'):
        try:
            check(body)
        except BadInput as exc:
            assert str(exc).startswith("forbidden")
        else:
            raise AssertionError(body)
    doc = check("<xml><Content><![CDATA[<!DOCTYPE 不是声明]]></Content></xml>")
    assert doc.root[0].text == "<!DOCTYPE 不是声明"
