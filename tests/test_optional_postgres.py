"""psycopg is the optional extra ``campus[postgres]``: nothing but the hub's PostgreSQL mode may need it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# Run in a fresh interpreter where importing psycopg fails as it does when the extra is not
# installed, then import every module of the installed package.
_WALK = textwrap.dedent("""
    import importlib, importlib.abc, pkgutil, sys

    class NoPsycopg(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "psycopg" or name.startswith(("psycopg.", "psycopg_")):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NoPsycopg())
    import campus
    failed = []
    names = ["campus"]
    for folder in ("schema", "sync", "node", "hub", "web"):
        package = importlib.import_module(f"campus.{folder}")
        names.append(package.__name__)
        names += [info.name for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")
                  if ".migrations" not in info.name]
    names += ["campus.cli", "campus.demo", "campus.kiosk_client"]
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as error:  # other import errors are other tests' business
            if (error.name or "").startswith("psycopg"):
                failed.append(f"{name}: {error}")
    print(len(names), "modules")
    print("\\n".join(failed))
    sys.exit(1 if failed else 0)
""")


def test_every_module_imports_without_psycopg() -> None:
    done = subprocess.run([sys.executable, "-c", _WALK], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert int(done.stdout.split()[0]) > 20  # the walk found the package, not an empty path


def test_the_cli_builds_a_sqlite_hub_and_node_without_psycopg(tmp_path) -> None:
    script = textwrap.dedent(f"""
        import importlib.abc, sys

        class NoPsycopg(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name == "psycopg" or name.startswith(("psycopg.", "psycopg_")):
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
                return None

        sys.meta_path.insert(0, NoPsycopg())
        from campus.cli import main
        code = main(["hub", "init", "--dir", {str(tmp_path / "hub")!r}, "--admin-password", "hub-admin-pass-1"])
        code |= main(["node", "init", "--dir", {str(tmp_path / "node")!r}, "--campus-code", "BJ01",
                      "--name", "北京", "--admin-password", "node-admin-pass-1"])
        assert "psycopg" not in sys.modules
        sys.exit(code)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
