"""The end-to-end group (a hub on loopback with enrolled BJ01 and SH01 nodes), on each engine."""

from tests.e2e.conftest import any_group, group  # noqa: F401  (fixtures)
