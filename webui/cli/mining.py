"""Mining commands of the `auditarchive` command line: `case`, `scope`, `code`, `matching`,
`export training`.

Each is a few lines over `archive.mining`.
"""
from __future__ import annotations

import json
from pathlib import Path

import click

from archive.messages import WEIGHT_NAMES, message

from .common import CliError, CliUsageError, Command, Context, Group, _dump, main, output_options


def _catalog_if_any(obj: Context):
    """The catalogue when the data home has one (scope lookups also work without)."""
    return obj.catalog if obj.home.catalog_path.exists() else None


@click.command(cls=Command)
@click.argument("ref")
@click.option("--sentences", type=click.IntRange(0, 20), default=5,
              help="每个案例的摘要句数（默认 5；0：只显示时间线）。")
@output_options
@click.pass_obj
def case(obj: Context, ref: str, sentences: int, as_json: bool) -> None:
    """查看案例（认证项目 × 认证周期）。

    REF 是组织名称、证书号、统一社会信用代码或案例 ID；依次列出各次审核、缺少的记录、摘要和关键控制点。"""
    from archive.mining.cases import find_cases, required_records
    from archive.mining.summary import case_summary

    found = find_cases(obj.catalog, ref)
    if not found:
        raise CliError(message("cli.no_case", ref=ref))
    results = [case_summary(obj.catalog, c, n=sentences) if sentences else {"case": c.to_dict()}
               for c in found]
    if as_json:
        click.echo(_dump({"query": ref, "cases": results}))
        return
    from webui.labels import TABLE_NAMES

    names = required_records().get("names", {})
    for r in results:
        c = r["case"]
        click.echo(message("cli.case_head", id=c["id"], org=c["org"]["name"], fields="+".join(c["fields"]),
                           cycle=c["cycle"], start=c["start"] or "?", end=c["end"] or "?",
                           complete=message("cli.case_complete" if c["complete"] else "cli.case_incomplete")))
        click.echo(message("cli.case_scope", scope=c["scope"] or "-", codes=" ".join(c["codes"]) or "-",
                           table=TABLE_NAMES.get(c["code_table"] or "", "-")))
        click.echo(message("cli.case_certs", certs="、".join(c["cert_nos"]) or "-"))
        for a in c["audits"]:
            leader = next((m["name"] for m in a["team"] if m["role"] == "leader"), "-")
            click.echo(message("cli.case_audit", start=a["start"] or "?", stage=a["stage_name"] or a["stage"] or "?",
                               leader=leader, records=len(a["documents"]),
                               nonconformities=len([f for f in a["findings"] if f["kind"] == "nonconformity"]))
                       + (message("cli.case_missing", missing="、".join(names.get(t, t) for t in a["missing"]))
                          if a["missing"] else ""))
        for s in r.get("summary", []):
            click.echo(message("cli.case_sentence", sentence=s["sentence"]))
        if r.get("key_control_points"):
            click.echo(message("cli.key_control_points", points="、".join(p["point"] for p in r["key_control_points"][:8])))
        click.echo("")


@click.command(cls=Command)
@click.argument("query", nargs=-1, required=True)
@click.option("--table", "version", type=click.Choice(["2020", "legacy"]), default=None,
              help="代码表版本：2020（默认；只在旧版代码表中的代码按旧版查）或 legacy 旧版。")
