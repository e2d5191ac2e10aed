"""Sync through a network that drops, delays and duplicates: it still completes, nothing lost or doubled."""

from __future__ import annotations

import pytest

from campus.hub.sync import stored_links
from campus.node.crm.leads import Campus as CampusRef
from campus.node.crm.leads import create_lead
from campus.node.sync import replica_for
from campus.sync.client import HubUnreachable, SyncClient
from campus.sync.signing import load_private_key
from tests.e2e.fault_proxy import DELAY, DROP_REQUEST, DROP_RESPONSE, DUPLICATE, FaultProxy
from tests.e2e.sync_helpers import Campus, Group, differences

LEADS = 300


def _client(campus: Campus, hub_url: str) -> SyncClient:
    config = campus.config
    return SyncClient(hub_url, config.node_id, load_private_key(config.key_path), bytes.fromhex(config.hub_public_key),
                      replica_for(campus.store(), config.campus_id), max_batch_bytes=6000, timeout=10)


def _sync_until_done(client: SyncClient, attempts: int = 200) -> int:
    failures = 0
    for _ in range(attempts):
        try:
            client.sync_once()
            return failures
        except HubUnreachable:
            failures += 1
    raise AssertionError(f"sync did not complete in {attempts} attempts")


@pytest.mark.parametrize("fault", [DROP_REQUEST, DROP_RESPONSE, DUPLICATE, DELAY])
def test_sync_through_a_faulty_link_loses_and_doubles_nothing(group: Group, fault: str) -> None:
    bj, sh = group.campuses["BJ01"], group.campuses["SH01"]
    with bj.store().unit_of_work() as uow:
        for k in range(LEADS):
            create_lead(uow, CampusRef(bj.config.campus_id, "BJ01"), f"学员{k}", f"1370000{k:04d}")

    with FaultProxy(group.hub_server.url, fault, rate=0.3) as proxy:
        bj_client, sh_client = _client(bj, proxy.url), _client(sh, proxy.url)
        failures = _sync_until_done(bj_client) + _sync_until_done(sh_client) + _sync_until_done(bj_client)
        bj_client.close(), sh_client.close()

    assert fault in proxy.seen
    if fault in (DROP_REQUEST, DROP_RESPONSE):
        assert failures > 0  # the faults really hit
    head = bj.store().head()[0]
    with group.hub_store.read() as conn:
        seqs = [seq for seq, _, _ in stored_links(conn, bj.config.node_id)]
        logged = (len(seqs), max(seqs))
        leads = conn.exec_driver_sql("select count(*) from leads").scalar_one()
    assert tuple(logged) == (head, head)  # every change once, none missing
    assert leads == LEADS
    with sh.store().read() as conn:
        assert conn.exec_driver_sql("select count(*) from leads").scalar_one() == LEADS
    assert differences(group) == {"BJ01": [], "SH01": []}
