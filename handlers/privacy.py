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

# a digit as people write it in a phone or room number: Arabic, full-width, Chinese (幺 is "one")
_D = "[0-9０-９零〇一二三四五六七八九幺壹贰叁肆伍陆柒捌玖]"
_ROOM_D = "[0-9０-９零〇一二三四五六七八九十幺]"
_CN_D = "[零〇一二三四五六七八九幺]"
_UNITS = r"(?:元|块|角|毛|米|瓦|平|个|人|户|斤|公斤|吨|年|月|日|天|次|小时|分钟|%|％|号楼|栋|幢|层|楼)"

_LABEL = (r"(?:联系|咨询|本人|个人)?(?:手机号|手机|电话|座机|固话|微信号|微信|[Qq][Qq]号?|扣扣|邮箱|电邮|"
          r"[Ee]-?mail)(?:号码|号)?\s*[:：是为]?\s*")
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
_ROOM = re.compile(
    rf"{_ROOM_D}{{1,3}}\s*(?:单元|號|号)\s*{_ROOM_D}{{2,4}}\s*(?:室|号|房)?"       # 2单元501, 二单元五零一
    rf"|{_ROOM_D}{{1,3}}\s*[-－]\s*{_ROOM_D}{{1,2}}\s*[-－]\s*{_ROOM_D}{{3,4}}"   # 3-2-501
    rf"|{_ROOM_D}{{3,4}}\s*(?:室|房)"                                               # 501室, 五零一室
    # a bare room number ("501已确认", "五零一"), not an amount, a year or a building ("1200元", "2026年")
    rf"|(?<![\d.０-９])[0-9０-９]{{3,4}}(?![\d.０-９]|\s*{_UNITS}|\s*[-/－]\s*\d)"
    rf"|(?<!{_CN_D}){_CN_D}{{3,4}}(?!{_CN_D}|\s*{_UNITS})")

# the common surnames (百家姓, the first few hundred by frequency); a name is a surname, up to two more
# characters and an honorific, or a surname with a one-character kinship title, or 老王 / 小李
_SURNAMES = (
    "王李张刘陈杨黄赵周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温"
    "康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂"
    "成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党"
    "宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝")
_HONORIFICS = ("老太太|老先生|老爷子|老奶奶|老大爷|阿姨|叔叔|阿叔|大爷|大妈|大娘|大婶|大叔|大伯|大哥|大姐|奶奶|爷爷|"
               "姥姥|姥爷|外婆|外公|婆婆|阿婆|阿公|伯伯|老伯|伯母|先生|女士|小姐|师傅|老师|同志|同学|老太|主任|经理")
# 老X / 小X only with surnames that make no everyday word that way (小区, 小高层, 老胡同, 小黄车 …)
_PET_SURNAMES = "王李张刘陈杨赵周吴徐孙朱郭何罗郑梁谢宋唐许韩冯邓曹彭曾肖董袁潘蒋蔡杜叶程苏魏吕沈姚卢姜崔钟谭汪"
_NAME = re.compile(rf"[{_SURNAMES}][\u4e00-\u9fff]{{0,2}}?(?:{_HONORIFICS})"
                   rf"|[{_SURNAMES}](?:姐|哥|叔|婶|嫂|姨)"
                   rf"|[老小][{_PET_SURNAMES}](?!{_HONORIFICS})")


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