@click.option("--limit", type=click.IntRange(1, 100), default=10, help="最多列出的代码数（默认 10）。")
@output_options
@click.pass_obj
def scope(obj: Context, query: tuple[str, ...], version: str | None, limit: int, as_json: bool) -> None:
    """专业代码查询。

    代码 → 名称和层级；名称 → 匹配的代码；认证范围表述 → 推荐代码（由档案中已有的认证范围学习得到）。"""
    from archive.mining.scopes import scope_query

    result = scope_query(" ".join(query), _catalog_if_any(obj), obj.home.models_dir, limit, version)
    if as_json:
        click.echo(_dump(result))
        return
    from webui.labels import LEVEL_NAMES, TABLE_NAMES

    info = result.get("lookup")
    if info:
        click.echo(" > ".join(f"{p['code']} {p['name'] or ''}" for p in info["parents"] + [info]))
        same = info["counterpart"]["same_number"]
        if same:
            click.echo(message("cli.scope_same_number", table=TABLE_NAMES.get(same["table"], same["table"]),
                               code=same["code"], name=same["name"] or "")
                       + ("" if same["same_meaning"] else message("cli.scope_other_meaning")))
        for e in info["counterpart"]["equivalents"]:
            click.echo(message("cli.scope_equivalent", table=TABLE_NAMES.get(e["table"], e["table"]), code=e["code"],
                               name=e["name"], score=e["score"]))
    if not result["matches"]:
        click.echo(message("cli.no_matching_code"))
    for m in result["matches"]:
        click.echo(f"{m['score']:6.3f}  {m['code']:9} {LEVEL_NAMES.get(m['level'], m['level'] or ''):4} {m['name']}")


@click.command(cls=Command, name="code")
@click.argument("code")
@click.option("--table", "version", type=click.Choice(["2020", "legacy"]), default="2020",
              help="代码表版本：2020（默认）或 legacy 旧版。")
@output_options
@click.pass_obj
def code_cmd(obj: Context, code: str, version: str, as_json: bool) -> None:
    """档案中的一个专业代码。

    列出组织、审核、审核员、常见不符合项及示例、关键控制点（代码前缀包括其下的全部代码）。"""
    from archive.mining.percode import code_profile

    p = code_profile(obj.catalog, code.strip(), version)
    if as_json:
        click.echo(_dump(p))
        return
    from webui.labels import ROLE_NAMES

    info = p["info"] or {}
    click.echo(message("cli.code_head", code=code, name=info.get("name") or "", organisations=len(p["organisations"]),
                       cases=len(p["cases"]), audits=len(p["audits"]))
               + (message("cli.code_first_case", org=p["first_case"]["org"], start=p["first_case"]["start"])
                  if p["first_case"] else ""))
    for a in p["auditors"][:15]:
        roles = "、".join(f"{ROLE_NAMES.get(r, r)} {n} 次" for r, n in a["roles"].items())
        click.echo(message("cli.code_auditor", name=a["name"], reg_no=a["reg_no"] or "", audits=a["audits"], roles=roles))
    for n in p["nonconformities"]:
        click.echo(message("cli.code_nonconformity", field=n["field"] or "?", clause=n["clause"], title=n["title"] or "",
                           count=n["count"])
                   + (f" — {n['examples'][0]}" if n["examples"] else ""))
    if p["key_control_points"]:
        click.echo(message("cli.key_control_points", points="、".join(k["point"] for k in p["key_control_points"])))


def _parse_setting(text: str) -> tuple[str, object]:
    """`alpha=0.6` or `availability.张三=0.5`, `cooperation.<org id>=0.4`, `policy.03.04.01=0.3`."""
    key, sep, value = text.partition("=")
    if not sep:
        raise CliUsageError(message("weights.setting", text=text))
    try:
        number = float(value)
    except ValueError:
        raise CliUsageError(message("weights.setting_number", text=text)) from None
    head, dot, rest = key.partition(".")
    if dot and head in ("availability", "cooperation", "policy"):
        return head, {rest: number}
    return key, number


@click.command(cls=Command)
@click.option("--code", "codes", multiple=True, help="只看这些代码（或前缀）；可重复。")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="本次使用的权重，可重复；例如 alpha=0.6 threshold=0.7 availability.<审核员>=0.5 "
                   "cooperation.<组织ID>=0.4 policy.<代码>=0.3")
@click.option("--weights", "weights_file", type=click.Path(exists=True, dir_okay=False),
              help="从 JSON 文件读取权重（格式同 --json 输出中的 \"weights\"）。")
@click.option("--save", is_flag=True, help="把得到的权重保存在数据目录中，对所有人生效。")
@click.option("--table", "version", type=click.Choice(["2020", "legacy"]), default="2020",
              help="代码表版本：2020（默认）或 legacy 旧版。")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="统计此日之前统计期内的项目（默认：最近一次审核的日期）。")
