# Sourced by scripts/demo and scripts/test: make .venv (Python 3.11+) and install the project into it.
# Re-installs only when pyproject.toml or setup.py changed since the last install.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

find_python() {
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
           "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            echo "$candidate"; return 0
        fi
    done
    echo "Campus needs Python 3.11 or newer on PATH" >&2
    return 1
}

if [ ! -x .venv/bin/python ]; then
    python="$(find_python)"
    echo "creating .venv with $("$python" --version)" >&2
    "$python" -m venv .venv
fi
# CAMPUS_EXTRAS: the optional dependency groups wanted, e.g. "[dev,postgres]" (scripts/test) or
# nothing (scripts/demo: SQLite only, no psycopg). An install that already holds every wanted
# group is kept, so the demo run after the tests does not reinstall.
stamp=".venv/.campus-installed"
digest="$(cat pyproject.toml setup.py | sha256sum | cut -d' ' -f1)"
wanted="$(echo "${CAMPUS_EXTRAS:-}" | tr -d '[] ' | tr ',' '\n' | sed '/^$/d' | sort -u)"
installed_digest="$(head -n 1 "$stamp" 2>/dev/null || true)"
installed="$(tail -n +2 "$stamp" 2>/dev/null || true)"
missing="$(comm -23 <(echo "$wanted") <(echo "$installed" | sort -u) | sed '/^$/d')"
if [ "$installed_digest" != "$digest" ] || [ -n "$missing" ]; then
    echo "installing Campus and its dependencies into .venv" >&2
    .venv/bin/python -m pip install --quiet --upgrade pip >&2
    .venv/bin/python -m pip install --quiet -e ".${CAMPUS_EXTRAS:-}" >&2
    # pip keeps what an earlier install brought, so the groups held are the old ones too
    # when the dependencies did not change.
    if [ "$installed_digest" = "$digest" ]; then wanted="$(printf '%s\n%s\n' "$wanted" "$installed" | sed '/^$/d' | sort -u)"; fi
    printf '%s\n%s\n' "$digest" "$wanted" | sed '/^$/d' > "$stamp"
fi
