"""Key rotation and revocation, over real HTTP."""

from __future__ import annotations

import pytest

from campus.node.bootstrap import rotate_node_key
from campus.sync.client import SyncRefused
from campus.sync.signing import load_private_key, save_private_key
from tests.e2e.sync_helpers import Group

pytestmark = pytest.mark.campuses("BJ01")


def test_rotated_key_signs_the_next_sync_and_the_old_key_is_refused(group: Group) -> None:
    bj = group.campuses["BJ01"]
    old_key = load_private_key(bj.config.key_path)

    rotate_node_key(bj.config)
    bj.http.post("/api/v1/leads", json={"name": "张伟", "phone": "13800138000"}).raise_for_status()

    assert bj.sync().pushed == 2  # the lead, and the audit event of the sign-in that made it
    assert not bj.config.key_path.with_suffix(".key.new").exists()
    save_private_key(old_key, bj.config.key_path)  # put the old key back: the hub no longer accepts it
    with pytest.raises(SyncRefused) as refused:
        bj.sync()
    assert refused.value.reason == "bad_signature"


def test_revoked_campus_is_refused_until_re_keyed_with_a_restore_token(group: Group) -> None:
    bj = group.campuses["BJ01"]
    bj.http.post("/api/v1/leads", json={"name": "张伟", "phone": "13800138000"}).raise_for_status()

    assert group.hub.sync.revoke_keys("BJ01") == 1
    with pytest.raises(SyncRefused) as refused:
        bj.sync()

    assert refused.value.reason == "revoked_key"
    assert group.hub.sync.status()[0]["key_status"] == "revoked"
    assert group.hub.sync.status()[0]["hub_known_head"] == 0
