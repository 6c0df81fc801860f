"""Unit tests for language.intents: normalisation and matcher behaviour (not dev-set sentences)."""

from __future__ import annotations

import json
import pathlib
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from language.intents import Match, Matcher, default_matcher, normalise
from language.rules import CATEGORIES, EMERGENCIES, INTENTS

DATA = pathlib.Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return default_matcher()


# ------------------------------------------------------------------ normalise
def test_full_width_to_half_width() -> None:
    assert normalise("ＡＢＣ１２３") == "abc123"
    assert normalise("查询　１２８") == "查询 128"


def test_traditional_to_simplified() -> None:
    assert normalise("電梯壞了") == "电梯坏了"
    assert normalise("樓道燈不亮") == "楼道灯不亮"


def test_emoji_and_wechat_codes_removed() -> None:
    assert normalise("路灯坏了😭😭") == "路灯坏了"
    assert normalise("满意👍🏻") == "满意"
    assert normalise("[捂脸]电梯又停了[流泪]") == "电梯又停了"


def test_punctuation_becomes_single_space() -> None:
    assert normalise("不满意，没修好！！！") == "不满意 没修好"
    assert normalise("...路灯...") == "路灯"


def test_repeated_characters_collapse() -> None:
    assert normalise("快快快快") == "快快"
    assert normalise("急急急急急急") == "急急"
    assert normalise("啊啊") == "啊啊"


def test_numbers_are_kept_intact() -> None:
    assert normalise("3-2-501") == "3-2-501"
    assert normalise("查询 1111") == "查询 1111"
    assert normalise("5#楼") == "5#楼"


def test_lowercase_and_empty() -> None:
    assert normalise("Hello") == "hello"
    assert normalise("") == ""
    assert normalise("   ") == ""


# ------------------------------------------------------------------ matcher behaviours
def test_empty_message_is_low_confidence_help(matcher: Matcher) -> None:
    for text in ("", "   ", "😀", "。。。"):
        match = matcher.classify(text)
        assert match.intent == "help"
        assert match.confidence < 0.5


@pytest.mark.parametrize("text", ["满意", "不满意，没修好", "4分", "基本满意", "打5星", "差评"])
def test_short_ratings(matcher: Matcher, text: str) -> None:
    assert matcher.classify(text).intent == "rate"


@pytest.mark.parametrize(
    "text", ["我住3号楼2单元501", "我家在三栋502", "住址改成5#楼", "俺家住九栋一单元1203"]
)
def test_address_binding(matcher: Matcher, text: str) -> None:
    match = matcher.classify(text)
    assert match.intent == "bind"
    assert match.category is None


def test_address_with_a_problem_is_a_report(matcher: Matcher) -> None:
    match = matcher.classify("我住3号楼，楼道的灯坏了好几天了")
    assert (match.intent, match.category) == ("report", "lighting")


@pytest.mark.parametrize("text", ["查询 128", "128号进度咋样", "#57 怎么样了", "查 2045"])
def test_petition_number_queries(matcher: Matcher, text: str) -> None:
    assert matcher.classify(text).intent == "query"


@pytest.mark.parametrize("text", ["你好", "您好！", "在吗", "能干啥"])
def test_greetings_are_help(matcher: Matcher, text: str) -> None:
    assert matcher.classify(text).intent == "help"


def test_greeting_followed_by_problem_is_report(matcher: Matcher) -> None:
    match = matcher.classify("你好，我们单元的电梯又停了")
    assert (match.intent, match.category) == ("report", "elevator")


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("转人工", "human"),
        ("帮我联系一下网格员", "human"),
        ("催一下，快点派人", "urge"),
        ("不用来了，撤回吧", "cancel"),
        ("心愿：想要一副老花镜", "wish"),
        ("建议楼下多放几个长椅", "suggest"),
        ("开居住证明需要带什么材料", "consult"),
    ],
)
def test_other_intents(matcher: Matcher, text: str, intent: str) -> None:
    match = matcher.classify(text)
    assert match.intent == intent
    assert match.category is None


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("路等坏了", "lighting"),  # typo of 路灯
        ("樓下垃圾堆成山了", "sanitation"),  # traditional characters
        ("俺家暖气咋一点都不热", "utilities"),  # dialect
        ("电梯 又 坏 了 😡😡", "elevator"),  # voice-to-text spacing and emoji
        ("有人在楼顶私自加盖了一间房", "construction"),
        ("充电桩扫了码也充不进去", "charging"),
    ],
)
def test_report_categories(matcher: Matcher, text: str, category: str) -> None:
    match = matcher.classify(text)
    assert (match.intent, match.category) == ("report", category)


