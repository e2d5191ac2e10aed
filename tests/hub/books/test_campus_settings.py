"""A campus's book settings travel as data, so the hub derives its journal as its node does."""

from __future__ import annotations

from starlette.testclient import TestClient

from campus.hub.books import rollups
from campus.node.app import create_app
from campus.node.books.queries import campus_journal
from campus.node.config import NodeConfig
from campus.node.context import NodeContext
from campus.node.store import NodeStore
from campus.schema.books.posting import BooksSettings, ExpiryTreatment
from tests.conftest import sign_in
from tests.node.test_books import _taught


def test_a_campus_with_vat_on_is_derived_with_vat_at_the_hub_too(node_config: NodeConfig) -> None:
    config = NodeConfig(**{**vars(node_config), "vat_rate_bp": 300, "books_expiry": "recognise",
                           "timezone": "Asia/Urumqi"})
    config.save()
    with TestClient(create_app(config), raise_server_exceptions=False) as client:
        sign_in(client)
        _taught(client)
        income = client.get("/api/v1/books/income-statement").json()

    store = NodeStore(config.database_path, config.node_id)
    try:
        with store.read() as conn:
            at_node = campus_journal(conn, NodeContext.of(config), NodeContext.of(config).books)
            settings, zone = rollups.settings_for(conn, config.campus_id)
            as_the_hub_derives = rollups.derive(conn, config.campus_id)
    finally:
        store.close()

    assert settings == BooksSettings(300, ExpiryTreatment.RECOGNISE, 5000) and zone == "Asia/Urumqi"
    assert sorted(as_the_hub_derives, key=lambda e: e.id) == sorted(at_node, key=lambda e: e.id)
    assert income["tuition_revenue_fen"] == 29126  # ¥300 taught, 3% simplified VAT split out


def test_a_campus_on_the_defaults_writes_no_settings_row(node_config: NodeConfig) -> None:
    with TestClient(create_app(node_config), raise_server_exceptions=False):
        pass
    store = NodeStore(node_config.database_path, node_config.node_id)
    try:
        with store.read() as conn:
            assert rollups.settings_for(conn, node_config.campus_id) == (BooksSettings(), "Asia/Shanghai")
    finally:
        store.close()
