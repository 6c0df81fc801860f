"""The statistics page as tables (what the page shows, and what each export holds) and as chart data
(the same numbers, drawn by static/desk-charts.js). Every header and label is a catalogue text."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from language.texts import has, t

RATES = ("response_rate", "completion_rate", "on_time_rate", "satisfaction_rate")
RATINGS = ("satisfied", "basic", "unsatisfied", "unrated")
DASH = "—"


@dataclass
class Table:
    name: str                                  # the export's ?table=
    columns: list[str]                         # headers, as people read them
    rows: list[list[str | int]] = field(default_factory=list)


@dataclass
class Names:
    """What people read for a grid id, a worker's userid, a category code."""
    grids: dict[str, str]
    workers: dict[str, str]

    def grid(self, gid: str) -> str:
        return self.grids.get(gid, t("desk_numbers.no_grid") if gid == "-" else gid)

    def worker(self, userid: str) -> str:
        return self.workers.get(userid, userid)

    @staticmethod
    def category(code: str) -> str:
        return t(f"category.{code}") if has(f"category.{code}") else code


def pct(rate: float | None) -> str:
    return DASH if rate is None else f"{rate * 100:.1f}%"


def hours(value: float | None) -> str:
    return DASH if value is None else f"{value:.2f}"


def _share(n: int, total: int) -> str:
    return pct(n / total) if total else DASH


def _h(key: str) -> str:
    return t(f"desk_numbers.col.{key}")


def summary_table(n: dict) -> Table:
    c = n["community"]
    rows: list[list[str | int]] = [
        [_h("received"), c["received"]], [_h("open"), c["open"]],
        *[[_h(rate), pct(c[rate])] for rate in RATES],
        [_h("avg_sign_for_hours"), hours(c["avg_sign_for_hours"])],
        [_h("avg_resolution_hours"), hours(c["avg_resolution_hours"])],
        [_h("reopened"), c["reopened"]],
        [_h("overdue_now"), n["overdue_now"]], [_h("overdue_in_period"), n["overdue_in_period"]]]
    return Table("summary", [_h("measure"), _h("value")], rows)


def trend_table(n: dict) -> Table:
    return Table("trend", [_h("week"), _h("received"), _h("done_of_week")],
                 [[week, received, done] for week, received, done in n["weeks"]])


def _rates_row(label: str, r: dict) -> list[str | int]:
    return [label, r["received"], *[pct(r[rate]) for rate in RATES], hours(r["avg_sign_for_hours"]),
            hours(r["avg_resolution_hours"]), r["reopened"], r["overdue"]]


def _rates_columns(first: str) -> list[str]:
    return [_h(first), _h("received"), *[_h(rate) for rate in RATES], _h("avg_sign_for_hours"),
            _h("avg_resolution_hours"), _h("reopened"), _h("overdue_in_period")]


def grids_table(n: dict, names: Names) -> Table:
    return Table("grids", _rates_columns("grid"),
                 [_rates_row(names.grid(g), r) for g, r in n["grids"].items()])


def workers_table(n: dict, names: Names) -> Table:
    rows = sorted(n["workers"].items(), key=lambda kv: names.worker(kv[0]))
    return Table("workers", _rates_columns("worker"), [_rates_row(names.worker(w), r) for w, r in rows])


def categories_table(n: dict) -> Table:
    total = n["community"]["received"]
    return Table("categories", [_h("category"), _h("received"), _h("share")],
                 [[Names.category(c), k, _share(k, total)] for c, k in n["categories"]])


def satisfaction_table(n: dict) -> Table:
    s = n["satisfaction"]
    total = sum(s.values())
    return Table("satisfaction", [_h("rating"), _h("count"), _h("share")],
                 [[t(f"desk_numbers.rating.{k}"), s[k], _share(s[k], total)] for k in RATINGS])


def tables(n: dict, names: Names) -> dict[str, Table]:
    made = [summary_table(n), trend_table(n), grids_table(n, names), workers_table(n, names),
            categories_table(n), satisfaction_table(n)]
    return {table.name: table for table in made}


def _percent(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 1)


def _rates_chart(groups: dict[str, dict], label: object) -> dict:
    keys = list(groups)
    return {"kind": "bars", "labels": [label(k) for k in keys],  # type: ignore[operator]
            "series": [{"name": _h(rate), "values": [_percent(groups[k][rate]) for k in keys]} for rate in RATES],
            "unit": "%", "max": 100}


def charts(n: dict, names: Names) -> dict[str, dict]:
    """Chart data by the name of the table each chart draws."""
    weeks = n["weeks"]
    return {
        "trend": {"kind": "lines", "labels": [w[0][5:] for w in weeks],
                  "series": [{"name": _h("received"), "values": [w[1] for w in weeks]},
                             {"name": _h("done_of_week"), "values": [w[2] for w in weeks]}]},
        "grids": _rates_chart(n["grids"], names.grid),
        "workers": _rates_chart(n["workers"], names.worker),
        "categories": {"kind": "bars", "labels": [Names.category(c) for c, _ in n["categories"]],
                       "series": [{"name": _h("received"), "values": [k for _, k in n["categories"]]}]},
        "satisfaction": {"kind": "pie", "labels": [t(f"desk_numbers.rating.{k}") for k in RATINGS],
                         "series": [{"name": _h("count"), "values": [n["satisfaction"][k] for k in RATINGS]}]},
    }


def as_csv(table: Table) -> bytes:
    """The table as CSV in UTF-8 with a byte order mark, so Excel reads the Chinese right."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.columns)
    writer.writerows(table.rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")
