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
    assert files == ["scopes-2020-v1.json", "scopes-2020-v1.pickle"]            # no temporary files left
    meta = json.loads((models / "scopes-2020-v1.json").read_text(encoding="utf-8"))
    assert meta["pairs"] == 2 and meta["fingerprint"] == model.fingerprint
    scopes._MODELS.clear()                                   # a new process: loaded from disk
    again, trained = scopes.ensure_model(models, list(reversed(pairs)))
    assert not trained and again.fingerprint == model.fingerprint
    _, trained = scopes.ensure_model(models, pairs + [("道路普通货物运输", "31.04.01")])
    assert trained                                           # the archive changed: retrained
    (models / "scopes-2020-v1.pickle").write_bytes(b"not a pickle")
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
    data = json.loads(result.output)
    assert data["query"] == query and data["matches"]
    assert all({"code", "name", "level", "score"} <= set(m) for m in data["matches"])
    scores = [m["score"] for m in data["matches"]]
    assert scores == sorted(scores, reverse=True)