@pytest.mark.parametrize(
    ("text", "emergency", "category"),
    [
        ("快来人，电梯卡住了我被关在里面", "lift", "elevator"),
        ("厨房一股煤气味，好像漏气了", "gas", "utilities"),
        ("楼下车棚着火了！", "fire", "safety"),
        ("有个大爷在路边晕倒了", "injury", None),
    ],
)
def test_emergencies(matcher: Matcher, text: str, emergency: str, category: str | None) -> None:
    match = matcher.classify(text)
    assert match.intent == "report"
    assert match.emergency == emergency
    if category is not None:
        assert match.category == category
    assert match.confidence >= 0.9


@pytest.mark.parametrize("text", ["楼道堆纸箱，万一着火怎么办", "路面太滑容易摔倒", "燃气打不着火"])
def test_hypothetical_is_not_an_emergency(matcher: Matcher, text: str) -> None:
    assert matcher.classify(text).emergency is None


def test_two_problems_offer_the_other_as_alternative(matcher: Matcher) -> None:
    match = matcher.classify("楼道灯坏了，还有电梯也老是停")
    assert match.intent == "report"
    assert match.category in {"lighting", "elevator"}
    other = {"lighting", "elevator"} - {match.category}
    assert any(cat in other for _, cat, _ in match.alternatives)


def test_confidence_is_higher_for_clear_messages(matcher: Matcher) -> None:
    clear = matcher.classify("小区路灯坏了，晚上一片漆黑")
    vague = matcher.classify("那个东西")
    assert clear.confidence > vague.confidence


def test_alternatives_are_sorted_and_valid(matcher: Matcher) -> None:
    match = matcher.classify("希望有人来修一下路灯")
    confs = [c for _, _, c in match.alternatives]
    assert confs == sorted(confs, reverse=True)
    for intent, category, conf in match.alternatives:
        assert intent in INTENTS
        assert (category is None) == (intent != "report") or category in CATEGORIES
        assert 0.0 <= conf <= 1.0


def test_default_matcher_is_cached() -> None:
    assert default_matcher() is default_matcher()


def test_load_from_explicit_directory() -> None:
    catalogue = pathlib.Path(__file__).resolve().parents[2] / "catalogue"
    assert Matcher.load(catalogue).classify("满意").intent == "rate"


def test_heldout_file_is_well_formed() -> None:
    rows = [json.loads(line) for line in (DATA / "heldout.jsonl").read_text("utf-8").splitlines() if line]
    assert len(rows) >= 100
    for row in rows:
        assert row["intent"] in INTENTS
        assert (row["category"] in CATEGORIES) if row["intent"] == "report" else row["category"] is None


def test_speed(matcher: Matcher) -> None:
    texts = ["路灯坏了", "我住3号楼2单元501", "那个我跟你说啊我们楼的电梯又坏了物业也不管真是气死了"] * 100
    start = time.perf_counter()
    for text in texts:
        matcher.classify(text)
    assert (time.perf_counter() - start) / len(texts) < 0.005  # generous bound for slow CI machines


# ------------------------------------------------------------------ property test
def _valid(match: Match) -> bool:
    if match.intent not in INTENTS or not 0.0 <= match.confidence <= 1.0:
        return False
    if match.intent == "report":
        if match.category not in CATEGORIES:
            return False
    elif match.category is not None:
        return False
    return match.emergency is None or match.emergency in EMERGENCIES


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.one_of(
            st.characters(),
            st.sampled_from(
                list("路灯电梯坏了满意查询号楼单元栋住我家在催取消建议心愿你好吗转人工 0123456789#-！？😀")
            ),
        ),
        max_size=120,
    )
)
def test_classify_never_raises(text: str) -> None:
    assert _valid(default_matcher().classify(text))


