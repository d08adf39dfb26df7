"""The ``hotline`` console command.

    hotline [--site FILE] [--state-dir DIR] config check|generate
    hotline asterisk install|start|run|stop|status|reload [--user U --group G]
    hotline edge generate|start|run|stop|status [--user U]   # the Kamailio edge (site config edge:)
    hotline supervise UNIT_FILE                # run a systemd unit's ExecStart with Restart= (no systemd)
    hotline serve
    hotline journal replay-rejected       # apply <state>/records.journal.rejected again
    hotline import-csv CSV [--out FILE]
    hotline order-report day|month DATE [--format csv|xlsx] [--out FILE]
    hotline reconcile --day YYYY-MM-DD [--json]   # our records against Asterisk's CDR and queue_log
    hotline user hash-password            # reads the password from stdin
    hotline demo | demo-stop
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from hotline.config import SiteConfig, load_site
from hotline.config.paths import Paths
from hotline.exceptions import AsteriskRuntimeError, HotlineError
from hotline.filemodes import apply_umask

DEFAULT_SITE = "examples/nantong/site.yaml"


def _site(args: argparse.Namespace) -> SiteConfig:
    return load_site(args.site, overrides=dict(o.split("=", 1) for o in args.set or []))


def _paths(args: argparse.Namespace) -> Paths:
    return Paths.from_env(state_dir=args.state_dir, asterisk_root=args.asterisk_root)


def cmd_config(args: argparse.Namespace) -> int:
    site = _site(args)
    if args.action == "check":
        print(f"{args.site}: ok ({len(site.trunks)} trunk(s), {len(site.queues)} queue(s), "
              f"{len(site.seats)} seat(s), {len(site.legacy_numbers)} legacy number(s))")
        return 0
    from hotline.deploy import generate_config

    paths = _paths(args)
    written = generate_config(site, paths)
    for p in written:
        print(p)
    return 0


def cmd_asterisk(args: argparse.Namespace) -> int:
    from hotline import asterisk_runtime as ar
    from hotline.deploy import generate_config

    paths = _paths(args)
    if args.action == "install":
        rt = ar.install(paths, mirror=args.mirror)
        print(json.dumps({"mode": rt.mode, "root": str(rt.root), "version": rt.version}))
        return 0
    rt = ar.load(paths)
    if args.action == "run":
        missing = [f for f in ("extensions.conf", "pjsip.conf", "manager.conf")
                   if not (paths.generated_dir / f).is_file()]
        if missing:   # an Asterisk without them answers nothing and no AMI: refuse, do not half-start
            raise AsteriskRuntimeError(f"asterisk run: {paths.generated_dir} has no {', '.join(missing)}; "
                                       "run 'hotline config generate' first (the unit's ExecStartPre)",
                                       missing=missing)
    account = None
    if args.user:
        from hotline.asterisk_account import resolve

        account = resolve(rt, args.user, args.group)
    if args.action == "run":
        # For a service manager (packaging/systemd/hotline-asterisk.service): the configuration
        # generated before (by the unprivileged ExecStartPre), deployed, then Asterisk in the
        # foreground as this very process.
        site = _site(args)
        rt.deploy(paths.generated_dir, paths.sounds_dir, systemname=site.site.node)
        rt.run_foreground(account)
    if args.action == "start":
        site = _site(args)  # validated before anything is generated or started
        generate_config(site, paths)
        rt.deploy(paths.generated_dir, paths.sounds_dir, systemname=site.site.node)
        pid = rt.start(account=account)
        print(json.dumps({"running": True, "pid": pid}))
    elif args.action == "reload":
        site = _site(args)
        generate_config(site, paths)
        rt.deploy(paths.generated_dir, paths.sounds_dir, systemname=site.site.node)
        rt.reload()
        print(json.dumps({"reloaded": True}))
    elif args.action == "stop":
        print(json.dumps({"stopped": rt.stop()}))
    else:
        st = rt.status()
        print(json.dumps(st))
        return 0 if st["running"] else 3
    return 0


def cmd_edge(args: argparse.Namespace) -> int:
    """The SIP edge (Kamailio) of a site with ``edge:``; a site without it runs on one node."""
    from hotline import edge_runtime
    from hotline.deploy import generate_edge

    edge = edge_runtime.for_state(_paths(args).state_dir)
    if args.action in ("generate", "start", "run"):
        site = _site(args)   # validated before anything is generated or started
        for p in generate_edge(site, edge, user=args.user):
            print(p)
        if args.action != "generate" or edge_runtime.installed():
            edge.check()   # Kamailio's own check; generate alone also works where it is not installed
        if args.action == "run":
            edge.run_foreground(args.user)
        if args.action == "start":
            print(json.dumps({"running": True, "pid": edge.start(args.user)}))
        return 0
    if args.action == "stop":
        print(json.dumps({"stopped": edge.stop()}))
        return 0
    st = edge.status()
    print(json.dumps(st))
    return 0 if st["running"] else 3


def cmd_serve(args: argparse.Namespace) -> int:
    from hotline.app import run

    return run(_site(args), _paths(args))


def cmd_journal(args: argparse.Namespace) -> int:
    from hotline.app import store_url
    from hotline.store import Store
    from hotline.store.journal import replay_rejected

    site, paths = _site(args), _paths(args)
    store = Store(store_url(site, paths), timezone=site.site.timezone)
    try:
        applied, kept = replay_rejected(paths.journal_path, store)
    finally:
        store.close()
    for reason in kept:
        print(f"still rejected: {reason}", file=sys.stderr)
    print(json.dumps({"applied": applied, "still_rejected": len(kept)}))
    return 0 if not kept else 1


def cmd_reconcile(args: argparse.Namespace) -> int:
    """The reconciliation report of a day; exit 1 when a difference is unexplained."""
    from hotline import asterisk_runtime
    from hotline.app import store_url
    from hotline.reconcile import schemas, text
    from hotline.reconcile.services import ReconcileService
    from hotline.store import Store

    site, paths = _site(args), _paths(args)
    day = schemas.day(args.day)
    queue_log: Path | None = None
    cdr_log: Path | None = None
    try:
        rt = asterisk_runtime.load(paths)
        queue_log, cdr_log = rt.queue_log, rt.cdr_log
    except AsteriskRuntimeError:
        pass
    store = Store(store_url(site, paths), timezone=site.site.timezone)
    try:
        report = ReconcileService(store, site, queue_log=queue_log, cdr_log=cdr_log).report(day)
    finally:
        store.close()
    sys.stdout.write(json.dumps(report, ensure_ascii=False, indent=1) + "\n" if args.json else text.render(report))
    return 1 if report["unexplained"] else 0


def cmd_rollups(args: argparse.Namespace) -> int:
    """``rollups rebuild``: recompute the call KPI rollups (hourly, per local day) from the call
    records (issue 15)."""
    from hotline.app import store_url
    from hotline.store import Store

    site, paths = _site(args), _paths(args)
    store = Store(store_url(site, paths), timezone=site.site.timezone)
    try:
        store.upgrade()
        records = store.rebuild_kpi_rollup()
    finally:
        store.close()
    print(json.dumps({"rollups": ["call_kpi_hours", "call_kpi_days"], "records": records}))
    return 0


def cmd_order_report(args: argparse.Namespace) -> int:
    import asyncio
    import shutil

    from hotline.app import store_url
    from hotline.exports.tables import XlsxSheet, csv_chunks
    from hotline.store import Store
    from hotline.work_orders.reports import HEADER
    from hotline.work_orders.services import WorkOrderService

    site, paths = _site(args), _paths(args)
    store = Store(store_url(site, paths), timezone=site.site.timezone)
    try:
        service = WorkOrderService(store, orders=site.orders, timezone=site.site.timezone)
        period, rows = asyncio.run(service.report(args.period, args.date))
    finally:
        store.close()
    fmt = args.format or ("xlsx" if args.out and args.out.endswith(".xlsx") else "csv")
    out = open(args.out, "wb") if args.out else sys.stdout.buffer   # noqa: SIM115  (stdout stays open)
    try:
        if fmt == "xlsx":
            sheet = XlsxSheet(period.title, HEADER)
            sheet.add(rows)
            with sheet.finish() as data:
                shutil.copyfileobj(data, out)
        else:
            for chunk in csv_chunks(HEADER, [rows]):
                out.write(chunk)
    finally:
        if args.out:
            out.close()
    return 0


def cmd_import_csv(args: argparse.Namespace) -> int:
    from hotline.importer import import_csv

    text, warnings = import_csv(Path(args.csv), base=Path(args.base) if args.base else None)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def cmd_user(args: argparse.Namespace) -> int:
    from hotline.auth.passwords import hash_password

    # One line from stdin (a pipe or a terminal); the trailing newline is not part of the password.
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        print("hotline: error [invalid-request]: give the password on stdin", file=sys.stderr)
        return 2
    print(hash_password(password))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from hotline.demo import run_demo

    return run_demo(args.site, _paths(args))


def cmd_demo_stop(args: argparse.Namespace) -> int:
    from hotline.demo import stop_demo

    return stop_demo(_paths(args))


def cmd_supervise(args: argparse.Namespace) -> int:
    from hotline.supervise import Supervisor, parse_unit

    return Supervisor(parse_unit(Path(args.unit)), Path(args.pid_file) if args.pid_file else None).run()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hotline", description="12345 hotline call-centre core")
    p.add_argument("--site", default=os.environ.get("HOTLINE_SITE", DEFAULT_SITE), help="site config YAML")
    p.add_argument("--state-dir", help="state directory (env HOTLINE_STATE_DIR, default ./var)")
    p.add_argument("--asterisk-root", help="debootstrap root for Asterisk (env HOTLINE_ASTERISK_ROOT)")
    p.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE", help="override a site config value")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("config", help="check or generate the Asterisk configuration")
    c.add_argument("action", choices=["check", "generate"])
    c.set_defaults(func=cmd_config)

    a = sub.add_parser("asterisk", help="the Asterisk runtime")
    a.add_argument("action", choices=["install", "start", "run", "stop", "status", "reload"],
                   help="run: deploy, then Asterisk in the foreground (the service unit's command)")
    a.add_argument("--mirror", help="Debian mirror for the debootstrap root")
    a.add_argument("--user", help="start/run: the unprivileged account Asterisk drops to (-U); never root")
    a.add_argument("--group", help="start/run: its group (-G; default the user's)")
    a.set_defaults(func=cmd_asterisk)

    e = sub.add_parser("edge", help="the SIP edge (Kamailio) in front of several Asterisk nodes")
    e.add_argument("action", choices=["generate", "start", "run", "stop", "status"],
                   help="run: generate, then Kamailio in the foreground (a service unit's command)")
    e.add_argument("--user", default="kamailio", help="the unprivileged account Kamailio drops to (never root)")
    e.set_defaults(func=cmd_edge)

    s = sub.add_parser("serve", help="run the controller (FastAGI, AMI, API)")
    s.set_defaults(func=cmd_serve)

    j = sub.add_parser("journal", help="the record journal")
    j.add_argument("action", choices=["replay-rejected"],
                   help="apply the records set aside in <state>/records.journal.rejected again")
    j.set_defaults(func=cmd_journal)

    ro = sub.add_parser("rollups", help="the KPI rollups (derived from the call records)")
    ro.add_argument("action", choices=["rebuild"], help="recompute them from the call records")
    ro.set_defaults(func=cmd_rollups)

    i = sub.add_parser("import-csv", help="turn a hotline list CSV into a site config's legacy numbers")
    i.add_argument("csv")
    i.add_argument("--base", help="site YAML to merge the numbers into")
    i.add_argument("--out", help="write here instead of stdout")
    i.set_defaults(func=cmd_import_csv)

    r = sub.add_parser("order-report", help="the daily or monthly work-order report per unit (CSV or XLSX)")
    r.add_argument("period", choices=["day", "month"])
    r.add_argument("date", help="YYYY-MM-DD (day) or YYYY-MM (month), site time")
    r.add_argument("--format", choices=["csv", "xlsx"], help="default: the --out file's extension, else csv")
    r.add_argument("--out", help="write here instead of stdout")
    r.set_defaults(func=cmd_order_report)

    rc = sub.add_parser("reconcile", help="our call records against Asterisk's CDR and queue_log, for a day")
    rc.add_argument("--day", required=True, help="YYYY-MM-DD, the site's local day")
    rc.add_argument("--json", action="store_true", help="the report as JSON (as GET /api/reconciliation)")
    rc.set_defaults(func=cmd_reconcile)

    u = sub.add_parser("user", help="users of the API and the wallboard")
    u.add_argument("action", choices=["hash-password"], help="print a password hash for users[].password_hash")
    u.set_defaults(func=cmd_user)

    sv = sub.add_parser("supervise", help="run a systemd unit's ExecStart, restarting it (hosts without systemd)")
    sv.add_argument("unit", help="the unit file (packaging/systemd/*.service, as installed)")
    sv.add_argument("--pid-file", help="write the current child's pid here")
    sv.set_defaults(func=cmd_supervise)

    d = sub.add_parser("demo", help="install, start everything and place a demo call")
    d.set_defaults(func=cmd_demo)
    ds = sub.add_parser("demo-stop", help="stop what 'hotline demo' started")
    ds.set_defaults(func=cmd_demo_stop)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    apply_umask()   # files are never world-readable by luck (hotline/filemodes.py)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        code: int = args.func(args)
        return code
    except HotlineError as exc:
        print(f"hotline: error [{exc.error_id}]: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
