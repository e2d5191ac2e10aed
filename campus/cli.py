"""The ``campus`` command: thin wrappers that parse arguments and call the use cases."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from campus.schema.config import ConfigError


def _node_init(args: argparse.Namespace) -> int:
    from campus.node.bootstrap import init_node

    overrides = {k: v for k, v in (("port", args.port), ("host", args.host)) if v is not None}
    config = init_node(Path(args.dir), args.campus_code, args.name, **overrides)
    print(f"node for campus {config.campus_code} ({config.campus_name}) created in {config.directory}")
    print(f"node id {config.node_id}; start it with: campus node serve --dir {config.directory}")
    return 0


def _node_serve(args: argparse.Namespace) -> int:
    from campus.node.app import create_app
    from campus.node.config import NodeConfig
    from campus.web.serving import serve_forever

    config = NodeConfig.load(Path(args.dir))
    host, port = args.host or config.host, args.port or config.port
    print(f"campus node {config.campus_code} on http://{host}:{port}")
    serve_forever(create_app(config), host, port)
    return 0


def _hub_init(args: argparse.Namespace) -> int:
    from campus.hub.bootstrap import init_hub

    overrides = {k: v for k, v in (("port", args.port), ("host", args.host)) if v is not None}
    config = init_hub(Path(args.dir), database_url=args.db or "", **overrides)
    print(f"hub created in {config.directory}; store: {config.store_url}")
    return 0


def _hub_serve(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from campus.hub.app import create_app
    from campus.hub.config import HubConfig
    from campus.web.serving import serve_forever

    config = HubConfig.load(Path(args.dir))
    if args.db:
        config = replace(config, database_url=args.db)
    host, port = args.host or config.host, args.port or config.port
    print(f"campus hub on http://{host}:{port}")
    serve_forever(create_app(config), host, port)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from campus.demo import run_demo

    return run_demo(Path(args.dir) if args.dir else None, serve=args.serve)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="campus", description="Campus: offline-first school management.")
    sides = parser.add_subparsers(dest="side", required=True, metavar="{node,hub,demo}")

    node = sides.add_parser("node", help="a campus node").add_subparsers(dest="command", required=True)
    p = node.add_parser("init", help="create a node directory for one campus")
    p.add_argument("--dir", required=True, help="directory to create (holds campus.toml and node.sqlite)")
    p.add_argument("--campus-code", required=True, help="short code such as BJ01; prefixes human numbers")
    p.add_argument("--name", required=True, help="the campus's display name")
    p.add_argument("--host", help="address to serve on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to serve on (default 8100)")
    p.set_defaults(run=_node_init)
    p = node.add_parser("serve", help="serve a node's API and staff screens")
    p.add_argument("--dir", required=True, help="the node directory")
    p.add_argument("--host", help="override the configured address")
    p.add_argument("--port", type=int, help="override the configured port")
    p.set_defaults(run=_node_serve)

    hub = sides.add_parser("hub", help="the headquarters hub").add_subparsers(dest="command", required=True)
    p = hub.add_parser("init", help="create a hub directory")
    p.add_argument("--dir", required=True, help="directory to create (holds campus.toml and hub.sqlite)")
    p.add_argument("--db", help="PostgreSQL URL (postgresql+psycopg://...) instead of hub.sqlite")
    p.add_argument("--host", help="address to serve on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to serve on (default 8000)")
    p.set_defaults(run=_hub_init)
    p = hub.add_parser("serve", help="serve the hub's console, API and sync endpoints")
    p.add_argument("--dir", required=True, help="the hub directory")
    p.add_argument("--db", help="override the configured database URL")
    p.add_argument("--host", help="override the configured address")
    p.add_argument("--port", type=int, help="override the configured port")
    p.set_defaults(run=_hub_serve)

    p = sides.add_parser("demo", help="a hub and two campus nodes on loopback, with some activity")
    p.add_argument("--dir", help="where to put the demo's directories (default: a new temporary one)")
    p.add_argument("--serve", action="store_true", help="keep serving after the demo until Ctrl-C")
    p.set_defaults(run=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except ConfigError as exc:
        print(f"campus: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
