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
stamp=".venv/.campus-installed"
want="$(cat pyproject.toml setup.py | sha256sum | cut -d' ' -f1)-${CAMPUS_EXTRAS:-}"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "installing Campus and its dependencies into .venv" >&2
    .venv/bin/python -m pip install --quiet --upgrade pip >&2
    .venv/bin/python -m pip install --quiet -e ".${CAMPUS_EXTRAS:-}" >&2
    echo "$want" > "$stamp"
fi
