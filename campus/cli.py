"""The ``campus`` command: thin wrappers that parse arguments and call the use cases."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from campus.schema.config import ConfigError

if TYPE_CHECKING:  # the commands import what they use when they run, to start fast
    from campus.hub.sync import HubSync


def _node_init(args: argparse.Namespace) -> int:
    from campus.node.bootstrap import init_node

    overrides = {k: v for k, v in (("port", args.port), ("host", args.host), ("ca_file", args.ca_file))
                 if v is not None}
    config = init_node(Path(args.dir), args.campus_code, args.name, hub_url=args.hub or "", token=args.token or "",
                       admin_password=args.admin_password, **overrides)
    print(f"node for campus {config.campus_code} ({config.campus_name}) created in {config.directory}")
    if config.hub_url:
        print(f"enrolled with {config.hub_url}; hub key pinned; accounts come from the hub")
    else:
        _print_first_admin(config.directory, args.admin_password)
    print(f"node id {config.node_id}; start it with: campus node serve --dir {config.directory}")
    return 0


def _node_restore(args: argparse.Namespace) -> int:
    from campus.node.bootstrap import restore_node

    if args.from_backup:
        if args.hub or args.token:
            raise ValueError("restore either --from-backup FILE or --hub URL --token T, not both")
        return _node_restore_backup(args)
    if not (args.hub and args.token):
        raise ValueError("restore needs --from-backup FILE, or --hub URL and --token T")
    config = restore_node(Path(args.dir), args.hub, args.token)
    print(f"re-keyed node {config.node_id} of campus {config.campus_code}; pulling everything back …")
    return _sync_dir(config.directory)


def _node_restore_backup(args: argparse.Namespace) -> int:
    from campus.node.ops.restore import restore_from_backup

    restored = restore_from_backup(Path(args.from_backup), Path(args.dir), force=args.force)
    manifest, config = restored.manifest, restored.config
    print(f"restored campus {config.campus_code} from {args.from_backup} (taken {manifest.created_at}, log head "
          f"{manifest.head_seq}, schema {manifest.schema_version}) into {config.directory}")
    for aside in restored.kept_aside:
        print(f"  the store that was there is kept aside as {aside}")
    if restored.report is not None:
        print(f"synced with {config.hub_url}: took back {restored.report.restored} change(s) of its own the hub "
              f"held beyond the backup, pulled {restored.report.pulled}, pushed {restored.report.pushed}; "
              f"log head {restored.report.head_seq}")
    elif restored.pending:
        print(f"campus: not yet synced ({restored.sync_error}); the node will not serve until "
              f"'campus sync now --dir {config.directory}' succeeds", file=sys.stderr)
        return 1
    return 0


def _node_backup(args: argparse.Namespace) -> int:
    from campus.node.config import NodeConfig
    from campus.node.ops.backup import backup_node

    config = NodeConfig.load(Path(args.dir))
    target, manifest = backup_node(config, Path(args.to) if args.to else None)
    _print_backup(target, manifest)
    return 0


def _print_backup(target: Path, manifest: Any) -> None:
    print(f"backup {target}\n  {target.stat().st_size:,} bytes (store {manifest.store_bytes:,}), schema "
          f"{manifest.schema_version}, log head {manifest.head_seq} {manifest.head_hash[:16]}…, "
          f"took {manifest.took_ms} ms\n  sha256 of the store {manifest.store_sha256}")


def _verify_backup(args: argparse.Namespace) -> int:
    from campus.schema.backups import verify_backup

    verified = verify_backup(Path(args.file))
    manifest = verified.manifest
    who = manifest.identity.get("campus_code") or f"hub {manifest.identity.get('hub_id', '?')}"
    print(f"{args.file}: backup of {manifest.role} {who} taken {manifest.created_at}, schema "
          f"{manifest.schema_version}, log head {manifest.head_seq}")
    print(f"  {len(verified.tables)} tables, {sum(verified.tables.values()):,} rows")
    for problem in verified.problems:
        print(f"  PROBLEM: {problem}")
    print("  verified: checksums, SQLite integrity, schema, every link of the change log" if verified.ok
          else f"  {len(verified.problems)} problem(s): do not rely on this backup")
    return 0 if verified.ok else 1


def _node_export(args: argparse.Namespace) -> int:
    import getpass

    from campus.node.config import NodeConfig
    from campus.node.context import NodeContext
    from campus.node.ops.export import export_data
    from campus.node.store import NodeStore
    from campus.schema.context import Actor

    config = NodeConfig.load(Path(args.dir))
    store = NodeStore(config.database_path, config.node_id)
    try:  # the command line acts as the campus's operator; the audit trail names it and the OS user
        report = export_data(store, NodeContext.of(config), Actor.machine(f"cli:{getpass.getuser()}"),
                             Path(args.to), args.format)
    finally:
        store.close()
    print(f"exported {len(report.tables)} tables, {report.rows:,} rows, as {report.format} into {report.folder} "
          "(export.json lists every table and column)")
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from campus.schema.config import load_toml

    directory = Path(args.dir)
    if "hub" in load_toml(directory / "campus.toml"):
        from campus.hub.ops import doctor
    else:
        from campus.node.ops.doctor import doctor
    findings = doctor(directory)
    table = Table("", "check", "found", "what to do", title=f"campus doctor {directory}", show_lines=False)
    for finding in findings:
        table.add_row("[green]ok[/green]" if finding.ok else "[red]FAIL[/red]", finding.check, finding.detail,
                      "" if finding.ok else finding.advice)
    Console(width=160).print(table)
    failed = [f.check for f in findings if not f.ok]
    print("all is well" if not failed else f"{len(failed)} problem(s): {', '.join(failed)}")
    return 0 if not failed else 1


def _node_rotate_key(args: argparse.Namespace) -> int:
    from campus.node.bootstrap import rotate_node_key
    from campus.node.config import NodeConfig

    config = NodeConfig.load(Path(args.dir))
    rotate_node_key(config)
    print(f"node {config.node_id} now signs with a new key; the old one is retired at the hub")
    return 0


def _kiosk(args: argparse.Namespace) -> int:
    from campus.node.config import NodeConfig
    from campus.node.store import NodeStore
    from campus.node.teaching.kiosks import add_device, revoke_device
    from campus.schema.ids import new_id

    config = NodeConfig.load(Path(args.dir))
    store = NodeStore(config.database_path, config.node_id)
    try:
        with store.write() as conn:
            if args.kiosk_command == "add":
                device = add_device(conn, args.name, new_id())
                print(f"kiosk {device['name']}\n  id:     {device['id']}\n  secret: {device['secret']}\n"
                      f"Keep the secret on the device only; pair a tablet at /kiosk/pair.")
            else:
                revoke_device(conn, args.id)
                print(f"kiosk {args.id} revoked: its requests are refused from now on")
    finally:
        store.close()
    return 0


def _device(args: argparse.Namespace) -> int:
    from campus.node.devices.commands import run

    for line in run(args.device_command, Path(args.dir), getattr(args, "serial", None), getattr(args, "name", None),
                    getattr(args, "charset", None), getattr(args, "address", None)):
        print(line)
    return 0


def _sync_now(args: argparse.Namespace) -> int:
    return _sync_dir(Path(args.dir))


def _sync_dir(directory: Path) -> int:
    from rich.progress import BarColumn, Progress, TextColumn

    from campus.node.config import NodeConfig
    from campus.node.ops.restore import finish_pending_restore
    from campus.node.store import NodeStore
    from campus.node.sync import client_for
    from campus.sync.client import HubUnreachable, SyncRefused
    from campus.sync.replica import SchemaTooNew

    config = NodeConfig.load(directory)
    store = NodeStore(config.database_path, config.node_id)
    client = client_for(config, store)
    try:
        outbox = store.head()[0] - client.replica.pushed_seq()
        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed} changes")) as bar:
            tasks = {"push": bar.add_task("push", total=max(outbox, 1)), "pull": bar.add_task("pull", total=None)}
            report = client.sync_once(progress=lambda kind, n: bar.advance(tasks[kind], n))
    except (HubUnreachable, SyncRefused, SchemaTooNew) as exc:
        print(f"campus: sync failed: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
        store.close()
    print(f"pushed {report.pushed}, pulled {report.pulled}, restored {report.restored}; "
          f"log head {report.head_seq}, pull cursor {report.cursor}")
    if finish_pending_restore(directory):
        print("the restore from a backup is complete: the node may serve again")
    return 0


def _import(args: argparse.Namespace) -> int:
    """``campus import leads|students FILE``: the mapping and first rows, then (unless ``--dry-run``)
    the import with a progress bar, then every row's outcome that is not a plain success."""
    import getpass
    from datetime import date

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.table import Table

    from campus.node.config import NodeConfig
    from campus.node.context import NodeContext
    from campus.node.imports import kinds
    from campus.node.store import NodeStore
    from campus.schema.context import Actor
    from campus.web.spreadsheets import KEEP, column_letter, encoding_label, open_sheet, parse_mapping

    kind = kinds.KINDS[args.command]
    config = NodeConfig.load(Path(args.dir))
    ctx = NodeContext.of(config)
    source = Path(args.file)
    choice = parse_mapping(Path(args.mapping).read_text(encoding="utf-8")) if args.mapping else None
    options = kind.options(ctx, as_of=date.fromisoformat(args.as_of) if getattr(args, "as_of", None) else None)
    mode = args.mode or kind.default_mode
    console = Console()
    store = NodeStore(config.database_path, config.node_id)
    try:
        with source.open("rb") as stream:
            sheet = open_sheet(stream, source.name)
            layout = kind.layout(sheet, choice)
            console.print(f"{source.name}: {encoding_label(sheet.encoding)}, header on line {layout.header_line}")
            columns = Table("column", "header", "becomes", title="Columns")
            for i, header in enumerate(layout.headers):
                target = layout.targets[i]
                shown = {KEEP: "kept in notes", "ignore": "ignored"}.get(target) or kind.label(target)
                columns.add_row(column_letter(i), header, shown)
            console.print(columns)
            mapped = [f.key for f in kind.fields if f.key in layout.targets and f.key != "campus"]
            first = Table("line", *(kind.label(key) for key in mapped), "kept in notes / outcome",
                          title="First rows as they will land")
            for item in kind.preview(ctx, options, sheet, layout):
                landed = item.get("landed", {})
                first.add_row(str(item["line"]), *(str(landed.get(key, "")) for key in mapped),
                              item.get("rejected") or item.get("skipped") or "; ".join(f"{h}: {v}" for h, v in item["kept"]))
            console.print(first)
            stream.seek(0)
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console,
                          transient=True) as bar:
                task = bar.add_task("checking", total=None)

                def advance(phase: str, done: int, total: int | None) -> None:
                    bar.update(task, description=phase, completed=done, total=total)

                if args.dry_run:
                    with store.read() as conn:
                        report = kind.dry_run(conn, ctx, options, stream, source.name, choice, mode=mode,
                                              progress=advance)
                else:
                    # The command line acts as the campus's operator; the audit trail names it and the OS user.
                    actor = Actor.machine(f"cli:{getpass.getuser()}")
                    report = kind.use_case(store, ctx, actor, stream, source.name, choice, mode=mode,
                                           progress=advance, **options)
    finally:
        store.close()
    counts = report.counts()
    verb = "would be" if report.dry_run or not report.written else "were"
    console.print(f"{counts['rows']} rows: {counts['created']} created, {counts['merged']} merged {kind.merged}, "
                  f"{counts['rejected']} rejected, {counts['skipped']} skipped ({counts['blank']} blank lines "
                  "not counted)")
    if report.totals:
        console.print("totals of the valid rows: " + ", ".join(kind.total_text(k, v) for k, v in report.totals.items()))
    if report.refused:
        console.print(f"nothing was imported: {counts['rejected']} rows are rejected and this import is all or nothing")
    elif report.dry_run:
        console.print(f"dry run: nothing was written; the rows above {verb} imported so")
    notable = [r for r in report.results() if r.outcome != "created"][:200]
    if notable:
        table = Table("line", "name", "outcome", "into", "column", "reason", title="Rows not simply created")
        for result in notable:
            table.add_row(str(result.line), result.name, result.outcome, result.number or "", result.field or "",
                          result.reason or result.how or "")
        console.print(table)
    if args.rejected and counts["rejected"]:
        Path(args.rejected).write_bytes(report.rejected_workbook())
        console.print(f"rejected rows written to {args.rejected}: fix them there and import that file")
    return 1 if report.refused else 0


