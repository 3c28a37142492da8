"""Cases: grouping into certification projects and cycles, and completeness, against the truth."""
from __future__ import annotations

import json

import pytest
from mining_support import clusters, copy_catalog, delete_document, truth_by_doc


@pytest.fixture(scope="module")
def built(sample, sample_home):
    from archive.mining.cases import build_cases

    root, truth = sample
    _, catalog, _ = sample_home
    return build_cases(catalog), truth_by_doc(catalog, root, truth), catalog, truth


def _placed(cases):
    audit_of, case_of = {}, {}
    for c in cases:
        for i, a in enumerate(c.audits):
            for d in a.documents:
                audit_of[d["id"]] = (c.id, i)
                case_of[d["id"]] = c.id
    return audit_of, case_of


def test_every_audit_of_every_organisation_is_one_audit_of_the_right_case(built):
    cases, truth_of, _, truth = built
    audit_of, case_of = _placed(cases)
    assert set(truth_of) <= set(audit_of)            # every catalogued record is placed
    want_audits = clusters({d: a["id"] for d, a in truth_of.items()})
    want_cases = clusters({d: (a["org_id"], tuple(a["fields"]), a["cycle"]) for d, a in truth_of.items()})
    assert clusters({d: audit_of[d] for d in truth_of}) == want_audits
    assert clusters({d: case_of[d] for d in truth_of}) == want_cases
    assert len(cases) == len({(a["org_id"], tuple(a["fields"]), a["cycle"]) for a in truth["audits"]})


def test_audits_carry_stage_dates_team_and_order(built):
    cases, truth_of, _, _ = built
    for c in cases:
        starts = [a.start for a in c.audits if a.start]
        assert starts == sorted(starts)
        for a in c.audits:
            want = {truth_of[d["id"]]["id"] for d in a.documents if d["id"] in truth_of}
            assert len(want) == 1
            t = next(truth_of[d["id"]] for d in a.documents if d["id"] in truth_of)
            assert (a.stage, a.start, a.end) == (t["stage"], t["start"], t["end"])
            assert {m["name"] for m in a.team} <= {m["name"] for m in t["team"]}
            assert any(m["role"] == "leader" for m in a.team)
        assert c.audits[0].stage in ("stage1", "recertification")
        assert c.fields == next(truth_of[d]["fields"] for d in c.doc_ids() if d in truth_of)


def test_missing_records_are_those_the_generator_left_out(built):
    cases, truth_of, _, _ = built
    for c in cases:
        for a in c.audits:
            t = truth_of[a.documents[0]["id"]]
            assert sorted(a.missing) == sorted(t["missing"]), (c.id, a.stage, a.start)
        assert c.complete == (not c.missing)


def test_removed_records_are_found_missing(built, tmp_path):
    from archive.mining.cases import build_cases

    cases, _, catalog, _ = built
    copy = copy_catalog(catalog, tmp_path / "home" / "catalog.db")
    try:
        removed = []                  # every record of one type from one audit per (stage, type)
        for c in cases:
            for a in c.audits:
                for want in ("audit_report", "certificate", "application"):
                    docs = [d["id"] for d in a.documents if d["doc_type"] == want]
                    others = len(a.documents) - len(docs)       # an audit must leave a trace
                    if docs and others and (a.stage, want) not in {(s, t) for s, t, *_ in removed}:
                        removed.append((a.stage, want, c.org["id"], a.start, docs))
        assert {r[1] for r in removed} == {"audit_report", "certificate", "application"}
        for *_, docs in removed:
            for doc_id in docs:
                delete_document(copy, doc_id)
        after = build_cases(copy)
        missing = {(c.org["id"], a.start, m) for c in after for a in c.audits for m in a.missing}
        for stage, doc_type, org, start, _ in removed:
            assert (org, start, doc_type) in missing, (stage, doc_type)
    finally:
        copy.close()


def test_the_rules_are_data(built):
    from archive.mining.cases import build_cases, required_records

    _, _, catalog, _ = built
    rules = json.loads(json.dumps(required_records()))
    rules["required"]["stage2"].append("attendance")
    cases = build_cases(catalog, rules=rules)
    for c in cases:
        for a in c.audits:
            present = {d["doc_type"] for d in a.documents}
            assert ("attendance" in a.missing) == (a.stage == "stage2" and "attendance" not in present)


def test_find_cases_by_certificate_organisation_credit_code_and_id(built):
    from archive.mining.cases import find_cases, get_case

    cases, _, catalog, truth = built
    cert = truth["certificates"][0]
    org = next(o for o in truth["orgs"] if o["id"] == cert["org_id"])
    by_cert = find_cases(catalog, cert["cert_no"].lower())
    assert by_cert and cert["cert_no"] in by_cert[0].cert_nos
    assert by_cert[0].cycle == cert["cycle"]
    by_name = find_cases(catalog, org["short_name"])
    assert {c.id for c in by_name} == {c.id for c in cases if c.org["credit_code"] == org["credit_code"]}
    assert [c.id for c in find_cases(catalog, org["credit_code"])] == [c.id for c in by_name]
    one = get_case(catalog, by_cert[0].id)
    assert one is not None and one.to_dict() == by_cert[0].to_dict()
    assert find_cases(catalog, "没有这个组织") == [] and get_case(catalog, "00000000-QMS-1") is None
    json.dumps(one.to_dict(), ensure_ascii=False)


def test_cycles_are_linked_and_certificates_sit_with_their_issuing_audit(built):
    cases, _, _, truth = built
    by_id = {c.id: c for c in cases}
    for c in cases:
        if c.next:
            assert by_id[c.next].previous == c.id and by_id[c.next].cycle == c.cycle + 1
        for a in c.audits:
            if a.certificates:
                assert a.stage in ("stage2", "recertification")
    issued = {n for c in cases for a in c.audits for crt in a.certificates for n in crt["cert_nos"]}
    assert issued <= {crt["cert_no"] for crt in truth["certificates"]}
