"""Three campuses write, sync in pieces, see pushes replayed and late, restart: all end as the hub.

A hypothesis state machine drives a real hub and three real campus nodes on loopback. Each step
writes or edits leads at one campus, syncs one campus fully or only partly (the link dies after a
few requests, before or after the hub saw the request), re-delivers a push the hub already took
(duplicated or out of order), delivers a push that was lost on the way long after it was sent, or
restarts a campus's server on its store. After every step the hub's copy of each node's log must be
contiguous and no longer than the node's own; at the end, after two round-robin full syncs, every
campus must hold exactly what the hub holds for it, the hub every lead, and nothing was refused.

Every run starts from a copy of one enrolled hub and campuses (see ``enrolled_group``), so a run
costs well under a second before its steps. ``--hypothesis-show-statistics`` lists what the runs
reached (cut pushes, late deliveries, edits of pulled leads, conflicts recorded at the hub).
"""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from sqlalchemy import Connection, func, select

from campus.hub import feed
from campus.hub.bootstrap import init_hub
from campus.hub.config import HubConfig
from campus.hub.sync import stored_links
from campus.node.app import create_app as create_node_app
from campus.node.bootstrap import init_node
from campus.node.config import NodeConfig
from campus.node.crm.leads import Campus as CampusRef
from campus.node.crm.leads import create_lead, edit_lead
from campus.node.sync import replica_for
from campus.schema.tables import hub_nodes, leads
from campus.sync import protocol
from campus.sync.client import HubUnreachable, SyncClient
from campus.sync.signing import load_private_key
from campus.web.serving import BackgroundServer
from tests.e2e.sync_helpers import Campus, Group, differences, start_group

pytestmark = pytest.mark.slow

ADMIN_PASSWORD = "admin-password-1"
CAMPUSES = {"BJ01": "北京海淀校区", "SH01": "上海徐汇校区", "GZ01": "广州天河校区"}
CODES = tuple(CAMPUSES)
NODES = st.integers(0, len(CODES) - 1)
EDITS = {
    "name": ["张伟", "陈静", "李娜(家长)", "王芳"],
    "notes": [None, "想学钢琴", "周末来访", "已试听"],
    "channel": [None, "douyin", "referral", "抖音", "wechat"],
}
NEW_LEAD = st.tuples(st.just("new"), st.sampled_from(EDITS["name"]), st.sampled_from(EDITS["channel"]))
EDIT = st.builds(lambda pick, edit: ("edit", pick, *edit), st.integers(0, 5),
                 st.sampled_from([(field, value) for field, values in EDITS.items() for value in values]))


@dataclass(frozen=True)
class Push:
    """A push request body as it went on the wire, and what it carried."""

    node_id: str
    body: bytes
    last_seq: int


class QuietCampus(Campus):
    """A campus whose ``http`` client is not signed in: the machine never calls a node's API, and each
    sign-in costs an argon2 hash, on every start and restart."""

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.server.url)


@cache
def enrolled_group() -> Path:
    """A hub directory and three enrolled campus directories, servers stopped; each run starts a copy.

    Enrolling costs key pairs, migrations of four stores, an argon2 hash and a first sync per campus:
    about a second, which a copy of the stopped stores saves on every run and every shrink step."""
    base = Path(tempfile.mkdtemp(prefix="campus-sync-machine-template-"))
    atexit.register(shutil.rmtree, base, ignore_errors=True)
    group = start_group(base, init_hub(base / "hub", admin_password=ADMIN_PASSWORD))
    try:
        for code, name in CAMPUSES.items():
            _campus_id, token = group.hub.sync.add_campus(code, name)
            init_node(base / code.lower(), code, name, hub_url=group.hub_server.url, token=token)
    finally:
        group.hub_server.stop()
    return base


def start_campus(config: NodeConfig) -> Campus:
    return QuietCampus(config, BackgroundServer(create_node_app(config, background_sync=False)).start())


