"""Masking what could identify a person in text meant for a building group (SPEC §7).

Group notices carry template text; free text (a worker's 办结 note) reaches a group only after staff
approve it, and even then through `scrub`: phone numbers (mobile, landline, with or without an area
code, in Arabic, full-width or Chinese numerals), any other run of five or more digits (QQ numbers,
ID fragments), rooms (2单元501, 二单元五零一, 3-2-501, 501室, a bare 501), e-mail addresses, WeChat ids,
openids and names with an honorific (王阿姨, 张建国先生, 李女士, 老王) are replaced by a mask, together
with the label that introduced them (电话, 手机号, QQ, 邮箱 …).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from language.words import words

_P = words("privacy", "parts")   # the vocabulary of catalogue/words.toml [privacy.parts]
_D, _ROOM_D, _CN_D, _UNITS = _P["digit"], _P["room_digit"], _P["cn_digit"], f"(?:{_P['units']})"
_LABEL = f"(?:{_P['label_before']})?(?:{_P['label']})(?:{_P['label_after']})?\\s*[:：]?(?:{_P['label_verb']})?\\s*"
# also spelt out to slip past filters: a(at)b.cn, a [at] b dot cn, a＠b。cn
_AT = r"(?:[@＠]|[(\[（【]\s*(?:at|AT)\s*[)\]）】]|\s(?:at|AT)\s)"
_DOT = r"(?:[.．。]|[(\[（【]\s*(?:dot|DOT)\s*[)\]）】]|\s(?:dot|DOT)\s)"
_EMAIL = rf"[A-Za-z0-9._%+\-]+\s*{_AT}\s*[A-Za-z0-9\-]+(?:\s*{_DOT}\s*[A-Za-z0-9\-]+)+"
# five or more digits, maybe grouped by spaces, dashes or an area code in brackets ("(010) 6234-5678");
# not a date ("2026-12-01"), not an amount or a count ("12000元")
_RUN = (r"(?<![0-9０-９])(?!\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?!\d))(?:[+＋]\s*\d{1,3}[\s\-]*)?[(（]?"
        + _D + r"(?:[\s\-－()（）]{0,2}" + _D + r"){4,}(?![\s\-－]*" + _D + r")(?!\s*" + _UNITS + ")")
_WECHAT_ID = r"wxid_[A-Za-z0-9_\-]+"
_OPENID = r"(?<![A-Za-z0-9])o[A-Za-z0-9_\-]{20,}"

_CONTACT = re.compile(rf"{_LABEL}(?:{_EMAIL}|{_RUN}|[A-Za-z][A-Za-z0-9_\-]{{5,19}})|{_EMAIL}|{_WECHAT_ID}|{_RUN}"
                      rf"|{_OPENID}")
_UNIT, _ROOM_MARK, _ROOM_WORD = f"(?:{_P['unit']})", f"(?:{_P['room_mark']})", f"(?:{_P['room_word']})"
_ROOM = re.compile(
    rf"{_ROOM_D}{{1,3}}\s*{_UNIT}\s*{_ROOM_D}{{2,4}}\s*{_ROOM_MARK}?"                # 2单元501, 二单元五零一
    rf"|{_ROOM_D}{{1,3}}\s*[-－]\s*{_ROOM_D}{{1,2}}\s*[-－]\s*{_ROOM_D}{{3,4}}"     # 3-2-501
    rf"|{_ROOM_D}{{3,4}}\s*{_ROOM_WORD}"                                               # 501室, 五零一室
    # a bare room number ("501已确认", "五零一"), not an amount, a year or a building ("1200元", "2026年")
    rf"|(?<![\d.０-９])[0-9０-９]{{3,4}}(?![\d.０-９]|\s*{_UNITS}|\s*[-/－]\s*\d)"
    rf"|(?<!{_CN_D}){_CN_D}{{3,4}}(?!{_CN_D}|\s*{_UNITS})")

# a name: a common surname, up to two more characters and an honorific, or a surname with a
# one-character kinship title, or 老王 / 小李 (only with surnames that make no everyday word that way)
_HONORIFICS = _P["honorifics"]
_NAME = re.compile(rf"[{_P['surnames']}][\u4e00-\u9fff]{{0,2}}?(?:{_HONORIFICS})"
                   rf"|[{_P['surnames']}](?:{_P['kinship']})"
                   rf"|[{_P['pet_prefixes']}][{_P['pet_surnames']}](?!{_HONORIFICS})")


def scrub(text: str, mask: str, names: Iterable[str] = ()) -> str:
    """`text` with every contact detail, room and name masked (adjacent masks merged into one)."""
    text = _CONTACT.sub(mask, text)
    text = _ROOM.sub(mask, text)
    for name in sorted({n for n in names if n and len(n) >= 2}, key=len, reverse=True):
        text = text.replace(name, mask)
    text = _NAME.sub(lambda m: _mask_name(m.group(0), mask), text)
    escaped = re.escape(mask)
    return re.sub(rf"{escaped}(?:[\s，,、；;：:]*{escaped})+", mask, text)


def _mask_name(found: str, mask: str) -> str:
    """The match starts at the leftmost surname-like character; in "谢王阿姨" (thanks, auntie Wang) the
    name starts one later, so the first character stays."""
    if len(found) >= 3 and _NAME.fullmatch(found[1:]):
        return found[0] + mask
    return mask


def contacts(text: str, mask: str) -> str:
    """`text` with contact details masked (phone numbers, other long digit runs, e-mail, WeChat ids,
    openids); rooms and names stay, for those who handle the petition and go to the door."""
    return _CONTACT.sub(mask, text)
