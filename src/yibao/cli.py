"""The yibao command line (Typer + rich). Chinese first, English beside it.

    yibao explain CASE [--on DATE] [--as-known-on DATE] [--json]
    yibao quote CASE --pay-on DATE [--json]
    yibao contributions CASE --months 2025-01..2025-12 [--json]
    yibao policy show REGION --on DATE [--json]
    yibao policy regions

Invalid input gives one line — ``error CODE [field]: 中文 / English`` — on stderr and exit status 2.
"""

from __future__ import annotations

import functools
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from yibao.errors import YibaoError, define
from yibao.explain import Reason, jsonable
from yibao.ids import mask as mask_id

BAD_DATE = define("BAD_DATE", "日期格式无效：{value}（应为 YYYY-MM-DD）", "invalid date {value!r} (expected YYYY-MM-DD)")
INTERNAL_ERROR = define(
    "INTERNAL_ERROR", "内部错误（{kind}），未做任何更改；请报告此问题", "internal error ({kind}); nothing was changed — please report it"
)

app = typer.Typer(
    help="yibao 医保 — 基本医疗保险参保与缴费规则引擎 / rules engine for China's basic medical insurance",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
policy_app = typer.Typer(help="政策参数 / dated regional policy parameters", no_args_is_help=True)
app.add_typer(policy_app, name="policy")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(error: YibaoError) -> None:
    err.print(Text(f"error {error.one_line()}"))
    raise typer.Exit(2)


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Every command: a YibaoError is one line and exit 2; anything else is one line and exit 3."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except YibaoError as exc:
            _fail(exc)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:  # never a traceback to a user
            err.print(Text(f"error {YibaoError(INTERNAL_ERROR, kind=type(exc).__name__).one_line()}"))
            raise typer.Exit(3)

    return wrapper


def parse_day(value: Optional[str], field: str, default: Optional[date] = None) -> Optional[date]:
    if value is None:
        return default
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise YibaoError(BAD_DATE, field=field, value=value) from None


def _load(case: Path):
    from yibao.casefile import read_case
    from yibao.policy import default_policy

    facts, overrides = read_case(case)
    policy = default_policy()
    for region, values in overrides.items():
        policy = policy.with_overrides(region, values, label=case.name)
    return facts, policy


def _emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(jsonable(data), ensure_ascii=False, indent=2) + "\n")


def _print_reasons(reasons: tuple[Reason, ...] | list[Reason], indent: str = "    ") -> None:
    for r in reasons:
        out.print(Text(f"{indent}[{r.rule_id}] {r.message_zh}", style="bold" if r.rule_id.startswith("R-") else ""))
        out.print(Text(f"{indent}  {r.message_en}", style="dim"))
        cites = "; ".join(str(c) for c in r.all_citations())
        if cites:
            out.print(Text(f"{indent}  依据 / source: {cites}", style="cyan"))
        for p in r.parameters:
            mark = " (示例值 illustrative)" if p.illustrative else ""
            out.print(Text(f"{indent}  参数 {p.key} = {jsonable(p.value)}（{p.region}，{p.effective_from} 起）{mark}", style="dim"))


# --------------------------------------------------------------------------------------
# explain
# --------------------------------------------------------------------------------------

_GRID_SYMBOL = {"covered": "■", "waiting": "▣", "provisional": "◇", "unpaid": "·", "paused": "□"}