class Link(httpx.BaseTransport):
    """The network between a node and the hub, over ``network``.

    It records every push the hub accepted in ``delivered`` and every push that never reached the
    hub in ``lost``. With a ``budget``, the link dies after that many requests: the next request is
    lost on the way (``drop_response=False``) or reaches the hub and its answer is lost.
    """

    def __init__(self, network: httpx.BaseTransport, delivered: list[Push], lost: list[Push],
                 budget: int | None = None, drop_response: bool = False) -> None:
        self.inner = network
        self.delivered = delivered
        self.lost = lost
        self.budget = budget
        self.drop_response = drop_response
        self.sent = 0
        self.cut = ""  # which message the dying link lost, for the run's statistics

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        push = _push_of(request) if request.url.path.endswith("/push") else None
        dead = self.budget is not None and self.sent >= self.budget
        if dead and not self.drop_response:
            if push:
                self.lost.append(push)
            self.cut = f"{request.url.path.rsplit('/', 1)[-1]} request lost"
            raise httpx.ConnectError("link down before the hub", request=request)
        self.sent += 1
        response = self.inner.handle_request(request)
        try:
            content = response.read()
        finally:
            response.close()
        if push and response.status_code == 200:
            self.delivered.append(push)
        if dead:
            self.cut = f"{request.url.path.rsplit('/', 1)[-1]} answer lost"
            raise httpx.ReadError("link down before the answer came back", request=request)
        headers = [(k, v) for k, v in response.headers.items()
                   if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
        return httpx.Response(response.status_code, headers=headers, content=content, request=request)

    def close(self) -> None:
        pass  # the network outlives the link: the machine closes it


def _push_of(request: httpx.Request) -> Push:
    body = request.read()
    decoded = protocol.decode_body(body)
    return Push(decoded["node_id"], body, int(decoded["changes"][-1][0]))


class SyncMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.base = Path(tempfile.mkdtemp(prefix="campus-sync-machine-"))
        self.group: Group | None = None
        self.delivered: list[Push] = []
        self.lost: list[Push] = []
        self.leads: list[str] = []  # ids, in the order they were entered anywhere
        self.network = httpx.HTTPTransport()  # one connection pool: making one costs an SSL context
        self.hub_http = httpx.Client(timeout=30, transport=self.network)
        try:
            shutil.copytree(enrolled_group(), self.base, dirs_exist_ok=True)
            self.group = start_group(self.base, HubConfig.load(self.base / "hub"))
            for code in CODES:
                config = NodeConfig.load(self.base / code.lower())
                self.group.campuses[code] = start_campus(replace(config, hub_url=self.group.hub_server.url))
        except BaseException:
            self._stop()
            raise

    # --- helpers ---------------------------------------------------------------------------------

    def campus(self, node: int) -> Campus:
        assert self.group is not None
        return self.group.campuses[CODES[node]]

    def client(self, campus: Campus, link: Link, max_batch_bytes: int = 1 << 20) -> SyncClient:
        config = campus.config
        assert self.group is not None
        return SyncClient(self.group.hub_server.url, config.node_id, load_private_key(config.key_path),
                          bytes.fromhex(config.hub_public_key), replica_for(campus.store(), config.campus_id),
                          max_batch_bytes=max_batch_bytes, transport=link, timeout=30)

    def full_sync(self, campus: Campus) -> None:
        client = self.client(campus, Link(self.network, self.delivered, self.lost))
        try:
            client.sync_once()
        finally:
            client.close()

    def hub_counts(self) -> tuple[int, int]:
        """Rows in the hub's node logs and in its feed: a harmless delivery changes neither."""
        assert self.group is not None
        with self.group.hub_store.read() as conn:
            logged = sum(len(stored_links(conn, node_id)) for node_id in self.hub_node_ids(conn))
            fed = len(feed.listing(conn))
        return logged, fed

    @staticmethod
    def hub_node_ids(conn: Connection) -> list[str]:
        return list(conn.execute(select(hub_nodes.c.node_id)).scalars())

    def hub_head(self, node_id: str) -> int:
        assert self.group is not None
        with self.group.hub_store.read() as conn:
            return conn.execute(select(hub_nodes.c.head_seq).where(hub_nodes.c.node_id == node_id)).scalar_one()

    def deliver(self, push: Push) -> httpx.Response:
        assert self.group is not None
        return self.hub_http.post(f"{self.group.hub_server.url}/sync/{protocol.VERSION}/push", content=push.body,
                                  headers={"content-type": protocol.MEDIA_TYPE})

    # --- rules -----------------------------------------------------------------------------------

    @rule(node=NODES, work=st.lists(st.one_of(NEW_LEAD, EDIT), min_size=1, max_size=5))
    def staff_work(self, node: int, work: list[tuple]) -> None:
        """Staff at one campus enter leads and edit leads, one transaction each.

        Leads are institution-wide: an edit picks one of the first few leads entered anywhere, and
        is made if this campus holds it by now (its own, or pulled), so campuses often edit the same lead."""
        campus = self.campus(node)
        here = CampusRef(campus.config.campus_id, campus.config.campus_code)
        for item in work:
            if item[0] == "new":
                _, name, channel = item
                with campus.store().unit_of_work() as uow:
                    lead = create_lead(uow, here, name, f"139{len(self.leads) + 1:08d}", channel=channel)
                self.leads.append(lead["id"])
                continue
            _, pick, field, value = item
            if not self.leads:
                continue
            lead_id = self.leads[pick % len(self.leads)]
            with campus.store().read() as conn:
                owner = conn.execute(select(leads.c.campus_id).where(leads.c.id == lead_id)).scalar()
            if owner is None:
                event("edit skipped: the lead has not reached this campus")
                continue
            event("edit of a lead written here" if owner == here.id else "edit of a lead pulled from another campus")
            with campus.store().unit_of_work() as uow:
                edit_lead(uow, lead_id, {field: value})

    @rule(order=st.lists(NODES, min_size=1, max_size=3))
    def sync(self, order: list[int]) -> None:
        """Full syncs of one or more campuses, one after another."""
        for node in order:
            self.full_sync(self.campus(node))

    @rule(node=NODES, budget=st.integers(0, 8), drop_response=st.booleans(),
          max_batch_bytes=st.sampled_from([300, 600, 2000]))
    def sync_partly(self, node: int, budget: int, drop_response: bool, max_batch_bytes: int) -> None:
        """Small batches over a link that dies after ``budget`` requests: sync stops part way, cleanly."""
        link = Link(self.network, self.delivered, self.lost, budget, drop_response)
        client = self.client(self.campus(node), link, max_batch_bytes=max_batch_bytes)
        try:
            client.sync_once()
            event("partial sync: completed")
        except HubUnreachable:
            event(f"partial sync: {link.cut}")
        finally:
            client.close()

    @rule(pick=st.integers(0, 1 << 16))
    def replay_old_push(self, pick: int) -> None:
        """A push the hub already took arrives again, possibly long after newer ones: nothing changes."""
        if not self.delivered:
            return
        push = self.delivered[pick % len(self.delivered)]
        before = self.hub_counts()
        response = self.deliver(push)
        assert response.status_code == 200, response.text
        assert protocol.decode_body(response.content)["applied"] == 0
        assert self.hub_counts() == before

    @rule(pick=st.integers(0, 1 << 16))
    def deliver_lost_push(self, pick: int) -> None:
        """A push lost on the way turns up late: taken if still new, ignored if the node re-sent it since."""
        if not self.lost:
            return
        push = self.lost.pop(pick % len(self.lost))
        before = self.hub_head(push.node_id)
        response = self.deliver(push)
        assert response.status_code == 200, response.text
        event("late push: taken" if push.last_seq > before else "late push: already re-sent, ignored")
        assert self.hub_head(push.node_id) == max(before, push.last_seq)
        self.delivered.append(push)

    @rule(node=NODES)
    def restart(self, node: int) -> None:
        """Stop the campus's server (its store closes) and serve the same directory again."""
        assert self.group is not None
        code = CODES[node]
        old = self.group.campuses[code]
        old.http.close()
        old.server.stop()
        self.group.campuses[code] = start_campus(old.config)

    # --- invariants --------------------------------------------------------------------------------

    @invariant()
    def hub_holds_a_contiguous_prefix_of_each_log(self) -> None:
        assert self.group is not None
        for code, campus in self.group.campuses.items():
            node_id = campus.config.node_id
            with self.group.hub_store.read() as conn:
                seqs = [seq for seq, _, _ in stored_links(conn, node_id)]
            count, top = len(seqs), max(seqs, default=0)
            head = self.hub_head(node_id)
            local_head = campus.store().head()[0]
            assert count == top == head, (code, count, top, head)
            assert head <= local_head, (code, head, local_head)

    # --- the end -----------------------------------------------------------------------------------

    def teardown(self) -> None:
        # Hypothesis calls teardown from a ``finally``: if a step already failed, report that, not convergence.
        failing = sys.exc_info()[1] is not None
        try:
            if not failing and self.group is not None:
                for code in CODES * 2:
                    self.full_sync(self.group.campuses[code])
                assert self.group.converged(), f"tables differing from the hub: {differences(self.group)}"
                for campus in self.group.campuses.values():
                    assert self.hub_head(campus.config.node_id) == campus.store().head()[0]
                with self.group.hub_store.read() as conn:
                    assert conn.execute(select(func.count()).select_from(leads)).scalar_one() == len(self.leads)
                assert self.group.hub.sync.rejections() == []
                event(f"conflicts recorded at the hub: {'some' if self.group.hub.sync.conflicts() else 'none'}")
        finally:
            self._stop()

    def _stop(self) -> None:
        """What ``Group.stop`` does, with the servers stopped side by side: each takes a few tenths of a second."""
        try:
            self.hub_http.close()  # and with it the network
            if self.group is not None:
                for campus in self.group.campuses.values():
                    campus.http.close()
                servers = [campus.server for campus in self.group.campuses.values()] + [self.group.hub_server]
                with ThreadPoolExecutor(len(servers)) as pool:
                    list(pool.map(BackgroundServer.stop, servers))
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


# Hypothesis's first ten runs are fresh random programs (later ones mostly mutate earlier ones), and a run
# costs about one to three seconds here: ten runs of forty steps keep the file at roughly 15-30 s.
SyncMachine.TestCase.settings = settings(
    max_examples=10, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TestSyncConvergence = SyncMachine.TestCase
