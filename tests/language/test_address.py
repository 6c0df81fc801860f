"""Where residents say they live: building number variants, units, rooms."""

from __future__ import annotations

import json

import pytest

from language.address import cn_number, find_building, parse

BUILDINGS = [
    {"id": "b3", "community": "c", "name": "3号楼", "aliases": json.dumps(["老三栋"])},
    {"id": "b12", "community": "c", "name": "12号楼", "aliases": "[]"},
    {"id": "ba", "community": "c", "name": "幸福里A座", "aliases": "[]"},
]


@pytest.mark.parametrize("text", ["我住3号楼2单元501", "3栋", "三号楼", "3#楼", "3幢2单元", "三栋二单元502",
                                  "住在老三栋", "3-2-501"])
def test_building_three(text: str) -> None:
    assert find_building(text, BUILDINGS)["id"] == "b3"


def test_other_buildings() -> None:
    assert find_building("十二栋门口", BUILDINGS)["id"] == "b12"
    assert find_building("幸福里A座楼下", BUILDINGS)["id"] == "ba"
    assert find_building("路灯不亮", BUILDINGS) is None
    assert find_building("9号楼", BUILDINGS) is None


def test_unit_and_room() -> None:
    a = parse("我住3号楼2单元501")
    assert (a.building_no, a.unit, a.room) == (3, "2", "501")
    a = parse("三号楼二单元1102室")
    assert (a.building_no, a.unit, a.room) == (3, "2", "1102")


@pytest.mark.parametrize(("token", "value"), [("3", 3), ("三", 3), ("十", 10), ("十二", 12), ("二十", 20),
                                              ("二十三", 23), ("两", 2)])
def test_chinese_numbers(token: str, value: int) -> None:
    assert cn_number(token) == value
