"""Build the upgrade fixtures: stores made by earlier releases of Campus, one per schema version.

    .venv/bin/python tests/data/stores/build.py [--only 0003 0014 ...] [--keep]

For each migration in ``schema/migrations/versions`` it finds the commit that added it (the first
release with that schema), checks that commit out read-only with ``git worktree add`` under /tmp
(never touching this checkout), lays it out as the ``campus`` package the way it is installed, and
runs that release's own ``campus demo`` with it on ``PYTHONPATH`` (ahead of this checkout's editable
install): a hub and two campuses doing a day of work over HTTP, as that release did it. The demo's
hub store and BJ01's node store are compacted (VACUUM INTO) and gzipped here as
``<revision>-hub.sqlite.gz`` and ``<revision>-node.sqlite.gz``; ``stores.json`` records where each
came from. The tests (tests/ops/test_upgrades.py) open each with today's code: it migrates and must
keep every row.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
VERSIONS = ROOT / "schema" / "migrations" / "versions"
FOLDERS = ("schema", "sync", "node", "hub", "web")
# What early releases needed and today's venv no longer has (msgpack, before msgspec did it all),
# installed aside: .venv/bin/pip install --no-deps --target /tmp/campus-old-deps msgpack
OLD_DEPENDENCIES = [os.environ.get("CAMPUS_OLD_DEPS", "/tmp/campus-old-deps")]


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True).stdout.strip()


def migrations() -> list[tuple[str, str, str]]:
    """(revision, commit that added it, its subject), oldest first."""
    found = []
    for path in sorted(VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py")):
        added = git("log", "--diff-filter=A", "--format=%H%x09%s", "--", str(path.relative_to(ROOT))).splitlines()
        commit, subject = added[-1].split("\t", 1)
        found.append((path.name[:4], commit, subject))
    return found


def releases_with(revision: str, commit: str, following: str | None) -> list[str]:
    """The commit that brought ``revision`` and the ones after it up to the next migration: when
    the first cannot run its demo (a commit made while others' work was not yet in), the next can."""
    span = git("rev-list", "--reverse", "--first-parent", f"{commit}^..{following}^" if following else
               f"{commit}^..HEAD").splitlines()
    return span[:6] or [commit]


def package(worktree: Path, into: Path) -> Path:
    """The release laid out as the installed ``campus`` package (as scripts/test lays it out)."""
    target = into / "campus"
    shutil.copytree(worktree / "campus", target)
    for folder in FOLDERS:
        if (worktree / folder).exists():
            (target / folder).symlink_to(worktree / folder)
    return into


def compact(source: Path, target: Path) -> dict[str, int]:
    db = sqlite3.connect(source)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        plain = target.with_suffix("")
        plain.unlink(missing_ok=True)
        db.execute("VACUUM INTO ?", (str(plain),))
        tables = {name: db.execute(f'select count(*) from "{name}"').fetchone()[0] for (name,) in db.execute(
            "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name")}
    finally:
        db.close()
    with plain.open("rb") as raw, gzip.GzipFile(target, "wb", compresslevel=9, mtime=0) as packed:
        shutil.copyfileobj(raw, packed)
    plain.unlink()
    return tables


def build(revision: str, commit: str, keep: bool) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix=f"campus-old-{revision}-"))
    worktree = work / "checkout"
    git("worktree", "add", "--detach", str(worktree), commit)
    try:
        path = package(worktree, work / "pkg")
        demo = work / "demo"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(path), *OLD_DEPENDENCIES]),
               "PYTHONDONTWRITEBYTECODE": "1"}
        done = subprocess.run([sys.executable, "-c", "import sys, campus.cli; sys.exit(campus.cli.main(sys.argv[1:]))",
                               "demo", "--dir", str(demo)], cwd=work, env=env, capture_output=True, text=True,
                              timeout=900)
        if done.returncode != 0:
            raise RuntimeError(f"the demo of {commit[:7]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        made: dict[str, object] = {"revision": revision, "commit": commit}
        for role, store in (("hub", demo / "hub" / "hub.sqlite"), ("node", demo / "bj01" / "node.sqlite")):
            target = HERE / f"{revision}-{role}.sqlite.gz"
            made[role] = {"file": target.name, "tables": compact(store, target)}
        return made
    finally:
        if not keep:
            git("worktree", "remove", "--force", str(worktree))
            shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="revisions to build (default: every one)")
    parser.add_argument("--upto", help="the last revision to build (the newest are this checkout's own)")
    parser.add_argument("--keep", action="store_true", help="keep the worktrees under /tmp")
    args = parser.parse_args()
    listing_file = HERE / "stores.json"
    listing = json.loads(listing_file.read_text()) if listing_file.exists() else {}
    found = migrations()
    for k, (revision, commit, subject) in enumerate(found):
        if (args.only and revision not in args.only) or (args.upto and revision > args.upto):
            continue
        following = found[k + 1][1] if k + 1 < len(found) else None
        for candidate in releases_with(revision, commit, following):
            print(f"{revision} {candidate[:7]} {subject[:70]}", flush=True)
            try:
                made = build(revision, candidate, args.keep)
                break
            except RuntimeError as failed:
                print(str(failed).splitlines()[0], flush=True)
        else:  # every commit of that schema was made while the tree was half-way (none ran)
            print(f"{revision}: no commit with this schema runs its demo; no fixture", flush=True)
            continue
        listing[revision] = {**made, "subject": subject[:200]}
        listing_file.write_text(json.dumps(dict(sorted(listing.items())), ensure_ascii=False, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