@app.command()
@guarded
def explain(
    case: Path = typer.Argument(..., help="案例文件 / case file (YAML or JSON)"),
    on: Optional[str] = typer.Option(None, "--on", help="查询日 / the date asked about (default: today)"),
    as_known_on: Optional[str] = typer.Option(None, "--as-known-on", help="信息截至日 / knowledge date K (default: today)"),
    as_json: bool = typer.Option(False, "--json", help="JSON 输出 / machine-readable output"),
    grid: bool = typer.Option(True, "--grid/--no-grid", help="显示月度明细 / show the month grid"),
) -> None:
    """参保待遇时间线及理由 / the benefit timeline on a date, as known on a date, with reasons."""
    from yibao.rules.entitlement import answer_coverage, build_timeline

    today = date.today()
    day = parse_day(on, "--on", today)
    k = parse_day(as_known_on, "--as-known-on", today)
    assert day is not None
    facts, policy = _load(case)
    timeline = build_timeline(facts, policy, k)
    answer = answer_coverage(timeline, day)
    if as_json:
        _emit_json(
            {
                "person": {"id": facts.person_id, "documents": [{"type": d.cert_type.value, "number": mask_id(d.number)} for d in facts.documents]},
                "on": day,
                "as_known_on": k,
                "answer": {
                    "covered": answer.value.covered,
                    "relation_id": answer.value.relation_id,
                    "insutype": answer.value.insutype,
                    "region": answer.value.region,
                    "reasons": [r.to_dict() for r in answer.reasons],
                },
                "periods": [
                    {
                        "relation_id": p.relation_id,
                        "insutype": p.insutype,
                        "region": p.region,
                        "start": p.start,
                        "end": p.end,
                        "start_reasons": [r.to_dict() for r in p.start_reasons],
                        "end_reasons": [r.to_dict() for r in p.end_reasons],
                    }
                    for p in timeline.periods
                ],
                "decisions": [
                    {
                        "relation_id": s.relation_id,
                        "first_month": s.first_month,
                        "last_month": s.last_month,
                        "benefit_year": s.benefit_year,
                        "benefit_start": s.benefit_start,
                        "reasons": [r.to_dict() for r in s.decision.reasons],
                    }
                    for s in timeline.starts
                ],
                "actions": [
                    {"kind": a.kind, "relation_id": a.relation_id, "effective": a.effective, "months": a.months, "reason": a.reason.to_dict()}
                    for a in timeline.actions
                ],
                "notices": [n.to_dict() for n in timeline.notices],
                "months": [
                    {
                        "relation_id": c.relation_id,
                        "month": c.month,
                        "kind": c.kind,
                        "paid_on": c.paid_on,
                        "waiting": c.waiting,
                        "covered_days": c.covered_days,
                        "continuous_months": c.continuous_months,
                    }
                    for c in timeline.months
                ],
            }
        )
        return

    docs = ", ".join(f"{d.cert_type.value} {mask_id(d.number)}" for d in facts.documents) or "—"
    out.print(Text(f"参保人 / person: {facts.person_id} {facts.name}  证件 / documents: {docs}  出生 / born: {facts.birth_date or '—'}", style="bold"))
    out.print(Text(f"查询日 / on: {day}    信息截至 / as known on: {k}"))
    if answer.value.covered:
        p = answer.value.period
        assert p is not None
        rel = facts.relation(p.relation_id)
        out.print(
            Text(
                f"✔ 享受待遇 / covered — {p.relation_id} {rel.insutype.name_zh}（{rel.insutype.value}）"
                f"{policy.region_name(rel.region)}（{rel.region}），待遇期 {p.start} – {p.end or '至今 / open'}",
                style="bold green",
            )
        )
    else:
        out.print(Text("✘ 不享受待遇 / not covered", style="bold red"))
    _print_reasons(answer.reasons)

    table = Table(title="待遇享受期 / benefit periods", show_lines=False)
    for col in ("参保关系 relation", "险种 insutype", "统筹区 region", "开始 start", "结束 end", "依据 rules"):
        table.add_column(col)
    for p in timeline.periods:
        table.add_row(
            p.relation_id,
            p.insutype.value,
            f"{policy.region_name(p.region)} {p.region}",
            str(p.start),
            str(p.end or "至今 open"),
            ", ".join(dict.fromkeys(r.rule_id for r in (*p.start_reasons, *p.end_reasons))),
        )
    out.print(table)

    out.print(Text("待遇开始判定 / benefit-start decisions", style="bold underline"))
    for s in timeline.starts:
        what = f"{s.benefit_year} 年度" if s.benefit_year else f"{s.first_month}–{s.last_month}"
        out.print(Text(f"  {s.relation_id} {what}: 待遇开始 / benefits from {s.benefit_start or '无 / none'}", style="bold"))
        _print_reasons(s.decision.reasons, indent="      ")

    if grid and timeline.months:
        _print_grid(timeline)
    if timeline.actions:
        out.print(Text("建议经办操作 / actions for the clerk", style="bold underline"))
        for a in timeline.actions:
            months = f" {a.months[0]}–{a.months[-1]}" if a.months else ""
            out.print(Text(f"  {a.kind.value} {a.relation_id} {a.effective}{months}: {a.reason.message_zh}"))
            out.print(Text(f"    {a.reason.message_en}", style="dim"))
    if timeline.notices:
        out.print(Text("提示 / notices", style="bold underline"))
        for n in timeline.notices:
            out.print(Text(f"  ! {n.code}: {n.message_zh} / {n.message_en}", style="yellow"))


