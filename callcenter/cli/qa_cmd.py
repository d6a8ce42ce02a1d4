"""``callcenter qa``: sample a week's recorded calls, assign them, show the queue, check forms."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from callcenter.cli.common import add_dsn_argument, settings_from_args
from callcenter.cli.run_cmd import CliError, guarded, open_cli_store
from callcenter.qa.forms import FormError, load_forms
from callcenter.qa.report import build_sheet, figure_rows, parse_period, to_csv, to_xlsx
from callcenter.qa.reviews import ReviewService, forms_directory
from callcenter.qa.sampling import SamplingError, assign_week, sample_week, week_of
from callcenter.refusals import Refusal
from callcenter.store.audit import AuditRepository
from callcenter.store.qa import MissingTable, QaRepository


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    qa = sub.add_parser("qa", help="QA monitoring sheet: sampling, work queue, forms")
    cmds = qa.add_subparsers(dest="qa_command", metavar="QA_COMMAND", required=True)

    p = cmds.add_parser("sample", help="sample a week's recorded calls for review")
    p.add_argument("--week", help="ISO week, e.g. 2026-W48 (default: last week)")
    p.add_argument("--seed", type=int, help="random seed (default: qa.seed)")
    p.add_argument("--dry-run", action="store_true", help="show the sample, store nothing")
    add_dsn_argument(p)
    p.set_defaults(handler=sample)

    p = cmds.add_parser("assign", help="assign sampled calls to inspectors")
    p.add_argument("--week", help="ISO week (default: every week's unassigned samples)")
    p.add_argument("--inspectors", help="comma-separated usernames (default: qa.inspectors)")
    p.add_argument("--by", choices=("round_robin", "team"), help="default: qa.assign_by")
    p.add_argument("--calibration", type=int, default=0, metavar="N",
                   help="also give the week's N oldest samples to every inspector")
    add_dsn_argument(p)
    p.set_defaults(handler=assign)

    p = cmds.add_parser("queue", help="the work queue (open assignments)")
    p.add_argument("--inspector", help="one inspector (default: everyone)")
    add_dsn_argument(p)
    p.set_defaults(handler=queue)

    p = cmds.add_parser("report", help="the monitoring sheet of a period (per agent, export)")
    p.add_argument("--period", required=True,
                   help="2026-W48, 2026-11, 2026-11-23 or 2026-11-01..2026-11-15 (local days)")
    p.add_argument("--csv", metavar="FILE", help="write the reviews as CSV")
    p.add_argument("--xlsx", metavar="FILE", help="write the workbook (reviews, agents, teams, "
                   "calibration)")
    p.add_argument("--lang", choices=("zh", "en"), help="item names (default: web language)")
    add_dsn_argument(p)
    p.set_defaults(handler=report)

    p = cmds.add_parser("forms", help="validate the forms in qa.forms_dir")
    p.set_defaults(handler=forms)


def _last_week(tz: str) -> str:
    return week_of(datetime.now(UTC) - timedelta(days=7), tz)


def _inspectors(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise CliError("--inspectors: give comma-separated usernames")
    return names


@guarded
async def sample(args: argparse.Namespace) -> int:
    settings, pool = await open_cli_store(args)
    try:
        week = args.week or _last_week(settings.web.timezone)
        repo = QaRepository(pool)
        run = await sample_week(repo, settings, week, seed=args.seed, dry_run=args.dry_run)
        if not args.dry_run:
            await AuditRepository(pool).record("cli", "qa_sampled", f"qa_week:{week}", details={
                "new": run.stored, "candidates": run.candidates,
                "seed": settings.qa.seed if args.seed is None else args.seed})
    except (SamplingError, MissingTable) as exc:
        raise CliError(str(exc)) from None
    finally:
        await pool.close()
    for s in run.new:
        print(f"{s.server}/{s.linkedid}  {s.agent}  {','.join(s.reasons)}")
    verb = "would sample" if args.dry_run else "sampled"
    print(f"{week}: {verb} {len(run.new)} of {run.candidates} calls with a ready recording")
    if not run.complaint_rule:
        print("note: the complaint rule was skipped (no call_notes table yet)")
    return 0


@guarded
async def assign(args: argparse.Namespace) -> int:
    if args.calibration < 0:
        raise CliError("--calibration: give a number ≥ 0")
    names = _inspectors(args.inspectors)
    settings, pool = await open_cli_store(args)
    try:
        pairs, calibration = await assign_week(QaRepository(pool), settings, args.week,
                                               inspectors=names, by=args.by,
                                               calibration=args.calibration)
        await AuditRepository(pool).record("cli", "qa_assigned", f"qa_week:{args.week or '*'}",
                                           details={"assigned": len(pairs),
                                                    "calibration": calibration})
    except SamplingError as exc:
        raise CliError(str(exc)) from None
    finally:
        await pool.close()
    for s, inspector in pairs:
        print(f"{s.server}/{s.linkedid}  {s.agent}  → {inspector}")
    print(f"assigned {len(pairs)} calls" + (f", {calibration} calibration assignments"
                                            if calibration else ""))
    return 0


@guarded
async def queue(args: argparse.Namespace) -> int:
    settings, pool = await open_cli_store(args)
    try:
        entries = await QaRepository(pool).work_queue(args.inspector)
    finally:
        await pool.close()
    for e in entries:
        when = (e.started_at.astimezone(ZoneInfo(settings.web.timezone))
                .strftime("%Y-%m-%d %H:%M") if e.started_at else "?")
        print(f"#{e.assignment_id}  {e.inspector}  {e.server}/{e.linkedid}  {e.agent}  {when}"
              f"  {e.status or 'new'}{'  calibration' if e.calibration else ''}")
    print(f"{len(entries)} open assignments")
    return 0


@guarded
async def report(args: argparse.Namespace) -> int:
    settings, pool = await open_cli_store(args)
    tz, lang = settings.web.timezone, args.lang or settings.web.default_language
    try:
        period = parse_period(args.period, tz)
        svc = ReviewService(pool, settings)
        sheet = await build_sheet(svc, period)
        for path, data in ((args.csv, to_csv), (args.xlsx, to_xlsx)):
            if path:
                try:
                    Path(path).write_bytes(data(sheet, lang, tz))
                except OSError as exc:
                    raise CliError(f"cannot write {path}: {exc.strerror}") from None
                await svc.audit.record("cli", "qa_report_exported", f"qa_period:{period.label}",
                                       details={"file": str(path)})
    except (SamplingError, Refusal, FormError) as exc:
        raise CliError(str(exc)) from None
    finally:
        await pool.close()
    rows = figure_rows([*sheet.agents, sheet.overall], [], lang)
    for row in rows:
        print("  ".join("" if v is None else str(v) for v in row))
    return 0


def forms(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    try:
        found = load_forms(forms_directory(settings))
    except FormError as exc:
        print(f"callcenter: {exc}", file=sys.stderr)
        return 2
    if not found:
        print(f"callcenter: no *.toml form in {forms_directory(settings)}", file=sys.stderr)
        return 2
    for (form_id, version), form in sorted(found.items()):
        print(f"{form_id} v{version}: {len(form.items)} items, {form.hash[:12]}")
    return 0
