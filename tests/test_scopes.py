"""Scope lookups: codes, words, scope texts; the model's training, versioning and storage."""
from __future__ import annotations

import json
import random

import pytest


def test_code_lookup_gives_hierarchy_and_the_other_table():
    from archive.mining.scopes import lookup_code

    info = lookup_code("17.10.02")
    assert (info["name"], info["level"], info["table"]) == ("机加工", "minor", "2020")
    assert [p["code"] for p in info["parents"]] == ["17", "17.10"]
    assert info["children"] == []
    middle = lookup_code("17.10")
    assert {"17.10.01", "17.10.02"} <= {c["code"] for c in middle["children"]}
    old = lookup_code("03.04.01")["counterpart"]        # DOMAIN.md: same number, other meaning
    assert old["table"] == "legacy" and old["same_number"]["name"] == "原料油及原料脂肪的生产"
    assert old["same_number"]["same_meaning"] is False
    legacy = lookup_code("03.04.01", "legacy")
    assert legacy["table"] == "legacy" and legacy["counterpart"]["same_number"]["name"] == "油和油脂的制造"
    assert lookup_code("99.99.99") is None


def test_words_find_codes_by_name():
    from archive.mining.scopes import search_codes

    assert search_codes("机加工")[0]["code"] == "17.10.02"
    assert search_codes("软饮料")[0]["code"] == "03.10.07"
    assert search_codes("   ") == []


def test_scope_query_kinds():
    from archive.mining.scopes import scope_query

    code = scope_query("１７．１０")                       # full-width, as forms print it
    assert code["kind"] == "code" and code["matches"][0]["code"] == "17.10"
    assert [m["code"] for m in code["matches"][1:]] == sorted(m["code"] for m in code["matches"][1:])
    assert all(m["code"].startswith("17.10.") for m in code["matches"][1:])
    assert scope_query("机加工")["kind"] == "words"
    text = scope_query("饼干、糕点的生产", limit=5)
    assert text["kind"] == "text" and "03.07.02" in [m["code"] for m in text["matches"][:3]]
    for m in text["matches"]:
        assert {"code", "name", "level", "score"} <= set(m)
    assert scope_query("99.99")["matches"] == []
    json.dumps(code, ensure_ascii=False)


def test_clean_scope_removes_field_wording_and_what_forms_run_on_with():
    from archive.mining.scopes import clean_scope

    assert clean_scope("轴类、法兰类机械零部件的机械加工所涉及场所的相关环境管理活动") == "轴类、法兰类机械零部件的机械加工"
    assert clean_scope("与计算机应用软件的开发和运维服务相关的信息安全管理活动") == "计算机应用软件的开发和运维服务"
    assert clean_scope("糖果的生产管理体系运行情况项目 情况管理体系建立时间") == "糖果的生产"
    assert clean_scope("塑料包装制品的生产本次发证日期:2020年11月12日") == "塑料包装制品的生产"
    assert clean_scope(None) is None and clean_scope(" ") is None