def _print_grid(timeline) -> None:
    out.print(Text("月度明细 / month grid  ■ 享受待遇 covered  ▣ 已缴等待 paid, waiting  ◇ 征收期内 pending  □ 已缴暂停 paid, paused  · 未缴 unpaid", style="bold underline"))
    by_rel: dict[str, dict[int, list[str]]] = {}
    for c in timeline.months:
        if c.covered:
            sym = _GRID_SYMBOL["covered"]
        elif c.kind.value == "PROVISIONAL":
            sym = _GRID_SYMBOL["provisional"]
        elif c.kind.value == "UNPAID":
            sym = _GRID_SYMBOL["unpaid"]
        elif c.waiting:
            sym = _GRID_SYMBOL["waiting"]
        else:
            sym = _GRID_SYMBOL["paused"]
        row = by_rel.setdefault(c.relation_id, {}).setdefault(c.month.year, [" "] * 12)
        row[c.month.month - 1] = sym
    for rid, years in by_rel.items():
        for year in sorted(years):
            out.print(Text(f"  {rid:<6} {year} {''.join(years[year])}"))


# --------------------------------------------------------------------------------------
# quote and contributions
# --------------------------------------------------------------------------------------


@app.command()
@guarded
def quote(
    case: Path = typer.Argument(..., help="案例文件 / case file"),
    pay_on: str = typer.Option(..., "--pay-on", help="缴费日 / the day the person would pay"),
    as_json: bool = typer.Option(False, "--json", help="JSON 输出 / machine-readable output"),
) -> None:
    """应缴（含补缴）金额及缴费后的待遇开始日 / what to pay (and back-pay) and from when benefits start."""
    from yibao.money import fmt
    from yibao.rules.quote import quote as make_quote

    day = parse_day(pay_on, "--pay-on")
    assert day is not None
    facts, policy = _load(case)
    decision = make_quote(facts, policy, day)
    q = decision.value
    if as_json:
        _emit_json({**q.to_dict(), "notices": [n.to_dict() for n in decision.notices]})
        return
    out.print(Text(f"参保人 / person: {facts.person_id} {facts.name}    缴费日 / pay on: {day}", style="bold"))
    for item in q.items:
        what = ", ".join(str(y) for y in item.benefit_years) + " 年度" if item.benefit_years else f"{item.months[0]}–{item.months[-1]}（{len(item.months)} 个月）"
        out.print(Text(f"{item.relation_id} {item.insutype} {policy.region_name(item.region)}（{item.region}）: {what}", style="bold underline"))
        if item.backpay_months:
            out.print(Text(f"  其中补缴 / back-pay: {item.backpay_months[0]}–{item.backpay_months[-1]}"))
        table = Table(show_header=True)
        for col in ("份额 share", "缴费方 payer", "金额 amount"):
            table.add_column(col)
        totals: dict[tuple[str, str], object] = {}
        for line in item.lines:
            key = (line.share.value, line.payer.value)
            totals[key] = totals.get(key, 0) + line.amount  # type: ignore[operator]
        for (share, payer), amount in totals.items():
            table.add_row(share, payer, fmt(amount))  # type: ignore[arg-type]
        table.add_row("合计 total", "", fmt(item.total))
        out.print(table)
        out.print(Text(f"  本人应缴 / the person pays: {fmt(item.person_pays)}"))
        if item.benefit_start:
            retro = f"（追溯至 {item.retroactive_from} / retroactive from {item.retroactive_from}）" if item.retroactive_from else ""
            out.print(Text(f"  缴费后待遇开始 / benefits from: {item.benefit_start}{retro}", style="bold green"))
        else:
            out.print(Text("  缴费后本期不能享受待遇 / this payment buys no benefits for the period", style="bold red"))
        _print_reasons([r for r in item.reasons if r.rule_id.startswith(("R-WAIT", "R-RES", "Y-WAIT"))], indent="    ")
    out.print(Text(f"应缴合计 / total due: {fmt(q.total)}    本人合计 / the person pays: {fmt(q.person_pays)}", style="bold"))
    for n in decision.notices:
        out.print(Text(f"  ! {n.code}: {n.message_zh} / {n.message_en}", style="yellow"))