# ------------------------------------------------------------------ salience, incidental words, emergency guards
@pytest.mark.parametrize(
    ("text", "category"),
    [
        # the party handling the problem (物业, 电话打不通) does not outweigh the object complained about
        ("3号楼的电梯停了两天 给物业打电话一直没人接", "elevator"),
        ("家里暖气不热 打供热公司电话也打不通", "utilities"),
        # a gate named as a place is not a complaint about the gate
        ("北门那块一下雨就积水 鞋都湿了", "road"),
        ("单元门口那段路的地砖翘起来了", "road"),
        # the affected people (老人, 孩子) are background, the broken light is the point
        ("家里老人孩子晚上都不敢出门 因为楼下的路灯坏了半个月", "lighting"),
        # consequences (臭味) follow the source
        ("电梯里有股尿骚味 按钮也坏了一个", "elevator"),
    ],
)
def test_object_outweighs_incidental_words(matcher: Matcher, text: str, category: str) -> None:
    match = matcher.classify(text)
    assert (match.intent, match.category) == ("report", category)


@pytest.mark.parametrize(
    "text",
    [
        "楼道里堆满纸箱 真着火了都跑不出去",
        "要是有人被困在电梯里 后果不堪设想",
        "电动车在楼道充电 爆炸了谁负责",
        "楼道灯坏了 我好几次都因为看不清台阶摔倒",
        "上周我骑车在那个井盖上摔倒了 膝盖到现在还疼",
        "燃气灶点火的时候火苗发红",
    ],
)
def test_hypothetical_or_past_events_are_not_emergencies(matcher: Matcher, text: str) -> None:
    match = matcher.classify(text)
    assert match.intent == "report"
    assert match.emergency is None


def test_past_injury_keeps_the_category_of_its_cause(matcher: Matcher) -> None:
    match = matcher.classify("前天晚上在小区门口的大坑那摔了一跤 路面一直没人修")
    assert (match.intent, match.category, match.emergency) == ("report", "road", None)


def test_lift_stuck_between_floors_is_an_emergency(matcher: Matcher) -> None:
    match = matcher.classify("电梯停在两层中间不动了 门打不开 我们还在里面")
    assert (match.intent, match.category, match.emergency) == ("report", "elevator", "lift")


def test_hypothetical_clause_is_damped(matcher: Matcher) -> None:
    match = matcher.classify("小区主路晚上一点照明都没有 如果有消防车要进来都看不见路")
    assert (match.intent, match.category) == ("report", "lighting")


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("请问老旧小区改造什么时候开工", "consult"),
        ("前两天报的那个漏水 有下文没", "query"),
        ("说好今天上午来修的 人呢", "urge"),
        ("灯已经亮了 单子可以关了", "cancel"),
    ],
)
def test_more_intent_cues(matcher: Matcher, text: str, intent: str) -> None:
    assert matcher.classify(text).intent == intent


# ------------------------------------------------------------------ regional forms, problem types, earlier petitions
def test_regional_forms_are_folded_before_matching(matcher: Matcher) -> None:
    # the folding happens inside the matcher: normalise() itself is unchanged for other callers
    assert normalise("冇水") == "冇水"
    folded, _ = matcher.scores("佢哋嘅車喺度")
    assert folded == "他们的车在这里" or folded.startswith("他们的车在")


@pytest.mark.parametrize(
    ("text", "intent", "category"),
    [
        ("今朝又冇电 成个屋企黑晒", "report", "utilities"),  # Cantonese 冇 = 没
        ("管委會收了管理費什麼都不做", "report", "property"),  # Taiwan 管委會 / 管理費 = 物业 / 物业费
        ("浴室的瓦斯熱水器點不起來", "report", "utilities"),  # Taiwan 瓦斯 = 燃气
        ("阿拉楼下垃圾呒没人收", "report", "sanitation"),  # Wu 呒没 = 没有
        ("唔使嚟啦 我自己整好咗", "cancel", None),  # Cantonese 唔使嚟 = 不用来
    ],
)
def test_regional_written_forms(matcher: Matcher, text: str, intent: str, category: str | None) -> None:
    match = matcher.classify(text)
    assert (match.intent, match.category) == (intent, category)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # words naming the kind of problem (调解, 独居) count without a complaint predicate nearby
        ("我们家和对门因为楼道放东西的事 一直有点小摩擦 想请社区出面调解一下", "dispute"),
        ("我们单元三楼有位独居的老爷爷 儿女都不在身边 平时也没人来往", "elderly"),
    ],
)
def test_problem_type_words_are_never_background(matcher: Matcher, text: str, category: str) -> None:
    match = matcher.classify(text)
    assert (match.intent, match.category) == ("report", category)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("我反映下水道堵的事已经十来天了，还是没人上门", "urge"),  # time elapsed since reporting
        ("已经报修三天了 到现在没动静", "urge"),  # "报修" after "已经" is not a new report
        ("说好昨天下午来看暖气的 一直等到天黑", "urge"),  # a promised visit did not happen
        ("我上个月提交的那个关于车棚漏雨的问题 目前进展如何", "query"),
        ("那个楼道堆杂物的事算了 他已经搬走了", "cancel"),
        ("维修工来过了 修是修了 第二天又坏了 不满意", "rate"),
        ("本人现居住于11号楼2单元302室", "bind"),
    ],
)
def test_earlier_petition_cues(matcher: Matcher, text: str, intent: str) -> None:
    assert matcher.classify(text).intent == intent