def test_held_out_scope_texts_are_suggested_in_the_top_three():
    from archive.mining.scopes import ScopeModel
    from corpus.scopes import scope_pairs

    pairs = scope_pairs(seed=3, per_code=6)
    rng = random.Random(3)
    rng.shuffle(pairs)
    train, test = pairs[: len(pairs) // 2], pairs[len(pairs) // 2:]
    model = ScopeModel("2020", train)
    hits = sum(code in [m["code"] for m in model.suggest(text, 3)] for text, code in test)
    assert hits / len(test) >= 0.8
    empty = ScopeModel("2020", [])                          # the names alone still say something
    assert empty.suggest("软饮料的制造")[0]["code"] == "03.10.07"


def test_the_model_is_trained_once_per_archive_state_and_written_atomically(tmp_path):
    from archive.mining import scopes

    models = tmp_path / "models"
    pairs = [("数控机床零部件的机械加工", "17.10.02"), ("低压成套开关设备的生产", "19.09.02")]
    scopes._MODELS.clear()
    model, trained = scopes.ensure_model(models, pairs)
    assert trained and model.suggest("低压成套开关设备、配电箱的生产", 1)[0]["code"] == "19.09.02"
    files = sorted(p.name for p in models.iterdir())
    assert files == [scopes.model_path(models).with_suffix(".json").name, scopes.model_path(models).name]            # no temporary files left
    meta = json.loads(scopes.model_path(models).with_suffix(".json").read_text(encoding="utf-8"))
    assert meta["pairs"] == 2 and meta["fingerprint"] == model.fingerprint
    scopes._MODELS.clear()                                   # a new process: loaded from disk
    again, trained = scopes.ensure_model(models, list(reversed(pairs)))
    assert not trained and again.fingerprint == model.fingerprint
    _, trained = scopes.ensure_model(models, pairs + [("道路普通货物运输", "31.04.01")])
    assert trained                                           # the archive changed: retrained
    scopes.model_path(models).write_bytes(b"not a pickle")
    scopes._MODELS.clear()
    _, trained = scopes.ensure_model(models, pairs + [("道路普通货物运输", "31.04.01")])
    assert trained                                           # a damaged file is replaced


def test_the_archives_own_pairs_teach_the_model(sample_home, tmp_path):
    from archive.mining.scopes import archive_pairs, suggest_codes

    _, catalog, _ = sample_home
    pairs = archive_pairs(catalog)
    assert pairs and all(code.count(".") == 2 for _, code in pairs)
    text, code = pairs[0]
    suggested = suggest_codes(text, catalog, tmp_path / "models", limit=3)
    assert code in [m["code"] for m in suggested]
    assert suggested[0]["examples"]


@pytest.mark.parametrize("query", ["17.10.02", "机加工", "数控机床零部件的机械加工"])
def test_scope_command_prints_the_contract_json(sample_home, query):
    from click.testing import CliRunner

    from webui.cli import main

    home, _, _ = sample_home
    result = CliRunner().invoke(main, ["--home", str(home), "scope", query, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["query"] == query and data["matches"]
    assert all({"code", "name", "level", "score"} <= set(m) for m in data["matches"])
    scores = [m["score"] for m in data["matches"]]
    assert scores == sorted(scores, reverse=True)


# -- issue 22, item 3: meaning, not characters ------------------------------------------------------

# Scope texts of several activities and the code family each belongs to (a prefix, or several):
# the activity the text states (制造/生产/加工, 批发/零售/销售, 维修, 施工/安装, 设计/开发/运输 …)
# must agree with the code's, and the object decides within that activity.
SCOPE_FAMILIES = [
    ("汽车零部件制造", ("22.03",)),
    ("汽车零部件销售", ("29.03",)),
    ("汽车零部件的批发和零售", ("29.03",)),
    ("汽车维修", ("29.02",)),
    ("机械设备维修", ("18.08",)),
    ("机械设备安装", ("18.09",)),
    ("软件开发", ("33",)),
    ("软件销售", ("29.09.01", "29.16.01")),
    ("食品加工", ("03",)),
    ("食品销售", ("29.07", "29.13.01", "29.14", "29.20.01")),
    ("建筑施工", ("28",)),
    ("建筑设计", ("34.01",)),
    ("服装生产", ("04.05", "04.07")),
    ("服装销售", ("29.08.02", "29.19.01", "29.20.02")),
    ("家用电器制造", ("19.13",)),
    ("家用电器维修", ("29.22.02",)),
    ("计算机维修", ("19.17",)),
    ("船舶修理", ("20.02",)),
    ("道路货物运输", ("31.04",)),
    ("塑料制品生产", ("14.02",)),
    ("电线电缆的生产", ("19.11",)),
    ("金属材料批发", ("29.11.02",)),
    ("化工产品销售", ("29.11.05",)),
    ("医疗器械生产", ("23.06",)),
    ("医疗器械销售", ("29.19.04", "29.10", "29.08")),
    ("办公家具的设计、生产和销售", ("23.01",)),
    ("房地产开发", ("28.01",)),
]


def test_a_scope_texts_activity_picks_the_code_family():
    from archive.mining.scopes import ScopeModel

    model = ScopeModel("2020", [])
    wrong = [(text, model.suggest(text, 1)[0]["code"]) for text, family in SCOPE_FAMILIES
             if not model.suggest(text, 1)[0]["code"].startswith(family)]
    assert not wrong


def test_a_manufacturing_wording_ranks_manufacturing_codes_first():
    from archive.mining.scopes import ScopeModel, scope_query, search_codes

    codes = [m["code"] for m in scope_query("汽车零部件制造")["matches"]]
    assert codes[0] == "22.03.02"
    first_trade = min(codes.index(c) for c in codes if c.startswith("29."))
    assert all(codes.index(c) < first_trade for c in codes if c.startswith("22.03"))
    trade = [m["code"] for m in scope_query("汽车零部件销售")["matches"][:2]]
    assert sorted(trade) == ["29.03.01", "29.03.02"]
    assert search_codes("汽车配件销售")[0]["code"].startswith("29.03")      # a few words too
    # the archive's own pairs teach the object; the activity still has to agree
    model = ScopeModel("2020", [("汽车零部件的生产", "22.03.02"), ("汽车零部件的销售", "29.03.02")])
    assert model.suggest("汽车零部件销售", 1)[0]["code"] == "29.03.02"
    assert model.suggest("汽车零部件制造", 1)[0]["code"] == "22.03.02"


# (2020 code, legacy code) of the same activity, as the sample generator's industries pair them.
SAME_ACTIVITY = [
    ("17.10.02", "17.10.02"), ("18.01.05", "18.01.04"), ("17.09.00", "17.09.00"), ("18.02.06", "18.02.04"),
    ("19.09.02", "19.03.00"), ("19.11.02", "19.04.00"), ("19.14.00", "19.07.02"), ("19.01.01", "19.08.00"),
    ("14.02.04", "14.02.04"), ("14.02.02", "14.02.02"), ("03.07.02", "03.08.02"), ("03.07.01", "03.08.01"),
    ("03.08.02", "03.08.04"), ("03.08.03", "03.08.06"), ("03.10.07", "03.09.08"), ("33.03.01", "33.03.00"),
    ("28.07.01", "28.03.01"), ("28.08.05", "28.04.05"), ("28.03.01", "28.02.03"), ("32.13.02", "32.08.02"),
    ("31.04.01", "31.02.05"), ("31.12.00", "31.09.02"), ("12.03.00", "12.03.00"), ("12.05.02", "12.05.02"),
    ("23.01.01", "23.01.02"), ("22.03.02", "22.03.00"), ("29.11.04", "29.10.04"), ("04.05.02", "04.09.01"),
    ("04.05.03", "04.09.02"), ("39.01.00", "39.01.01"), ("39.02.01", "39.01.02"), ("23.06.00", "19.11.00"),
    ("19.01.02", "19.08.00"), ("33.02.04", "33.06.00"), ("29.09.02", "29.11.07"), ("28.02.00", "28.02.01"),
]   # left out, as no word of their names is shared: 19.04.00/19.10.00, 33.02.01/33.02.02, 35.16.01/39.01.03,
#     29.10.07/29.12.00 (其他批发: only the activity)


def test_a_counterpart_shares_meaning_not_characters():
    from archive.mining.scopes import lookup_code

    info = lookup_code("17.10.02")                          # 机加工
    eq = [e["code"] for e in info["counterpart"]["equivalents"]]
    assert eq[0] == "17.10.02" and "03.06.01" not in eq     # 一般机械加工, never 谷物加工
    assert all(c[:2] in ("17", "18") for c in eq)           # machining / metal-working codes
    assert info["counterpart"]["same_number"]["same_meaning"] is True
    back = lookup_code("17.10.02", "legacy")["counterpart"]["equivalents"]
    assert back[0]["code"] == "17.10.02"
    top1 = sum(lookup_code(new)["counterpart"]["equivalents"][0]["code"] == old for new, old in SAME_ACTIVITY)
    top3 = sum(old in [e["code"] for e in lookup_code(new)["counterpart"]["equivalents"]] for new, old in SAME_ACTIVITY)
    assert top1 >= 0.9 * len(SAME_ACTIVITY) and top3 >= 0.95 * len(SAME_ACTIVITY)


def test_the_other_table_without_the_code_has_no_same_number():
    from archive.mining.scopes import lookup_code

    middle = lookup_code("31.04")["counterpart"]            # the legacy table lists no middle classes
    assert middle["same_number"] is None
    assert {"31.04.01", "31.04.02"} == {c["code"] for c in middle["under_same_number"]}
    assert lookup_code("17.13.00")["counterpart"]["same_number"] is None