@app.command()
@guarded
def contributions(
    case: Path = typer.Argument(..., help="案例文件 / case file"),
    months: str = typer.Option(..., "--months", help="费款所属期 / contribution months, e.g. 2025-01..2025-12"),
    as_known_on: Optional[str] = typer.Option(None, "--as-known-on", help="信息截至日 / knowledge date (default: today)"),
    as_json: bool = typer.Option(False, "--json", help="JSON 输出 / machine-readable output"),
) -> None:
    """按月、按基金列出应缴、已缴与欠缴 / what is due per month and fund line, paid and outstanding."""
    from yibao.dates import parse_month_range
    from yibao.money import fmt
    from yibao.rules.contribution import contribution_schedule

    first, last = parse_month_range(months, field="--months")
    k = parse_day(as_known_on, "--as-known-on", date.today())
    facts, policy = _load(case)
    decision = contribution_schedule(facts.known_on(k), policy, first, last, as_of=k)
    schedule = decision.value
    if as_json:
        _emit_json({**schedule.to_dict(), "notices": [n.to_dict() for n in decision.notices]})
        return
    table = Table(title=f"{facts.person_id} {facts.name} 应缴明细 / contributions due {first}–{last}（截至 {k}）")
    for col in ("所属期 period", "关系 relation", "险种 insurance", "基金 fund", "缴费方 payer", "应缴 due", "已缴 paid", "欠缴 outstanding"):
        table.add_column(col, justify="right" if col.startswith(("应缴", "已缴", "欠缴")) else "left")
    for row in schedule.lines:
        period = f"{row.benefit_year} 年度" if row.benefit_year else str(row.month)
        table.add_row(
            period,
            row.relation_id,
            row.insutype.value,
            row.fund.value,
            row.payer.value,
            "单位核定 unit-level" if row.due is None else fmt(row.due),
            fmt(row.paid),
            "—" if row.outstanding is None else fmt(row.outstanding),
        )
    out.print(table)
    out.print(
        Text(
            f"合计 / totals: 应缴 due {fmt(schedule.total_due)}  已缴 paid {fmt(schedule.total_paid)}  欠缴 outstanding {fmt(schedule.total_outstanding)}",
            style="bold",
        )
    )
    for p in schedule.by_payer:
        out.print(Text(f"  {p.payer.value}: due {fmt(p.due)}  paid {fmt(p.paid)}  outstanding {fmt(p.outstanding)}"))
    rules = dict.fromkeys(r.rule_id for r in decision.reasons)
    if rules:
        out.print(Text("依据 / rules: " + ", ".join(rules), style="dim"))
    for n in decision.notices:
        out.print(Text(f"  ! {n.code}: {n.message_zh} / {n.message_en}", style="yellow"))