def _hub_sync(directory: str) -> HubSync:
    from campus.hub.config import HubConfig
    from campus.hub.store import HubStore
    from campus.hub.sync import HubSync
    from campus.sync.signing import load_private_key

    config = HubConfig.load(Path(directory))
    return HubSync(HubStore(config.store_url, config.hub_id), load_private_key(config.key_path))


def _campus_add(args: argparse.Namespace) -> int:
    campus_id, token = _hub_sync(args.dir).add_campus(args.code, args.name)
    print(f"campus {args.code} ({args.name}) created, id {campus_id}")
    print(f"one-time enrollment token (valid 24 h): {token}")
    print(f"on the campus machine: campus node init --dir DIR --campus-code {args.code} --name {args.name} "
          f"--hub HUB_URL --token {token}")
    return 0


def _campus_restore_token(args: argparse.Namespace) -> int:
    token = _hub_sync(args.dir).issue_restore_token(args.code)
    print(f"one-time restore token for {args.code} (valid 24 h): {token}")
    return 0


def _campus_revoke_key(args: argparse.Namespace) -> int:
    count = _hub_sync(args.dir).revoke_keys(args.code)
    print(f"revoked {count} key(s) of campus {args.code}; issue a restore token to re-key it")
    return 0


def _hub_books_verify(args: argparse.Namespace) -> int:
    from campus.hub.books.rollups import behind, verify
    from campus.hub.config import HubConfig
    from campus.hub.store import HubStore

    config = HubConfig.load(Path(args.dir))
    store = HubStore(config.store_url, config.hub_id)
    try:
        problems, lag = verify(store), behind(store)
    finally:
        store.close()
    for problem in problems:
        print(problem)
    if lag:
        print(f"the books are {lag} merged change(s) behind: a running hub catches up within seconds")
    print(f"{len(problems)} difference(s) between the hub's books and a recompute from the facts")
    return 1 if problems else 0


