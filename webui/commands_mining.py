"""Mining commands of the `auditarchive` command line: `case`, `scope`, `code`, `matching`,
`export training`.

Each is a few lines over `archive.mining`; registered on the main group at the end of webui/cli.py.
"""
from __future__ import annotations

import json
from pathlib import Path

import click

from webui.cli import Context, _dump, output_options


def _catalog_if_any(obj: Context):
    """The catalogue when the data home has one (scope lookups also work without)."""
    return obj.catalog if obj.home.catalog_path.exists() else None


@click.command()
@click.argument("ref")
@click.option("--sentences", type=click.IntRange(0, 20), default=5, show_default=True,
              help="Summary sentences per case (0: the timeline only).")
@output_options
@click.pass_obj
def case(obj: Context, ref: str, sentences: int, as_json: bool) -> None:
    """The cases (certification project × cycle) of an organisation, certificate number,
    credit code or case id: audits in order, records missing, summary and key control points."""
    from archive.mining.cases import find_cases, required_records
    from archive.mining.summary import case_summary

    found = find_cases(obj.catalog, ref)
    if not found:
        raise click.ClickException(f"no case matches {ref!r} (organisation, certificate number, "
                                   f"credit code or case id)")
    results = [case_summary(obj.catalog, c, n=sentences) if sentences else {"case": c.to_dict()}
               for c in found]
    if as_json:
        click.echo(_dump({"query": ref, "cases": results}))
        return
    names = required_records().get("names", {})
    for r in results:
        c = r["case"]
        click.echo(f"{c['id']}  {c['org']['name']}  {'+'.join(c['fields'])}  第{c['cycle']}周期  "
                   f"{c['start'] or '?'} → {c['end'] or '?'}  {'齐全' if c['complete'] else '不齐全'}")
        click.echo(f"  范围: {c['scope'] or '-'}   代码: {' '.join(c['codes']) or '-'} ({c['code_table'] or '-'})")
        click.echo(f"  证书: {', '.join(c['cert_nos']) or '-'}")
        for a in c["audits"]:
            leader = next((m["name"] for m in a["team"] if m["role"] == "leader"), "-")
            click.echo(f"  {a['start'] or '?':10} {a['stage_name'] or a['stage'] or '?':6} 组长 {leader}  "
                       f"{len(a['documents'])} 份记录  {len([f for f in a['findings'] if f['kind'] == 'nonconformity'])} 项不符合"
                       + (f"  缺: {'、'.join(names.get(t, t) for t in a['missing'])}" if a["missing"] else ""))
        for s in r.get("summary", []):
            click.echo(f"  · {s['sentence']}")
        if r.get("key_control_points"):
            click.echo("  关键控制点: " + "、".join(p["point"] for p in r["key_control_points"][:8]))
        click.echo("")


@click.command()
@click.argument("query", nargs=-1, required=True)
@click.option("--table", "version", type=click.Choice(["2020", "legacy"]), default=None,
              help="Code table version (default: 2020; a code only in the legacy table is read there).")
@click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True)
@output_options
@click.pass_obj
def scope(obj: Context, query: tuple[str, ...], version: str | None, limit: int, as_json: bool) -> None:
    """Code lookup: a code → its name and hierarchy; words → matching codes; a scope text
    (认证范围) → suggested codes, learned from the archive's own scopes."""
    from archive.mining.scopes import scope_query

    result = scope_query(" ".join(query), _catalog_if_any(obj), obj.home.models_dir, limit, version)
    if as_json:
        click.echo(_dump(result))
        return
    info = result.get("lookup")
    if info:
        click.echo(" > ".join(f"{p['code']} {p['name'] or ''}" for p in info["parents"] + [info]))
        same = info["counterpart"]["same_number"]
        if same:
            click.echo(f"  {same['table']} 表同号: {same['code']} {same['name'] or ''}"
                       + ("" if same["same_meaning"] else "  (含义不同)"))
        for e in info["counterpart"]["equivalents"]:
            click.echo(f"  {e['table']} 表相近: {e['code']} {e['name']} ({e['score']:.2f})")
    if not result["matches"]:
        click.echo("no matching code")
    for m in result["matches"]:
        click.echo(f"{m['score']:6.3f}  {m['code']:9} {m['level']:6} {m['name']}")


@click.command(name="code")
@click.argument("code")
@click.option("--table", "version", type=click.Choice(["2020", "legacy"]), default="2020", show_default=True)
@output_options
@click.pass_obj
def code_cmd(obj: Context, code: str, version: str, as_json: bool) -> None:
    """One specialty code in the archive: organisations, audits, auditors, frequent
    nonconformities with examples, key control points (a prefix covers the codes below it)."""
    from archive.mining.percode import code_profile

    p = code_profile(obj.catalog, code.strip(), version)
    if as_json:
        click.echo(_dump(p))
        return
    info = p["info"] or {}
    click.echo(f"{code} {info.get('name') or ''}: {len(p['organisations'])} 个组织, {len(p['cases'])} 个项目, "
               f"{len(p['audits'])} 次审核" + (f"; 首个项目 {p['first_case']['org']} {p['first_case']['start']}"
                                             if p["first_case"] else ""))
    for a in p["auditors"][:15]:
        click.echo(f"  审核员 {a['name']} {a['reg_no'] or ''}: {a['audits']} 次 {a['roles']}")
    for n in p["nonconformities"]:
        click.echo(f"  {n['field'] or '?'} {n['clause']} {n['title'] or ''}: {n['count']} 项"
                   + (f" — {n['examples'][0]}" if n["examples"] else ""))
    if p["key_control_points"]:
        click.echo("  关键控制点: " + "、".join(k["point"] for k in p["key_control_points"]))