@output_options
@click.pass_obj
def matching(obj: Context, codes: tuple[str, ...], settings: tuple[str, ...], weights_file: str | None,
             save: bool, version: str, as_of, as_json: bool) -> None:
    """各专业代码的匹配度。

    审核员充分性 X、项目难度 Y、匹配度 P = k·X/Y，低于阈值的代码标出（公式和权重见 README 和 archive/mining/matching.py）。"""
    from archive.mining.matching import Weights, load_weights, matching_report, save_weights

    weights = load_weights(obj.home.root)
    try:
        if weights_file:
            try:
                stored = json.loads(Path(weights_file).read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise CliUsageError(message("weights.file", path=weights_file, line=exc.lineno,
                                            column=exc.colno)) from None
            weights = Weights.from_dict(stored)
        for s in settings:
            key, value = _parse_setting(s)
            current = getattr(weights, key, None) if key in Weights.__dataclass_fields__ else None
            if key not in Weights.__dataclass_fields__:
                raise CliUsageError(message("weights.unknown", key=key, choices="、".join(WEIGHT_NAMES)))
            weights = weights.with_updates({key: {**current, **value} if isinstance(value, dict) else value})
    except ValueError as exc:
        raise CliUsageError(str(exc)) from None
    if save:
        path = save_weights(obj.home.root, weights)
        click.echo(message("weights.saved_to", path=path), err=True)
    report = matching_report(obj.catalog, weights, list(codes) or None, version,
                             as_of.date() if as_of else None)
    if as_json:
        click.echo(_dump(report))
        return
    click.echo(message("matching.formula"))
    click.echo(message("matching.window", since=report["since"], as_of=report["as_of"], threshold=weights.threshold))
    click.echo(message("matching.header"))
    for r in report["codes"]:
        p = f"{r['P']:7.2f}" if r["P"] is not None else "      -"
        click.echo(f"{r['code']:9} {r['X']:7.2f} {r['Y']:7.2f} {p}{' !' if r['flagged'] else '  '}"
                   f"{r['A1']:3} {r['A2']:2}  {r['name'] or ''}")


@click.group(cls=Group)
def export() -> None:
    """导出供人阅读的资料：培训资料。"""


@export.command(name="training")
@click.option("--code", help="专业代码（17、17.10 或 17.10.02；前缀包括其下的全部代码）。")
@click.option("--field", "field_", help="认证领域：QMS、EMS …（或 质量管理体系）。")
@click.option("--format", "fmt", type=click.Choice(["docx", "xlsx", "md"]), default=None,
              help="文件格式（默认：按 --out 的扩展名，否则 docx）。")
@click.option("--anonymise", is_flag=True, help="脱敏（客户保密）：替换组织、证书号、统一社会信用代码、地址和人员。")
@click.option("--table", "version", type=click.Choice(["2020", "legacy"]), default="2020",
              help="代码表版本：2020（默认）或 legacy 旧版。")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="要写入的文件（整体写入后替换）。")
@output_options
@click.pass_obj
def export_training(obj: Context, code: str | None, field_: str | None, fmt: str | None, anonymise: bool,
                    version: str, out: str, as_json: bool) -> None:
    """导出某个专业代码或认证领域的培训资料。

    内容：层级和说明、数据、典型过程、关键控制点、审核要点和方法、法律法规和标准、常见不符合项、典型案例、有此经验的审核员。"""
    from archive.mining.training import TrainingError, export_pack

    if bool(code) == bool(field_):
        raise CliUsageError(message("cli.training_one_of"))
    try:
        result = export_pack(obj.catalog, Path(out), code=code, field=field_, fmt=fmt, anonymise=anonymise,
                             version=version)
    except TrainingError as exc:
        raise CliError(str(exc)) from None
    if as_json:
        click.echo(_dump(result))
        return
    f = result["figures"]
    click.echo(message("cli.training_done", path=result["path"], title=result["title"], format=result["format"],
                       bytes=result["bytes"], anonymised="，脱敏" if anonymise else "",
                       organisations=f["organisations"], audits=f["audits"], nonconformities=f["nonconformities"]))


for _command in (case, scope, code_cmd, matching, export):
    main.add_command(_command)
