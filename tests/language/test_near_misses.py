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


@pytest.mark.parametrize(
    "text",
    [
        "下个月社区要办电梯困人应急演练，咱们楼参加吗",
        "燃气公司周六来做泄漏演习，会不会停气",
        "物业搞了个火灾逃生培训，着火时要弯腰走楼梯对吧",
        "前几天2栋电梯困过人，现在换了新电梯没有",
        "假如哪天半夜电梯困人了怎么办",
        "要是家里燃气泄漏了应该打哪个电话",
    ],
)
def test_a_drill_a_training_a_past_event_or_a_what_if_is_no_live_emergency(matcher: Matcher, text: str) -> None:
    assert matcher.classify(text).emergency is None


@pytest.mark.parametrize(
    ("text", "emergency"),
    [
        ("电梯把我们困住了怎么办，我在里面喘不过气", "lift"),
        ("楼下起火了怎么办！烟都冲上来了", "fire"),
        ("家里天然气泄漏了咋办，味道很冲", "gas"),
        ("说是消防演练，可这回是真着火了，快来人", "fire"),
    ],
)
def test_a_cry_for_help_phrased_as_a_question_is_live(matcher: Matcher, text: str, emergency: str) -> None:
    assert matcher.classify(text).emergency == emergency


@pytest.mark.parametrize(
    "text",
    [
        "三楼走道里有一股烧焦的气味，找不到是哪里来的",
        "对门屋里往外冒焦糊味，敲了半天门没人",
        "电表箱那里一股电线烧焦的味道",
    ],
)
def test_a_burning_smell_of_unknown_or_electrical_source_is_a_fire_hazard(matcher: Matcher, text: str) -> None:
    match = matcher.classify(text)
    assert (match.intent, match.emergency) == ("report", "fire")


@pytest.mark.parametrize(
    "text",
    [
        "楼下保洁在烧枯树叶，焦味飘进屋里",
        "隔壁天天烧香，一股焦味",
        "对门炖排骨炖干了锅，一股焦味",
    ],
)
def test_a_burning_smell_of_cooking_incense_or_leaves_is_no_fire(matcher: Matcher, text: str) -> None:
    assert matcher.classify(text).emergency is None


def test_someone_locked_in_alone_is_an_emergency_only_with_a_sign_of_danger(matcher: Matcher) -> None:
    assert matcher.classify("四岁孩子被反锁在屋里，在窗户边上哭").emergency == "injury"
    assert matcher.classify("楼上爷爷被锁在家里，喊他没动静").emergency == "injury"
    assert matcher.classify("我家孩子被反锁在家里了，我在楼下等开锁师傅").emergency is None
    assert matcher.classify("大爷出门把钥匙锁在屋里了").emergency is None


def test_the_frame_reads_the_same_from_the_scan(matcher: Matcher) -> None:
    """The fast path and the plain rules agree on drills, questions and burning smells."""
    texts = ["电梯困人演练", "电梯困人了怎么办", "如果电梯困人了怎么办", "着火了怎么办快来人", "楼道有焦味",
             "炒菜一股焦味", "小孩被反锁在家里哭", "燃气泄漏演习"]
    guard, after = matcher.cfg.emergency_guard_window, matcher.cfg.emergency_after_window
    for text in texts:
        dense = compact(normalise(text))
        found = matcher._scanner.scan(dense)
        fast = alarms.detect_found(dense, matcher._emergency_words, found, guard, after)
        assert fast is alarms.detect(dense, matcher._emergencies, guard, after), text
