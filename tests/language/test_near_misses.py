"""Near misses of the emergency rules (issue 14, point 2): a person trapped in a lift is an emergency, a
lift that does not work or an animal stuck somewhere is not; a gas smell is, a cooking smell or a tyre
losing air is not; a fire is, a barbecue's smoke is not. Sentences written for this test."""

from __future__ import annotations

import pytest

from language import emergency as alarms
from language.intents import Matcher, default_matcher
from language.normalise import compact, normalise


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return default_matcher()


@pytest.mark.parametrize(
    "text",
    [
        "我们两个被关在电梯里出不来了，快来人",
        "3号楼电梯停在7楼和8楼之间，我妈还在里面",
        "电梯突然不动了，门也打不开，里面有个小孩在哭",
        "快点！电梯卡住了，我在里面按警铃没人应",
        "救命，电梯往下掉了一截，我们在轿厢里",
    ],
)
def test_a_person_trapped_in_a_lift_is_an_entrapment(matcher: Matcher, text: str) -> None:
    match = matcher.classify(text)
    assert (match.intent, match.category, match.emergency) == ("report", "elevator", "lift")


@pytest.mark.parametrize(
    "text",
    [
        "电梯这礼拜第三次卡住了，按哪层都不走，只能爬楼",
        "单元电梯门关不严，老卡住，老人带着菜上楼很费劲",
        "电梯停在一楼不动了，物业说下午来修",
        "电梯门开不了，这两天只能走楼梯下去",
    ],
)
def test_a_lift_out_of_order_is_an_ordinary_elevator_report(matcher: Matcher, text: str) -> None:
    match = matcher.classify(text)
    assert (match.intent, match.category, match.emergency) == ("report", "elevator", None)


@pytest.mark.parametrize(
    "text",
    [
        "楼下那只橘猫被困在树杈上好几个小时了",
        "谁家的小狗被关在电梯里了，一直在叫",
        "有只鸽子困在楼道窗户外面的防护网里",
        "电梯停了好几天，天天爬十几层，人都困死了",
    ],
)
def test_an_animal_stuck_or_a_tired_resident_is_no_entrapment(matcher: Matcher, text: str) -> None:
    assert matcher.classify(text).emergency is None


@pytest.mark.parametrize(
    "text",
    [
        "厨房里一股很冲的煤气味，我已经把阀门关了",
        "楼道里闻到燃气味，越来越浓",
        "家里好像漏气了，嘶嘶的声音从灶台后面出来",
    ],
)
def test_a_gas_smell_is_a_gas_emergency(matcher: Matcher, text: str) -> None:
    match = matcher.classify(text)
    assert (match.intent, match.emergency) == ("report", "gas")


@pytest.mark.parametrize(
    "text",
    [
        "对门天天炸辣椒，油烟味呛得人直咳嗽",
        "楼下小饭馆排的油烟把我家窗户都熏黄了",
        "楼下邻居炖肉炖糊了，有股烧焦味，人没事",
        "车棚里我的自行车轮胎又漏气了",
        "暖气阀门那里漏气，一直嘶嘶响",
        "燃气公司上门查过了，确认没有煤气味",
    ],
)
def test_a_cooking_smell_or_a_flat_tyre_is_no_gas_or_fire_emergency(matcher: Matcher, text: str) -> None:
    assert matcher.classify(text).emergency is None


@pytest.mark.parametrize(
    "text",
    [
        "楼下烧烤摊一开张就冒烟，晚上窗户都不敢开",
        "有人在绿化带里烧纸，冒黑烟",
        "楼梯间总有人抽烟，烟很大",
    ],
)
def test_smoke_from_a_barbecue_or_a_cigarette_is_no_fire(matcher: Matcher, text: str) -> None:
    match = matcher.classify(text)
    assert match.intent == "report" and match.emergency is None


@pytest.mark.parametrize(
    "text",
    ["地下车库冒黑烟了，快来人", "8楼窗户往外冒浓烟", "楼下烧烤店着火了，火很大"],
)
def test_smoke_without_a_harmless_source_is_a_fire(matcher: Matcher, text: str) -> None:
    assert matcher.classify(text).emergency == "fire"


def test_an_animal_hurt_is_no_injury_but_a_person_bitten_is(matcher: Matcher) -> None:
    assert matcher.classify("流浪狗被电动车撞了，腿上好多血").emergency is None
    assert matcher.classify("我家孩子在小区被狗咬伤了，流了不少血").emergency == "injury"


def test_near_misses_read_the_same_from_the_scan(matcher: Matcher) -> None:
    """The fast path (one scan) and the plain rules agree on the near misses too."""
    texts = ["电梯又卡住了", "电梯卡住了我在里面", "轮胎漏气了", "家里漏气了", "烧烤冒烟", "楼道冒烟了",
             "猫被困在电梯里", "困在电梯里了"]
    guard, after = matcher.cfg.emergency_guard_window, matcher.cfg.emergency_after_window
    for text in texts:
        dense = compact(normalise(text))
        found = matcher._scanner.scan(dense)
        fast = alarms.detect_found(dense, matcher._emergency_words, found, guard, after)
        assert fast is alarms.detect(dense, matcher._emergencies, guard, after), text
