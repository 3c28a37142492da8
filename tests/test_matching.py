"""匹配度 per code, per-code mining, and the mining commands."""
from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="module")
def cases(sample_home):
    from archive.mining.cases import build_cases

    return build_cases(sample_home[1])


def test_matching_follows_the_stated_formula(sample_home, cases):
    from archive.mining.matching import Weights, matching_report

    _, catalog, _ = sample_home
    w = Weights()
    report = matching_report(catalog, w, cases=cases)
    assert report["codes"] and report["formula"].startswith("X = ")
    for r in report["codes"]:
        x = sum(a["B1"] / a["C1"] ** w.alpha for a in r["auditors"])
        assert r["X"] == pytest.approx(x, abs=1e-3)
        if r["A2"]:
            y = (r["A2"] * (1 + w.cooperation_weight * (1 - r["B2"])) * (1 + w.cluster_weight * r["D"])
                 * (1 + w.policy_weight * r["E"]) / r["C2"] ** w.integration)
            assert r["Y"] == pytest.approx(y, rel=1e-3)
            assert r["P"] == pytest.approx(w.capacity * r["X"] / r["Y"], rel=1e-3)
            assert r["flagged"] == (r["P"] < w.threshold)
        else:
            assert r["P"] is None and not r["flagged"]
    ps = [r["P"] for r in report["codes"] if r["P"] is not None]
    assert ps == sorted(ps)


def test_managers_weights_change_the_result_and_are_stored(sample_home, cases, tmp_path):
    from archive.mining.matching import Weights, load_weights, matching_report, save_weights

    _, catalog, _ = sample_home
    base = matching_report(catalog, Weights(), cases=cases)
    row = next(r for r in base["codes"] if r["P"] is not None)
    name = row["auditors"][0]["name"]
    w = Weights().with_updates({"availability": {name: 0.1}, "policy": {row["code"]: 1.0}})
    changed = next(r for r in matching_report(catalog, w, [row["code"]], cases=cases)["codes"])
    assert changed["X"] < row["X"] and changed["Y"] > row["Y"] and changed["P"] < row["P"]
    save_weights(tmp_path, w)
    assert load_weights(tmp_path) == w and load_weights(tmp_path / "none") == Weights()
    with pytest.raises(ValueError):
        Weights().with_updates({"availability": {name: 1.5}})


def test_clustering_of_demand():
    from datetime import date

    from archive.mining.matching import clustering

    assert clustering([date(2024, 5, 1), date(2023, 5, 9), date(2022, 5, 30)]) == 1.0
    assert clustering([date(2024, m, 1) for m in range(1, 13)]) == 0.0
    assert clustering([date(2024, 1, 1)]) == 0.0


def test_code_profile_names_organisations_auditors_and_frequent_nonconformities(sample, sample_home, cases):
    from archive.mining.percode import code_profile

    _, truth = sample
    _, catalog, _ = sample_home
    code = max({c for cs in cases for c in cs.codes}, key=lambda c: sum(c in cs.codes for cs in cases))
    p = code_profile(catalog, code)
    orgs = {o["credit_code"] for o in p["organisations"]}
    assert orgs == {cs.org["credit_code"] for cs in cases if code in cs.codes and cs.code_table == "2020"}
    team = {m["name"] for cs in cases if code in cs.codes and cs.code_table == "2020"
            for a in cs.audits for m in a.team}
    assert {a["name"] for a in p["auditors"]} == team
    assert p["first_case"]["start"] == min(cs.start for cs in cases if code in cs.codes and cs.code_table == "2020")
    counts = [n["count"] for n in p["nonconformities"]]
    assert counts == sorted(counts, reverse=True)
    for n in p["nonconformities"]:
        assert n["examples"] and n["clause"]
    prefix = code_profile(catalog, code[:2])
    assert len(prefix["cases"]) >= len(p["cases"])
    json.dumps(p, ensure_ascii=False)


def test_case_and_matching_commands(sample, sample_home, tmp_path):
    from click.testing import CliRunner

    from webui.cli import main

    home, _, _ = sample_home
    _, truth = sample
    cert = truth["certificates"][0]["cert_no"]
    run = CliRunner().invoke
    r = run(main, ["--home", str(home), "case", cert, "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["query"] == cert and cert in data["cases"][0]["case"]["cert_nos"]
    assert "summary" in data["cases"][0] and "key_control_points" in data["cases"][0]
    assert run(main, ["--home", str(home), "case", "没有这个组织"]).exit_code == 1
    r = run(main, ["--home", str(home), "case", cert])
    assert r.exit_code == 0 and "·" in r.output
    # matching: weights for one run, then saved into a copy of the home
    r = run(main, ["--home", str(home), "matching", "--set", "threshold=0", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["flagged"] == []
    assert run(main, ["--home", str(home), "matching", "--set", "nonsense=1"]).exit_code == 2
    other = tmp_path / "home"
    other.mkdir()
    (other / "catalog.db").write_bytes(b"")
    from mining_support import copy_catalog

    copy_catalog(sample_home[1], other / "catalog.db").close()
    r = run(main, ["--home", str(other), "matching", "--set", "alpha=0.9", "--save"])
    assert r.exit_code == 0, r.output
    assert json.loads((other / "matching.json").read_text(encoding="utf-8"))["alpha"] == 0.9
    r = run(main, ["--home", str(other), "code", "17", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["code"] == "17"