# --------------------------------------------------------------------------------------
# policy
# --------------------------------------------------------------------------------------


@policy_app.command("show")
@guarded
def policy_show(
    region: str = typer.Argument(..., help="统筹区代码 / pooling region, e.g. 510500"),
    on: Optional[str] = typer.Option(None, "--on", help="生效日 / date (default: today)"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """某统筹区某日生效的政策参数及出处 / parameters in force for a region on a date, with their sources."""
    from yibao.policy import default_policy

    policy = default_policy()
    region = policy.check_region(region)
    day = parse_day(on, "--on", date.today())
    assert day is not None
    values = policy.in_force(region, day)
    if as_json:
        _emit_json(
            {
                "region": region,
                "name": policy.region_name(region),
                "on": day,
                "parameters": [
                    {
                        "key": v.key,
                        "value": v.value,
                        "effective_from": v.effective_from,
                        "defined_in": v.defined_in,
                        "illustrative": v.illustrative,
                        "citation": v.citation.to_dict(),
                        "note": v.note,
                    }
                    for v in values
                ],
            }
        )
        return
    table = Table(title=f"{policy.region_name(region)}（{region}）{day} 生效的政策参数 / parameters in force")
    for col in ("参数 key", "取值 value", "起 from", "层级 level", "出处 source"):
        table.add_column(col, overflow="fold")
    used: dict[str, str] = {}
    for v in values:
        value = jsonable(v.value)
        shown = json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else str(value)
        if v.illustrative:
            shown += " (示例 illustrative)"
        c = v.citation
        key = c.source_key or c.document
        used[key] = c.document
        table.add_row(v.key, shown, str(v.effective_from), v.defined_in, f"{key} {c.article or ''} [{c.confidence}]".replace("  ", " "))
    out.print(table)
    out.print(Text("出处 / sources:", style="bold"))
    for key, document in sorted(used.items()):
        out.print(Text(f"  {key}: {document}"))
    out.print(Text("[V] 已核对官方文本 verified  [C] 多方印证 corroborated  [S] 仅见于种子资料 seed only  [M] 背景知识待核 to verify", style="dim"))


@policy_app.command("regions")
@guarded
def policy_regions() -> None:
    """已载入的统筹区 / the pooling regions with a policy pack."""
    from yibao.policy import default_policy

    policy = default_policy()
    for region in policy.regions():
        out.print(f"{region}  {policy.region_name(region)}  ← {' → '.join(policy.chain(region)[1:])}")


def _register_extensions() -> None:
    """Commands of the records service live in their own modules (they import the store)."""
    from yibao.cli_import import import_command
    from yibao.cli_serve import serve

    app.command("serve", help="启动记录服务 API（首次启动创建数据库并载入演示数据）/ start the records service API")(guarded(serve))
    from yibao.cli_coverage import coverage_app, refresh, status

    coverage_app.registered_commands.clear()  # registered again with the error guard
    coverage_app.command("status", help="今天可用的投影数 / how many projections are usable today")(guarded(status))
    coverage_app.command("refresh", help="计算缺失或过期的投影 / compute the missing and stale projections")(guarded(refresh))
    app.add_typer(coverage_app, name="coverage")
    # import sets its own exit statuses (0 all imported, 1 batches rejected, 2 unusable input)
    app.command("import", help="批量导入人员、参保关系和缴费明细（CSV/Parquet）/ bulk import from CSV or Parquet")(import_command)
    from yibao.cli_batch import register as register_batch  # yibao synth, yibao dedup (issue 4)
    register_batch(app, guarded)


_register_extensions()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
