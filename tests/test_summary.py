"""Case summaries: sentences from the case's own reports; key control points where stated."""
from __future__ import annotations

import pytest

from archive.text import compact, normalise


@pytest.fixture(scope="module")
def summaries(sample, sample_home):
    from archive.mining.cases import build_cases
    from archive.mining.summary import case_summary, report_text

    _, catalog, _ = sample_home
    out = []
    for case in build_cases(catalog):
        out.append((case, case_summary(catalog, case), report_text(catalog, case)))
    return out


def test_summary_sentences_come_from_the_cases_own_reports(summaries):
    with_reports = [s for s in summaries if s[2]]
    assert with_reports
    for case, result, own in with_reports:
        assert result["summary"], case.id
        others = [o for c, _, o in summaries if c.org["id"] != case.org["id"]]
        for item in result["summary"]:
            text = compact(item["sentence"])
            assert text in own
            assert item["doc_id"] in case.doc_ids()
        assert len({s["sentence"] for s in result["summary"]}) == len(result["summary"])
        # the form's boilerplate (printed in every organisation's report) is not a summary
        assert sum(compact(s["sentence"]) in o for s in result["summary"] for o in others) == 0


def test_key_control_points_are_found_where_reports_state_them(sample, summaries):
    from corpus.world import simulate

    _, truth = sample
    world = simulate(truth["seed"], len(truth["orgs"]))
    kcps = {o.credit_code: o.profile.kcps for o in world.orgs}
    checked = 0
    for case, result, own in summaries:
        if not own or case.org["credit_code"] not in kcps:
            continue
        found = {p["point"] for p in result["key_control_points"]}
        want = {compact(normalise(k)) for k in kcps[case.org["credit_code"]]}
        assert want <= {compact(f) for f in found}, case.id
        checked += 1
    assert checked >= 5


def test_points_from_prose_and_lists():
    from archive.mining.summary import audit_points, key_control_points, report_lines, sentences

    pages = ["七、关键控制点\n(1)首件检验:控制有效\n(2)烘烤温度和时间(CCP1):抽查记录完整\n八、适用的法律法规\n",
             "数控车间的不合格品已隔离。该过程的关键控制点为热处理外协质量控制,组织编制了相应的作业指导书。\n"
             "审核组应熟悉相关标准要求;关键控制点:注塑工艺参数、原料干燥温度。\n"
             "二阶段审核中需重点关注关键过程的控制及合规义务的履行情况。"]
    points = {p.point: p for p in key_control_points({"d1": pages})}
    assert set(points) == {"首件检验", "烘烤温度和时间(CCP1)", "热处理外协质量控制", "注塑工艺参数", "原料干燥温度"}
    assert points["首件检验"].notes == ["控制有效"]
    assert [p.point for p in audit_points({"d1": pages})] == ["关键过程的控制及合规义务的履行情况"]
    wrapped = ["组织于6月实施了内部审核,覆盖了所有部门和适用的标准条款,开具不符合项5项,均已采取纠正\n措施并验证关闭。\n"
               "华正联合认证有限公司 HZ/QR-11\n第1页", "短行\n华正联合认证有限公司 HZ/QR-11\n第2页"]
    assert report_lines(wrapped) == ["组织于6月实施了内部审核,覆盖了所有部门和适用的标准条款,开具不符合项5项,均已采取纠正措施并验证关闭。", "短行"]
    assert sentences(wrapped) == [report_lines(wrapped)[0]]
