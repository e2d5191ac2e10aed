#!/usr/bin/env bash
# A longer Schemathesis run than the suite's: every operation of the node's and the hub's OpenAPI,
# signed in, CAMPUS_FUZZ_EXAMPLES generated cases each (default here 200), varying the seed.
set -euo pipefail
CAMPUS_EXTRAS="[dev,postgres]"
source "$(dirname "$0")/bootstrap.sh"
export CAMPUS_FUZZ_EXAMPLES="${CAMPUS_FUZZ_EXAMPLES:-200}"
exec .venv/bin/pytest -q -p no:cacheprovider tests/web/test_api_fuzz.py --hypothesis-seed="${SEED:-$RANDOM}" "$@"
