"""Round 8 (callbacks): the fast read of flat bodies says exactly what the XML parser says, or nothing."""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError, XMLParser

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.channels.xmlguard import BadInput, Checked, _flat_fields, check, fields, flat


def _parsed(body: str) -> Element | None:
    parser = XMLParser()
    try:
        parser.feed(body)
        return parser.close()
    except ParseError:
        return None


_TAGS = st.sampled_from(["ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId", "Event",
                         "a", "_x", "A.b-1"])
_TEXT = st.lists(st.sampled_from(["x", " ", "\n", "\t", ">", "3号楼", "\x7f", "\u3000", "\U0001f600", "12"]),
                 max_size=5).map("".join)
# one piece on the edges of the fast read: markup, references, CDATA ends, line ends, characters XML
# forbids, other whitespace, names, declarations
_TRICKY = st.sampled_from([
    "\r", "\r\n", "]", "]]", "]]>", "<", "&", "&amp;", "&#65;", "<![CDATA[", "]]><![CDATA[", "\x00", "\x0b",
    "\x1f", "\ufffe", "</a>", "<b>", "<b/>", "<a>", "\u3000", "\ufeff", '<?xml version="1.0"?>', "<!-- c -->",
    "<!DOCTYPE xml>", " a=\"1\"", "/", "名", ":", "1",
])


@st.composite
def bodies(draw: st.DrawFn) -> str:
    """A body of the common shape, and half the time one tricky piece put anywhere in it."""
    parts = []
    # distinct tags: a repeated one (left to the parser) is one of the examples below
    for tag, text in draw(st.lists(st.tuples(_TAGS, _TEXT), max_size=6, unique_by=lambda pair: pair[0])):
        if draw(st.booleans()):
            parts.append(f"<{tag}><![CDATA[{text}]]></{tag}>")
        else:
            parts.append(f"<{tag}>{text}</{tag}>")
    sep = draw(st.sampled_from(["", "\n", " ", "\t"]))
    body = f"{draw(st.sampled_from(['', ' ', chr(10)]))}<xml>{sep}{sep.join(parts)}{sep}</xml>"
    if draw(st.booleans()):
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(_TRICKY) + body[at:]
    return body


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(bodies())
@example("<xml><a><![CDATA[x]]>y<b>]]></a></xml>")
@example("<xml><a><![CDATA[]]]]></a></xml>")
@example("<xml><a>x]]>y</a></xml>")
@example("<xml><a>1</a><a>2</a></xml>")
def test_fast_read_agrees_with_the_parser(body: str) -> None:
    fast = _flat_fields(body)
    root = _parsed(body)
    if fast is None:
        return   # the parser decides, as before round 8
    assert root is not None, "the fast read accepted a body the parser refuses"
    assert root.tag == "xml"
    assert fast == fields(root)
    assert flat(Checked(body, raw=fast)) == flat(root)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.dictionaries(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True),
                       st.text(st.characters(blacklist_categories=("Cs",)), max_size=20), max_size=6))
def test_any_text_in_cdata_is_read_fast_or_by_the_parser_alike(values: dict[str, str]) -> None:
    body = "<xml>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in values.items()) + "</xml>"
    fast = _flat_fields(body)
    root = _parsed(body)
    if fast is not None:
        assert root is not None and fast == fields(root)


def test_a_real_callback_is_read_fast_and_its_tree_only_on_demand() -> None:
    body = ("<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oU1]]></FromUserName>"
            "<CreateTime>1795629497</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            "<Content><![CDATA[ 3号楼 路灯不亮了 ]]></Content><MsgId>1</MsgId></xml>")
    doc = check(body.encode())
    assert doc.raw is not None and doc._root is None
    assert flat(doc) == {"ToUserName": "gh_1", "FromUserName": "oU1", "CreateTime": "1795629497",
                         "MsgType": "text", "Content": "3号楼 路灯不亮了", "MsgId": "1"}
    assert fields(doc)["Content"] == " 3号楼 路灯不亮了 "
    assert [child.tag for child in doc.root][-1] == "MsgId"   # the tree, when asked for


@pytest.mark.parametrize("body", [
    "<xml><a>1</a><b>2</a></xml>",                      # mismatched: neither path accepts it
    "<xml><a>&bogus;</a></xml>",                        # an undefined entity
    "<xml><a>\x00</a></xml>",                           # a character XML forbids
    '<!DOCTYPE xml [<!ENTITY e "v">]><xml><a>&e;</a></xml>',   # a DTD: still refused
    "<other><a>1</a></other>",
])
def test_bodies_the_fast_read_declines_are_still_refused(body: str) -> None:
    assert _flat_fields(body) is None
    with pytest.raises(BadInput):
        check(body)


# --- the crypto: wechatpy's answers, with its objects built once -------------------------------------

_AES_KEY = "Round8Key0123456789abcdefghijklmnopqrstuvwx"
_TOKEN_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(_TOKEN_TEXT, _TOKEN_TEXT, _TOKEN_TEXT, _TOKEN_TEXT)
def test_signature_is_wechatpys(token: str, timestamp: str, nonce: str, extra: str) -> None:
    from wechatpy.utils import WeChatSigner

    from bot.channels.aes import signature, signed

    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce, extra)
    assert signature(token, timestamp, nonce, extra) == signer.signature
    assert signed(signer.signature, token, timestamp, nonce, extra)
    assert not signed(signer.signature[:-1] + "x", token, timestamp, nonce, extra)


@pytest.mark.parametrize("kind", ["oa", "wecom"])
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(text=st.text(st.characters(blacklist_categories=("Cs",)), max_size=60),
       tamper=st.sampled_from(["none", "signature", "id", "cipher"]))
def test_decrypting_answers_as_wechatpy_does(kind: str, text: str, tamper: str) -> None:
    from wechatpy.crypto import WeChatCrypto
    from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto

    from bot.channels.aes import Reused, ReusedWeCom

    official, ours = ((WeChatCrypto, Reused) if kind == "oa" else (WeComCrypto, ReusedWeCom))
    sender = official("tok", _AES_KEY, "wx-other" if tamper == "id" else "wx-round8")
    plain = f"<xml><Content><![CDATA[{text}]]></Content></xml>"
    envelope = flat(check(sender.encrypt_message(plain, "nonce8", "1795629497")))
    assert envelope is not None
    signature_ = envelope["MsgSignature"]
    if tamper == "signature":
        signature_ = "0" * 40
    if tamper == "cipher":
        envelope["Encrypt"] = envelope["Encrypt"][:-8] + "AAAAAAA="
        from bot.channels.aes import signature as sign

        signature_ = sign("tok", "1795629497", "nonce8", envelope["Encrypt"])

    def outcome(crypto) -> tuple[str, str]:
        try:
            return "ok", crypto.decrypt_message(dict(envelope), signature_, "1795629497", "nonce8")
        except Exception as exc:  # noqa: BLE001 - the kind of failure is what is compared
            return "error", type(exc).__name__

    reference = official("tok", _AES_KEY, "wx-round8")
    reused = ours("tok", _AES_KEY, "wx-round8")
    assert outcome(reused) == outcome(reference)
    assert outcome(reused) == outcome(reference)     # the kept cipher object gives the same again
    if tamper == "none":
        assert outcome(reused) == ("ok", plain)