def _parse_setting(text: str) -> tuple[str, object]:
    """`alpha=0.6` or `availability.张三=0.5`, `cooperation.<org id>=0.4`, `policy.03.04.01=0.3`."""
    key, sep, value = text.partition("=")
    if not sep:
        raise click.BadParameter(f"{text!r}: expected KEY=VALUE")
    try:
        number = float(value)
    except ValueError:
        raise click.BadParameter(f"{text!r}: the value must be a number") from None
    head, dot, rest = key.partition(".")
    if dot and head in ("availability", "cooperation", "policy"):
        return head, {rest: number}
    return key, number


@click.command()
@click.option("--code", "codes", multiple=True, help="Only these codes (or prefixes); repeatable.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="A weight for this run: alpha=0.6, threshold=0.7, availability.<auditor>=0.5, "
                   "cooperation.<organisation id>=0.4, policy.<code>=0.3; repeatable.")
@click.option("--weights", "weights_file", type=click.Path(exists=True, dir_okay=False),
              help="Weights from a JSON file (the shape `--json` prints under \"weights\").")
@click.option("--save", is_flag=True, help="Store the resulting weights in the data home for everyone.")
@click.option("--table", "version", type=click.Choice(["2020", "legacy"]), default="2020", show_default=True)
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Count projects in the window before this day (default: the latest audit).")
@output_options
@click.pass_obj
def matching(obj: Context, codes: tuple[str, ...], settings: tuple[str, ...], weights_file: str | None,
             save: bool, version: str, as_of, as_json: bool) -> None:
    """匹配度 per code: auditor sufficiency X, project difficulty Y, P = k·X/Y, flagged below
    the threshold (formula and weights: README, archive/mining/matching.py)."""
    from archive.mining.matching import Weights, load_weights, matching_report, save_weights

    weights = load_weights(obj.home.root)
    try:
        if weights_file:
            weights = Weights.from_dict(json.loads(Path(weights_file).read_text(encoding="utf-8")))
        for s in settings:
            key, value = _parse_setting(s)
            current = getattr(weights, key, None) if key in Weights.__dataclass_fields__ else None
            if key not in Weights.__dataclass_fields__:
                raise click.BadParameter(f"unknown weight {key!r}")
            weights = weights.with_updates({key: {**current, **value} if isinstance(value, dict) else value})
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if save:
        path = save_weights(obj.home.root, weights)
        click.echo(f"weights saved to {path}", err=True)
    report = matching_report(obj.catalog, weights, list(codes) or None, version,
                             as_of.date() if as_of else None)
    if as_json:
        click.echo(_dump(report))
        return
    click.echo(report["formula"])
    click.echo(f"projects with an audit {report['since']} … {report['as_of']}; threshold {weights.threshold}")
    click.echo(f"{'code':9} {'X':>7} {'Y':>7} {'P':>7}  A1 A2  name")
    for r in report["codes"]:
        p = f"{r['P']:7.2f}" if r["P"] is not None else "      -"
        click.echo(f"{r['code']:9} {r['X']:7.2f} {r['Y']:7.2f} {p}{' !' if r['flagged'] else '  '}"
                   f"{r['A1']:3} {r['A2']:2}  {r['name'] or ''}")


@click.group()
def export() -> None:
    """Exports for people: training packs (培训资料)."""


@export.command(name="training")
@click.option("--code", help="Specialty code (17, 17.10 or 17.10.02; a prefix covers the codes below it).")
@click.option("--field", "field_", help="Certification field: QMS, EMS, … (or 质量管理体系).")
@click.option("--format", "fmt", type=click.Choice(["docx", "xlsx", "md"]), default=None,
              help="Default: the suffix of --out, else docx.")
@click.option("--anonymise", is_flag=True, help="Replace organisations, codes, certificates, addresses and people (客户保密).")
@click.option("--table", "version", type=click.Choice(["2020", "legacy"]), default="2020", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="The file to write (atomically).")
@output_options
@click.pass_obj
def export_training(obj: Context, code: str | None, field_: str | None, fmt: str | None, anonymise: bool,
                    version: str, out: str, as_json: bool) -> None:
    """A training pack for a code or a field: hierarchy and description, figures, processes, key
    control points, audit points and methods, laws and standards, nonconformities, cases, auditors."""
    from archive.mining.training import TrainingError, export_pack

    if bool(code) == bool(field_):
        raise click.UsageError("give --code C or --field F (one of them)")
    try:
        result = export_pack(obj.catalog, Path(out), code=code, field=field_, fmt=fmt, anonymise=anonymise,
                             version=version)
    except TrainingError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(_dump(result))
        return
    f = result["figures"]
    click.echo(f"{result['path']}: {result['title']} ({result['format']}, {result['bytes']} bytes"
               f"{', 脱敏' if anonymise else ''}) — {f['organisations']} 个组织, {f['audits']} 次审核, "
               f"{f['nonconformities']} 项不符合")


def register(group: click.Group) -> None:
    """Add the mining commands to the `auditarchive` group."""
    for command in (case, scope, code_cmd, matching, export):
        group.add_command(command)


__all__ = ["register", "case", "scope", "code_cmd", "matching", "export"]
