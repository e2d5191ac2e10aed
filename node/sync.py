"""Wiring the node's store to the sync client."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Connection, select

from campus.node.config import NodeConfig
from campus.node.crm.detectors import settle_double_claims
from campus.node.finance.detectors import record_overdrafts
from campus.node.refunds.detectors import record_over_refunds
from campus.node.store import LOG_TABLES, NodeStore
from campus.schema.config import ConfigError
from campus.schema.tables import SCHEMA_VERSION, metadata, refunds
from campus.sync.changes import Change
from campus.sync.client import SyncClient
from campus.sync.replica import NodeReplica
from campus.sync.signing import load_private_key


def replica_for(store: NodeStore, campus_id: str | None = None) -> NodeReplica:
    return NodeReplica(store, metadata, LOG_TABLES, campus_id, SCHEMA_VERSION,
                       after_apply=lambda conn, changes: check_after_merge(store, conn, changes))


def check_after_merge(store: NodeStore, conn: Connection, changes: list[Change]) -> int:
    """Run the business rules a merge can break on what just arrived, in the transaction that
    merged it; returns conflicts recorded."""
    lead_ids = {c.row_id for c in changes if c.table == "leads"}
    # (id columns hold text ids)
    lead_ids |= {cast(str, c.fields["lead_id"]) for c in changes if c.table == "lead_history" and "lead_id" in c.fields}
    line_ids = {cast(str, c.fields["line_id"]) for c in changes if c.table == "asset_entries" and "line_id" in c.fields}
    refund_ids = [c.row_id for c in changes if c.table == "refunds"]
    contract_ids = {cast(str, c.fields["contract_id"]) for c in changes
                    if c.table == "asset_entries" and c.fields.get("cause_table") == "refunds"}
    if refund_ids:
        contract_ids |= set(conn.execute(select(refunds.c.contract_id).where(refunds.c.id.in_(refund_ids))).scalars())
    if not lead_ids and not line_ids and not contract_ids:
        return 0
    with store.capture(conn) as uow:
        return (settle_double_claims(uow, lead_ids) + record_overdrafts(uow, line_ids)
                + record_over_refunds(uow, contract_ids))


def client_for(config: NodeConfig, store: NodeStore, **options: object) -> SyncClient:
    if not config.hub_url or not config.hub_public_key:
        raise ConfigError(f"the node in {config.directory} is not enrolled with a hub")
    return SyncClient(config.hub_url, config.node_id, load_private_key(config.key_path),
                      bytes.fromhex(config.hub_public_key), replica_for(store, config.campus_id),
                      **{"ca_file": config.ca_file, **options})  # type: ignore[arg-type]