def _hub_reports(args: argparse.Namespace) -> int:
    from campus.hub.config import HubConfig
    from campus.hub.report_rollups import run_command
    from campus.hub.store import HubStore

    config = HubConfig.load(Path(args.dir))
    store = HubStore(config.store_url, config.hub_id)
    try:
        lines, code = run_command(store, args.reports_command, config.reports_low_hours_x100)
    finally:
        store.close()
    print("\n".join(lines))
    return code


def _node_serve(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from campus.node.app import create_app
    from campus.node.config import NodeConfig
    from campus.node.ops.restore import check_no_pending_restore
    from campus.web.serving import serve_forever

    config = NodeConfig.load(Path(args.dir))
    check_no_pending_restore(config)
    if args.certfile or args.keyfile:
        config = replace(config, certfile=args.certfile or "", keyfile=args.keyfile or "")
    host, port = args.host or config.host, args.port or config.port
    print(f"campus node {config.campus_code} on {'https' if config.certfile else 'http'}://{host}:{port}")
    if config.devices_port and config.devices_port != port:  # [devices] port: terminals only, plain HTTP
        from campus.node.devices.serving import serve_with_devices

        devices_host = config.devices_host or host
        print(f"attendance terminals also on http://{devices_host}:{config.devices_port}/iclock/")
        serve_with_devices(create_app(config), host, port, devices_host, config.devices_port, config.certfile,
                           config.keyfile)
        return 0
    serve_forever(create_app(config), host, port, config.certfile, config.keyfile)
    return 0


def _hub_init(args: argparse.Namespace) -> int:
    from campus.hub.bootstrap import init_hub

    overrides = {k: v for k, v in (("port", args.port), ("host", args.host)) if v is not None}
    config = init_hub(Path(args.dir), database_url=args.db or "", admin_password=args.admin_password, **overrides)
    print(f"hub created in {config.directory}; store: {config.store_url}")
    _print_first_admin(config.directory, args.admin_password)
    return 0


def _print_first_admin(directory: Path, chosen: str | None) -> None:
    from campus.web.accounts.store import ADMIN_USERNAME, INITIAL_PASSWORD_FILE

    if chosen:
        print(f"first admin: {ADMIN_USERNAME} with the password you gave")
    else:
        password = (directory / INITIAL_PASSWORD_FILE).read_text().strip()
        print(f"first admin: {ADMIN_USERNAME} / {password}  (also in {directory / INITIAL_PASSWORD_FILE}; "
              "change it and delete the file)")


def _hub_serve(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from campus.hub.app import create_app
    from campus.hub.config import HubConfig
    from campus.web.serving import serve_forever

    config = HubConfig.load(Path(args.dir))
    if args.db:
        config = replace(config, database_url=args.db)
    if args.certfile or args.keyfile:
        config = replace(config, certfile=args.certfile or "", keyfile=args.keyfile or "")
    host, port = args.host or config.host, args.port or config.port
    print(f"campus hub on {'https' if config.certfile else 'http'}://{host}:{port}")
    serve_forever(create_app(config), host, port, config.certfile, config.keyfile)
    return 0


def _hub_backup(args: argparse.Namespace) -> int:
    from campus.hub.config import HubConfig
    from campus.hub.ops import backup_hub

    target, manifest = backup_hub(HubConfig.load(Path(args.dir)), Path(args.to) if args.to else None)
    _print_backup(target, manifest)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from campus.demo import run_demo

    return run_demo(Path(args.dir) if args.dir else None, serve=args.serve)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="campus", description="Campus: offline-first school management.")
    sides = parser.add_subparsers(dest="side", required=True, metavar="{node,hub,sync,import,doctor,demo}")

    node = sides.add_parser("node", help="a campus node").add_subparsers(dest="command", required=True)
    p = node.add_parser("init", help="create a node directory for one campus")
    p.add_argument("--dir", required=True, help="directory to create (holds campus.toml and node.sqlite)")
    p.add_argument("--campus-code", required=True, help="short code such as BJ01; prefixes human numbers")
    p.add_argument("--name", required=True, help="the campus's display name")
    p.add_argument("--host", help="address to serve on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to serve on (default 8100)")
    p.add_argument("--admin-password", help="password of the first admin (default: made up and printed once)")
    p.add_argument("--hub", help="the hub's URL, to enroll this node there")
    p.add_argument("--token", help="one-time enrollment token from 'campus hub campus add'")
    p.add_argument("--ca-file", help="trust only this CA certificate (PEM) for the hub's TLS: a self-signed hub")
    p.set_defaults(run=_node_init)
    p = node.add_parser("restore", help="restore a campus from a backup, or rebuild it from the hub")
    p.add_argument("--dir", required=True, help="the node directory (new and empty, or the campus's own)")
    p.add_argument("--from-backup", metavar="FILE", help="a .campus-backup file from 'campus node backup'")
    p.add_argument("--force", action="store_true", help="replace a store the directory holds (kept aside)")
    p.add_argument("--hub", help="the hub's URL, to rebuild the campus from the hub with --token")
    p.add_argument("--token", help="one-time restore token from 'campus hub campus restore-token'")
    p.set_defaults(run=_node_restore)
    p = node.add_parser("backup", help="back the node up while it serves (consistent, compressed, verified)")
    p.add_argument("--dir", required=True, help="the node directory")
    p.add_argument("--to", help="the backup file (or a folder for it); default: the [backup] folder")
    p.set_defaults(run=_node_backup)
    p = node.add_parser("verify-backup", help="open a backup read-only and check it whole; exit 1 on a problem")
    p.add_argument("file", help="the .campus-backup file")
    p.set_defaults(run=_verify_backup)
    p = node.add_parser("export", help="every business table as csv, xlsx or json, readable columns (audited)")
    p.add_argument("--dir", required=True, help="the node directory")
    p.add_argument("--to", required=True, help="a new or empty folder for the files")
    p.add_argument("--format", choices=["csv", "xlsx", "json"], default="csv", help="default csv")
    p.set_defaults(run=_node_export)
    p = node.add_parser("rotate-key", help="replace this node's key pair (the new key is signed by the old)")
    p.add_argument("--dir", required=True, help="the node directory")
    p.set_defaults(run=_node_rotate_key)
    p = node.add_parser("serve", help="serve a node's API and staff screens")
    p.add_argument("--dir", required=True, help="the node directory")
    p.add_argument("--host", help="override the configured address")
    p.add_argument("--port", type=int, help="override the configured port")
    p.add_argument("--certfile", help="serve over TLS with this certificate (PEM); or [server] certfile")
    p.add_argument("--keyfile", help="the certificate's private key (PEM); or [server] keyfile")
    p.set_defaults(run=_node_serve)
    kiosk = node.add_parser("kiosk", help="attendance kiosks of this node").add_subparsers(dest="kiosk_command",
                                                                                         required=True)
    p = kiosk.add_parser("add", help="register a kiosk device and print its id and secret")
    p.add_argument("--dir", required=True, help="the node directory")
    p.add_argument("--name", required=True, help="where it stands, e.g. 前台 or 3楼走廊")
    p.set_defaults(run=_kiosk)
    p = kiosk.add_parser("revoke", help="stop accepting a kiosk's requests")
    p.add_argument("--dir", required=True, help="the node directory")
    p.add_argument("--id", required=True, help="the kiosk id printed by 'kiosk add'")
    p.set_defaults(run=_kiosk)
    device = node.add_parser("device", help="attendance terminals (ZKTeco PUSH) of this node").add_subparsers(
        dest="device_command", required=True)
    p = device.add_parser("add", help="approve a terminal by its serial number (a pending one, or before it calls)")
    p.add_argument("--dir", required=True, help="the node directory")
    p.add_argument("--serial", required=True, help="the terminal's serial number (SN), as on its label or menu")
    p.add_argument("--name", required=True, help="where it stands, e.g. 前台 or 3楼走廊")
    p.add_argument("--charset", choices=["utf-8", "gb18030"], help="how names go out (default: from its language)")
    p.add_argument("--address", help="accept it only from this address")
    p.set_defaults(run=_device)
    p = device.add_parser("list", help="terminals pending, approved and revoked, with their last contact")
    p.add_argument("--dir", required=True, help="the node directory")
    p.set_defaults(run=_device)
    p = device.add_parser("revoke", help="refuse a terminal from now on")
    p.add_argument("--dir", required=True, help="the node directory")
    p.add_argument("--serial", required=True, help="the terminal's serial number")
    p.set_defaults(run=_device)

    hub = sides.add_parser("hub", help="the headquarters hub").add_subparsers(dest="command", required=True)
    p = hub.add_parser("init", help="create a hub directory")
    p.add_argument("--dir", required=True, help="directory to create (holds campus.toml and hub.sqlite)")
    p.add_argument("--db", help="PostgreSQL URL (postgresql+psycopg://...) instead of hub.sqlite")
    p.add_argument("--host", help="address to serve on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to serve on (default 8000)")
    p.add_argument("--admin-password", help="password of the first admin (default: made up and printed once)")
    p.set_defaults(run=_hub_init)
    p = hub.add_parser("serve", help="serve the hub's console, API and sync endpoints")
    p.add_argument("--dir", required=True, help="the hub directory")
    p.add_argument("--db", help="override the configured database URL")
    p.add_argument("--host", help="override the configured address")
    p.add_argument("--port", type=int, help="override the configured port")
    p.add_argument("--certfile", help="serve over TLS with this certificate (PEM); or [server] certfile")
    p.add_argument("--keyfile", help="the certificate's private key (PEM); or [server] keyfile")
    p.set_defaults(run=_hub_serve)
    p = hub.add_parser("backup", help="back a SQLite hub up while it serves (PostgreSQL: pg_dump)")
    p.add_argument("--dir", required=True, help="the hub directory")
    p.add_argument("--to", help="the backup file (or a folder for it); default: the [backup] folder")
    p.set_defaults(run=_hub_backup)
    p = hub.add_parser("verify-backup", help="open a backup read-only and check it whole; exit 1 on a problem")
    p.add_argument("file", help="the .campus-backup file")
    p.set_defaults(run=_verify_backup)

    campus_cmd = hub.add_parser("campus", help="campuses, enrollment tokens and keys").add_subparsers(
        dest="campus_command", required=True)
    p = campus_cmd.add_parser("add", help="create a campus and print its one-time enrollment token")
    p.add_argument("--dir", required=True, help="the hub directory")
    p.add_argument("--code", required=True, help="campus code such as BJ01")
    p.add_argument("--name", required=True, help="the campus's display name")
    p.set_defaults(run=_campus_add)
    p = campus_cmd.add_parser("restore-token", help="print a one-time token to restore or re-key a campus's node")
    p.add_argument("--dir", required=True, help="the hub directory")
    p.add_argument("--code", required=True, help="campus code")
    p.set_defaults(run=_campus_restore_token)
    p = campus_cmd.add_parser("revoke-key", help="revoke the keys of a campus's node")
    p.add_argument("--dir", required=True, help="the hub directory")
    p.add_argument("--code", required=True, help="campus code")
    p.set_defaults(run=_campus_revoke_key)
    books = hub.add_parser("books", help="the group books").add_subparsers(dest="books_command", required=True)
    p = books.add_parser("verify", help="recompute every campus's journal and the roll-ups; exit 1 on a difference")
    p.add_argument("--dir", required=True, help="the hub directory")
    p.set_defaults(run=_hub_books_verify)

    reports = hub.add_parser("reports", help="the group reports' roll-ups").add_subparsers(
        dest="reports_command", required=True)
    p = reports.add_parser("verify", help="recompute every campus's report facts; exit 1 on a difference")
    p.add_argument("--dir", required=True, help="the hub directory")
    p.set_defaults(run=_hub_reports)
    p = reports.add_parser("rebuild", help="make the report roll-ups again from the merged facts")
    p.add_argument("--dir", required=True, help="the hub directory")
    p.set_defaults(run=_hub_reports)

    sync = sides.add_parser("sync", help="sync a node with its hub").add_subparsers(dest="command", required=True)
    p = sync.add_parser("now", help="push this node's changes and pull the hub's, with progress")
    p.add_argument("--dir", required=True, help="the node directory")
    p.set_defaults(run=_sync_now)

    imports = sides.add_parser("import", help="import data into a node").add_subparsers(dest="command",
                                                                                     required=True)
    for name, help_text, default_mode in (
            ("leads", "import leads from a .csv (any encoding) or .xlsx export", "rows"),
            ("students", "migrate students with their remaining hours and value (opening balances)", "all")):
        p = imports.add_parser(name, help=help_text)
        p.add_argument("file", help="the spreadsheet export")
        p.add_argument("--dir", required=True, help="the node directory")
        p.add_argument("--mapping", help="a TOML mapping file: [columns] \"header\" = \"field\" | \"keep\" | "
                                         "\"ignore\"; unmapped = \"keep\" | \"ignore\"; header_line = N")
        p.add_argument("--dry-run", action="store_true", help="check every row and print what would happen; write nothing")
        p.add_argument("--mode", choices=("rows", "all"), help=f"rows: write the valid rows; all: nothing unless every "
                                                             f"row is valid (default {default_mode})")
        p.add_argument("--rejected", help="write the rejected rows to this .xlsx, to fix and import again")
        if name == "students":
            p.add_argument("--as-of", help="the day the old system's balances are as of (default: the last day of "
                                           "the previous month); the books open with them after it")
        p.set_defaults(run=_import)

    p = sides.add_parser("doctor", help="check a node's or the hub's directory; exit 0 only when all is well")
    p.add_argument("--dir", required=True, help="the node or hub directory")
    p.set_defaults(run=_doctor)

    p = sides.add_parser("demo", help="a hub and two campus nodes on loopback, with some activity")
    p.add_argument("--dir", help="where to put the demo's directories (default: a new temporary one)")
    p.add_argument("--serve", action="store_true", help="keep serving after the demo until Ctrl-C")
    p.set_defaults(run=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from campus.schema.backups import BackupError
    from campus.schema.errors import DomainError
    from campus.sync.client import HubUnreachable, SyncRefused

    try:
        return args.run(args)
    except (ConfigError, DomainError, ValueError, HubUnreachable, SyncRefused, BackupError) as exc:
        print(f"campus: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