def test_exclamation_alone_is_not_an_emergency(matcher: Matcher) -> None:
    match = matcher.classify("救命 楼下广场舞天天放到十点")
    assert (match.intent, match.category, match.emergency) == ("report", "noise", None)
    match = matcher.classify("救命啊 我妈在楼梯上摔倒了起不来")
    assert match.emergency == "injury"


# ------------------------------------------------------------------ statistical complement (naive Bayes)
def _rules_only() -> Matcher:
    import tomllib

    from language.intents import DEFAULT_CATALOGUE

    with open(DEFAULT_CATALOGUE / "intents.toml", "rb") as fh:
        intents_doc = tomllib.load(fh)
    with open(DEFAULT_CATALOGUE / "categories.toml", "rb") as fh:
        categories_doc = tomllib.load(fh)
    return Matcher(intents_doc, categories_doc)  # no corpus: the rules alone


def test_default_matcher_has_a_trained_model(matcher: Matcher) -> None:
    counts = matcher.model_counts()
    assert counts is not None
    assert len(counts["intent"]) == len(INTENTS)
    assert len(counts["category"]) == len(CATEGORIES)


def test_matcher_without_corpus_is_rules_only() -> None:
    rules = _rules_only()
    assert rules.model_counts() is None
    assert rules.classify("路灯坏了").category == "lighting"


def test_model_covers_words_no_keyword_lists(matcher: Matcher) -> None:
    # no road keyword: the rules alone file these as other / greening
    for text in ("下大雨 西门口 水 老深了 根本过不去", "花园那条石子路陷下去一大块"):
        assert _rules_only().classify(text).category != "road"
        match = matcher.classify(text)
        assert (match.intent, match.category) == ("report", "road")


def test_emergencies_stay_rule_based(matcher: Matcher) -> None:
    rules = _rules_only()
    for text in ("电梯困人了 快来", "楼道里着火了", "闻到很大的煤气味"):
        assert matcher.classify(text).emergency == rules.classify(text).emergency is not None
    assert matcher.classify("电梯困人了 快来").intent == "report"


def test_stale_model_cache_is_ignored(tmp_path: pathlib.Path) -> None:
    import shutil

    from language.intents import DEFAULT_CATALOGUE
    from language.model import MODEL_CACHE

    for name in ("intents.toml", "categories.toml"):
        shutil.copy(DEFAULT_CATALOGUE / name, tmp_path / name)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    rows = [
        {"text": "门口那个水坑老深了", "intent": "report", "category": "road"},
        {"text": "楼下垃圾没人收", "intent": "report", "category": "sanitation"},
        {"text": "办事进度查一下", "intent": "query", "category": None},
    ]
    (corpus / "team.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")
    (corpus / MODEL_CACHE).write_text(json.dumps({"fingerprint": "stale", "intent": [], "category": []}), "utf-8")
    counts = Matcher.load(tmp_path).model_counts()
    assert counts is not None and counts["fingerprint"] != "stale"
    assert any("水坑" in grams for grams in counts["category"])


def test_model_cache_is_current() -> None:
    """catalogue/corpus/model.json must be rebuilt (python -m language.intents) after editing the corpus."""
    from language.intents import DEFAULT_CATALOGUE
    from language.model import MODEL_CACHE, corpus_key

    cache = DEFAULT_CATALOGUE / "corpus" / MODEL_CACHE
    with open(cache, encoding="utf-8") as fh:
        fingerprint = json.load(fh)["fingerprint"]
    assert fingerprint == default_matcher().model_fingerprint
    assert fingerprint.startswith(corpus_key(DEFAULT_CATALOGUE / "corpus"))


def test_two_problems_keep_an_alternative_with_the_model(matcher: Matcher) -> None:
    match = matcher.classify("路灯不亮 还有垃圾桶也满了")
    assert match.intent == "report"
    cats = {match.category, *(c for _, c, _ in match.alternatives)}
    assert {"lighting", "sanitation"} <= cats
