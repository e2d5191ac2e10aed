"""``campus demo``: a hub and two campus nodes on loopback, a day of offline work, a sync, and the
hub's consolidated report.

Everything goes through the real thing: uvicorn on 127.0.0.1, SQLite files, Ed25519 keys, the
JSON API for the day's work and the sync protocol for the heal.
"""

from __future__ import annotations

import secrets
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import httpx
from rich import box
from rich.console import Console
from rich.table import Table
from starlette.applications import Starlette

from campus.hub.app import create_app as create_hub_app
from campus.hub.bootstrap import init_hub
from campus.hub.reports import campus_summary
from campus.kiosk_client import Kiosk
from campus.node.app import create_app as create_node_app
from campus.node.bootstrap import init_node
from campus.node.config import NodeConfig
from campus.node.devices.terminal import Terminal
from campus.node.store import NodeStore
from campus.node.sync import client_for
from campus.node.teaching.kiosks import add_device
from campus.schema.ids import new_id
from campus.schema.quantities import LessonHours, Money
from campus.schema.refunds import EXAMPLE_TIERS
from campus.schema.tables import metadata
from campus.sync.client import HubUnreachable
from campus.sync.digest import subscription_digests
from campus.web.serving import BackgroundServer

CAMPUSES = [("BJ01", "北京海淀校区"), ("SH01", "上海徐汇校区")]
LEADS = {
    "BJ01": [("张伟", "138 0013 8000", "douyin"), ("李娜", "+86 139-1234-5678", "baidu"),
             ("刘洋", "010-6552 1234", "walk-in"), ("周杰", "１３９１１１１２２２２", "referral")],
    "SH01": [("陈静", "(021)64381234", "event"), ("徐丽", "17712345678", "douyin"),
             ("孙浩", "19912345678", "baidu")],
}
FOLLOW_UPS = ["电话沟通,家长想了解周末钢琴班", "微信发送课程表和试听安排", "到店参观,约了周六试听"]


def _app(server: BackgroundServer) -> Starlette:
    """The app a server runs: the demo's servers run Campus's node and hub apps."""
    return cast(Starlette, server.server.config.app)


def _sync(config: NodeConfig, server: BackgroundServer, timeout: float = 5) -> str:
    store: NodeStore = _app(server).state.node.store
    client = client_for(config, store, timeout=timeout)
    try:
        report = client.sync_once()
        return f"pushed {report.pushed}, pulled {report.pulled}"
    except HubUnreachable:
        return "hub unreachable — keeps working offline"
    finally:
        client.close()


def _token(url: str, password: str) -> dict[str, str]:
    response = httpx.post(f"{url}/api/v1/auth/token", json={"username": "admin", "password": password}, timeout=10)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _price_list(hub_url: str, password: str) -> str:
    """Headquarters sets a price and a product; the campuses receive them with their first sync."""
    headers = _token(hub_url, password)
    with httpx.Client(timeout=10, headers=headers) as client:
        item = client.post(f"{hub_url}/api/v1/price-list/items", json={
            "grade": "初二", "subject": "数学", "level": "提高", "delivery": "small_class", "unit_price_fen": 18000})
        item.raise_for_status()
        product = client.post(f"{hub_url}/api/v1/price-list/products", json={
            "code": "MATH8-24", "name": "初二数学提高小班 24 课时", "price_item_id": item.json()["id"],
            "hours_x100": 2400, "gift_hours_x100": 200})
        product.raise_for_status()
        client.post(f"{hub_url}/api/v1/refund-policies", json={
            "code": "STD", "name": "标准退费政策", "is_default": True, "tiers": EXAMPLE_TIERS}).raise_for_status()
        for code, position, rules in PAY_PLANS:
            client.post(f"{hub_url}/api/v1/payroll/plans", json={
                "code": code, "name": code, "position": position, "effective_from": "2020-01-01",
                "rules": rules}).raise_for_status()
        return product.json()["id"]


# Headquarters' pay plans: consultants 3% of new signings (5% beyond ¥50,000 a month, progressive),
# 2% of renewals; teachers ¥60 an hour taught, +5% for a class of 2 or more.
PAY_PLANS = [
    ("C-STD", "consultant", {"basis": "signed", "tier_mode": "progressive",
                             "new": [{"from_fen": 0, "to_fen": 5_000_000, "rate_bp": 300},
                                     {"from_fen": 5_000_000, "to_fen": None, "rate_bp": 500}],
                             "renewal": [{"from_fen": 0, "to_fen": None, "rate_bp": 200}]}),
    ("T-STD", "teacher", {"tier_mode": "progressive",
                          "fees": [{"brackets": [{"from_hours_x100": 0, "to_hours_x100": None, "fen_per_hour": 6000}]}],
                          "bonuses": [{"min_students": 2, "rate_bp": 500}]}),
]


def _staff(client: httpx.Client, url: str) -> None:
    """Finance keeps the campus's staff records: the admin teaches the class and sold the contracts."""
    me = client.get(f"{url}/api/v1/users").json()["items"][0]["id"]
    for position, base in (("teacher", 0), ("consultant", 400_000)):
        client.post(f"{url}/api/v1/payroll/staff", json={"user_id": me, "position": position, "level": "3",
                                                         "base_salary_fen": base, "start_on": "2020-01-01"}
                    ).raise_for_status()


def _payroll(console: Console, nodes: list[tuple[NodeConfig, BackgroundServer]], hub_url: str, password: str) -> None:
    """Each campus drafts this month's payroll from its facts, submits and approves it (it posts to the
    books); headquarters sees the group's payroll, the sum of the campuses."""
    table = Table(title="Payroll this month (approved at each campus)", box=box.SIMPLE_HEAD)
    for column in ("campus", "payslips", "lesson fees", "commissions", "base and other", "total"):
        table.add_column(column, justify="left" if column == "campus" else "right")
    period = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    for config, server in nodes:
        with httpx.Client(timeout=30, headers=_token(server.url, password)) as client:
            run = client.post(f"{server.url}/api/v1/payroll/runs", json={"period": period})
            run.raise_for_status()
            run_id = run.json()["id"]
            client.post(f"{server.url}/api/v1/payroll/runs/{run_id}/submit").raise_for_status()
            client.post(f"{server.url}/api/v1/payroll/runs/{run_id}/approve").raise_for_status()
            shown = client.get(f"{server.url}/api/v1/payroll/runs/{run_id}").json()
        table.add_row(config.campus_code, str(len(shown["payslips"])), str(Money(shown["lesson_fees_fen"])),
                      str(Money(shown["commissions_fen"])), str(Money(shown["other_pay_fen"])),
                      str(Money(shown["total_fen"])))
        _sync(config, server)
    with httpx.Client(timeout=30, headers=_token(hub_url, password)) as client:
        group = client.get(f"{hub_url}/api/v1/payroll/group", params={"from": period, "to": period}).json()
    table.add_row("[bold]group at the hub[/bold]", "", "", "", "", str(Money(group["total"]["total_fen"])))
    console.print(table)


def _refund(console: Console, client: httpx.Client, url: str, student: dict[str, str], show: bool) -> str:
    """The student withdraws: the consultant requests the refund the policy allows, the campus
    manager approves it, finance pays it back by the original channel (one admin plays all three)."""
    contract_id = client.get(f"{url}/api/v1/students/{student['id']}/account").json()["lines"][0]["contract_id"]
    made = client.post(f"{url}/api/v1/refunds", json={"contract_id": contract_id, "reason_category": "customer",
                                                      "reason": "搬家", "notes": "回访：家长已决定，不再挽留"})
    made.raise_for_status()
    refund = made.json()
    client.post(f"{url}/api/v1/refunds/{refund['id']}/approve", json={}).raise_for_status()
    client.post(f"{url}/api/v1/refunds/{refund['id']}/pay", json={}).raise_for_status()
    if show:
        steps = Table(title=f"Refund {refund['number']} as calculated (退费单)", box=box.SIMPLE_HEAD)
        for column in ("step", "amount", "how"):
            steps.add_column(column, justify="right" if column == "amount" else "left")
        for step in refund["calculation"]["steps"]:
            amount = "" if step["amount_fen"] is None else str(Money(step["amount_fen"]))
            steps.add_row(step["label"], amount, step["detail"])
        console.print(steps)
    return f"refund {refund['number']} {Money(refund['amount_fen'])} paid"


def _sign_two(client: httpx.Client, url: str, product_id: str) -> tuple[list[str], list[dict[str, str]]]:
    """Two of the day's leads sign: student, deposit applied, contract, a first instalment."""
    receipts, signed = [], []
    leads = client.get(f"{url}/api/v1/leads", params={"limit": 2}).json()["items"]
    for lead in leads:
        deposit = client.post(f"{url}/api/v1/deposits", json={"lead_id": lead["id"], "amount_fen": 50000,
                                                              "fund_account": "wechat"})
        deposit.raise_for_status()
        student = client.post(f"{url}/api/v1/students", json={"lead_id": lead["id"]})
        student.raise_for_status()
        contract = client.post(f"{url}/api/v1/contracts", json={
            "student_id": student.json()["id"], "lines": [{"product_id": product_id}],
            "deposit_ids": [deposit.json()["id"]]})
        contract.raise_for_status()
        paid = client.post(f"{url}/api/v1/payments", json={"contract_id": contract.json()["id"],
                                                           "amount_fen": 200000, "fund_account": "alipay"})
        paid.raise_for_status()
        receipts += [deposit.json()["receipt_number"], paid.json()["receipt_number"]]
        signed.append({"id": student.json()["id"], "number": student.json()["number"],
                       "line_id": contract.json()["lines"][0]["id"]})
    return receipts, signed


def _lesson_with_kiosk(client: httpx.Client, server: BackgroundServer, signed: list[dict[str, str]]) -> str:
    """A class with the two new students, a lesson on now, a kiosk that checks them in (signed
    requests), and the teacher's confirmation that deducts their hours."""
    url = server.url
    me = client.get(f"{url}/api/v1/users").json()["items"][0]["id"]
    room = client.post(f"{url}/api/v1/rooms", json={"name": "101 教室", "capacity": 12}).json()["id"]
    course = client.post(f"{url}/api/v1/courses", json={"name": "初二数学提高", "lesson_hours_x100": 150}).json()["id"]
    klass = client.post(f"{url}/api/v1/classes", json={"course_id": course, "name": "初二数学周三班",
                                                       "teacher_id": me, "room_id": room}).json()["id"]
    for student in signed:
        client.post(f"{url}/api/v1/classes/{klass}/enrolments", json={
            "student_id": student["id"], "line_id": student["line_id"]}).raise_for_status()
    starts = datetime.now(UTC) - timedelta(minutes=5)
    lesson = client.post(f"{url}/api/v1/classes/{klass}/lessons", json={
        "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(minutes=90)).isoformat()})
    lesson.raise_for_status()
    node_store = _app(server).state.node.store
    with node_store.write() as conn:
        device = add_device(conn, "前台考勤机", new_id())
    kiosk = Kiosk(url, device["id"], device["secret"])
    for student in signed:
        kiosk.mark(student["number"])
    stored = kiosk.flush()
    kiosk.close()
    confirmed = client.post(f"{url}/api/v1/lessons/{lesson.json()['id']}/confirm")
    confirmed.raise_for_status()
    hours = sum(c["hours_x100"] for c in confirmed.json()["confirmed"])
    return f"kiosk checked in {stored}, lesson confirmed, {LessonHours(hours)} hours deducted"


def _terminal_check_in(client: httpx.Client, server: BackgroundServer) -> str:
    """A face clock at the door speaking ZKTeco's PUSH protocol (simulated): approved by its serial
    number, it is given the campus's students as users and checks them in; each punch becomes an
    attendance mark as the kiosk's did."""
    client.post(f"{server.url}/api/v1/devices", json={"serial": "CQZ7232460001", "name": "大门人脸机"}).raise_for_status()
    terminal = Terminal(server.url, "CQZ7232460001", language="83")  # set to Chinese: names in GB18030
    try:
        terminal.handshake()
        terminal.poll()  # DATA UPDATE USERINFO for each student, answered on devicecmd
        now = datetime.now(_app(server).state.node.ctx.zone).replace(tzinfo=None, microsecond=0)
        for pin in sorted(terminal.users):
            terminal.punch(pin, now)
        checked_in = terminal.upload_once()
    finally:
        terminal.close()
    return (f"a face terminal (ZKTeco PUSH, simulated) got {len(terminal.users)} students from the node and "
            f"checked in {checked_in}, each punch an attendance mark")


def _expense(client: httpx.Client, url: str, rent_fen: int) -> str:
    """Finance enters the month's rent; the campus manager approves it, and it posts to 管理费用."""
    today = datetime.now(UTC).date().isoformat()
    made = client.post(f"{url}/api/v1/books/expenses", json={
        "category": "rent", "amount_fen": rent_fen, "fund_account": "bank", "incurred_on": today,
        "description": "本月房租"})
    made.raise_for_status()
    client.post(f"{url}/api/v1/books/expenses/{made.json()['id']}/approve").raise_for_status()
    return f"rent {Money(rent_fen)} approved ({made.json()['number']})"


def _group_books(console: Console, hub_app: Starlette, hub_url: str, password: str,
                 nodes: list[tuple[NodeConfig, BackgroundServer]]) -> None:
    """The hub's consolidated books: each campus's income, the group after eliminations, and
    whether every campus's books at its node equal the hub's for it."""
    hub_app.state.books.run_once()  # the job runs every few seconds anyway
    months = {"from": "2020-01", "to": "2099-12"}
    with httpx.Client(timeout=30, headers=_token(hub_url, password)) as client:
        income = client.get(f"{hub_url}/api/v1/books/income-statement", params=months).json()
        trial = client.get(f"{hub_url}/api/v1/books/trial-balance", params=months).json()
    table = Table(title="Group income statement at the hub (利润表)", box=box.SIMPLE_HEAD)
    for column in ("", "revenue", "expenses", "profit"):
        table.add_column(column, justify="left" if not column else "right", no_wrap=True)
    for campus in income["campuses"]:
        total = campus["total"]
        table.add_row(campus["campus_code"], str(Money(total["revenue_fen"])), str(Money(total["expenses_fen"])),
                      str(Money(total["profit_fen"])))
    eliminated = income["eliminations"]["total"]
    table.add_row("eliminations", str(Money(-eliminated["revenue_fen"])), str(Money(-eliminated["expenses_fen"])),
                  str(Money(-eliminated["profit_fen"])))
    group = income["group"]["total"]
    table.add_row("[bold]group[/bold]", str(Money(group["revenue_fen"])), str(Money(group["expenses_fen"])),
                  str(Money(group["profit_fen"])))
    console.print(table)
    at_hub = {c["campus_code"]: {r["code"]: r["closing_fen"] for r in c["rows"]} for c in trial["campuses"]}
    for config, server in nodes:
        with httpx.Client(timeout=30, headers=_token(server.url, password)) as client:
            own = client.get(f"{server.url}/api/v1/books/trial-balance", params=months).json()
        mine = {r["account"]: r["closing_fen"] for r in own["items"]}
        same = {k: v for k, v in mine.items() if v} == {k: v for k, v in at_hub.get(config.campus_code, {}).items() if v}
        console.print(f"{config.campus_code}: books balance ({'debits = credits' if own['balanced'] else 'UNBALANCED'}), "
                      f"deferred tuition (2204) {Money(-mine.get('2204', 0))}, "
                      f"{'[green]trial balance identical at node and hub[/green]' if same else '[red]books differ[/red]'}")


def _digest(store: NodeStore, campus_id: str) -> dict[str, str]:
    with store.read() as conn:
        return subscription_digests(conn, metadata, campus_id)


def _converge(campuses: list[tuple[NodeConfig, BackgroundServer]],
              hub_store: Any) -> list[tuple[NodeConfig, list[str]]]:
    """Each campus's subscribed tables against the hub's, syncing again while they differ: a
    node's own jobs (PINs for new students, risk scores) may write after the last sync, and a slow
    machine may time a sync out; three rounds settle both."""
    differing: dict[str, list[str]] = {}
    for _ in range(3):
        for config, server in campuses:
            mine = _digest(_app(server).state.node.store, config.campus_id)
            hubs = _digest(hub_store, config.campus_id)
            differing[config.campus_id] = sorted(t for t in mine.keys() | hubs.keys() if mine.get(t) != hubs.get(t))
        if not any(differing.values()):
            break
        for config, server in campuses:
            _sync(config, server, timeout=30)
    return [(config, differing[config.campus_id]) for config, _ in campuses]


def run_demo(base: Path | None = None, serve: bool = False) -> int:
    console = Console()
    base = base or Path(tempfile.mkdtemp(prefix="campus-demo-"))
    console.rule(f"[bold]Campus demo[/bold] in {base}")
    password = secrets.token_urlsafe(9)
    hub_config = init_hub(base / "hub", admin_password=password)
    hub_server = BackgroundServer(create_hub_app(hub_config)).start()
    hub = _app(hub_server).state.hub
    configs = []
    for code, name in CAMPUSES:
        _, token = hub.sync.add_campus(code, name)
        configs.append(init_node(base / code.lower(), code, name, hub_url=hub_server.url, token=token))
    nodes = [BackgroundServer(create_node_app(config, background_sync=False)).start() for config in configs]
    console.print(f"hub   {hub_server.url}   (console, /api/v1/sync/status, /metrics)")
    product_id = _price_list(hub_server.url, password)
    console.print("HQ price list: 初二数学 小班 ¥180.00 an hour; product MATH8-24 = 24 hours + 2 gift hours")
    for config, server in zip(configs, nodes, strict=True):
        console.print(f"{config.campus_code}  {server.url}   {config.campus_name}, enrolled, key pinned")
        _sync(config, server)

    try:
        console.rule("The link to headquarters goes down")
        hub_server.stop()
        shared_lead: dict[str, Any] | None = None  # the first lead made, edited at both campuses below
        with httpx.Client(timeout=10) as client:
            for config, server in zip(configs, nodes, strict=True):
                # The hub is away, yet staff sign in: the accounts came to the campus as hashes.
                signed_in = client.post(f"{server.url}/api/v1/auth/token",
                                        json={"username": "admin", "password": password})
                signed_in.raise_for_status()
                client.headers["Authorization"] = f"Bearer {signed_in.json()['token']}"
                for k, (name, phone, channel) in enumerate(LEADS[config.campus_code]):
                    lead = client.post(f"{server.url}/api/v1/leads",
                                       json={"name": name, "phone": phone, "channel": channel})
                    lead.raise_for_status()
                    shared_lead = shared_lead or lead.json()
                    client.post(f"{server.url}/api/v1/leads/{lead.json()['id']}/follow-ups",
                                json={"channel": ["call", "wechat", "visit"][k % 3],
                                      "content": FOLLOW_UPS[k % 3]}).raise_for_status()
                receipts, signed = _sign_two(client, server.url, product_id)
                teaching = _lesson_with_kiosk(client, server, signed)
                console.print(f"{config.campus_code}: {_terminal_check_in(client, server)}")
                rent = _expense(client, server.url, 1_200_000 if config.campus_code == "BJ01" else 900_000)
                refunded = _refund(console, client, server.url, signed[0], show=config.campus_code == "BJ01")
                _staff(client, server.url)
                bad = client.post(f"{server.url}/api/v1/leads", json={"name": "赵敏", "phone": "12345"})
                console.print(f"{config.campus_code}: {len(LEADS[config.campus_code])} leads with follow-ups, "
                              f"2 signed as students, receipts {', '.join(receipts)}; {teaching}; {rent}; {refunded}; a bad phone is refused with {bad.status_code} naming "
                              f"[bold]{bad.json()['errors'][0]['field']}[/bold]; "
                              f"sync: {_sync(config, server)}")
        assert shared_lead is not None  # every campus made leads
        console.rule("The link comes back")
        hub_server = BackgroundServer(create_hub_app(hub_config), port=hub_server.port).start()
        hub = _app(hub_server).state.hub
        # BJ01's first lead is edited at both campuses once SH01 knows it: different fields merge.
        _sync(configs[0], nodes[0], timeout=30), _sync(configs[1], nodes[1], timeout=30)
        tokens = [_token(server.url, password) for server in nodes]
        with httpx.Client(timeout=10) as client:
            client.patch(f"{nodes[0].url}/api/v1/leads/{shared_lead['id']}", json={"notes": "想学钢琴"},
                         headers=tokens[0]).raise_for_status()
            client.patch(f"{nodes[1].url}/api/v1/leads/{shared_lead['id']}", json={"channel": "referral"},
                         headers=tokens[1]).raise_for_status()
        for config, server in [*zip(configs, nodes, strict=True), (configs[0], nodes[0])]:
            console.print(f"{config.campus_code}: {_sync(config, server, timeout=30)}")

        summary = campus_summary(hub.store)
        people = Table(title="Consolidated report at the hub: customers", box=box.SIMPLE_HEAD)
        money = Table(title="Consolidated report at the hub: tuition", box=box.SIMPLE_HEAD)
        for table, columns in ((people, ("campus", "leads", "follow-ups", "students", "open conflicts")),
                               (money, ("campus", "contracts", "tuition signed", "received", "hours taught"))):
            for column in columns:
                table.add_column(column, justify="left" if column == "campus" else "right", no_wrap=True)
        for row in summary:
            people.add_row(row["campus_code"], str(row["leads"]), str(row["follow_ups"]), str(row["students"]),
                           str(row["open_conflicts"]))
            money.add_row(row["campus_code"], str(row["contracts"]), str(Money(row["tuition_fen"])),
                          str(Money(row["received_fen"])), str(LessonHours(row["hours_taught_x100"])))
        console.print(people, money)
        monitor = Table(title="Sync monitor")
        for column in ("campus", "head seq", "lag (changes)", "key", "quarantined", "last error"):
            monitor.add_column(column)
        for row in hub.sync.status():
            monitor.add_row(row["campus_code"], str(row["hub_known_head"]), str(row["lag_changes"]),
                            row["key_status"], str(row["quarantined"]), row["last_error"] or "—")
        console.print(monitor)
        for config, differing in _converge(list(zip(configs, nodes, strict=True)), hub.store):
            console.print(f"{config.campus_code}: every table it subscribes to "
                          + ("[green]identical to the hub[/green]" if not differing
                             else f"[red]DIFFERS from the hub[/red] in {', '.join(differing)}"))
        _payroll(console, list(zip(configs, nodes, strict=True)), hub_server.url, password)
        # Reading the books signs in at the hub, which the audit trail records: after the comparison.
        _group_books(console, _app(hub_server), hub_server.url, password,
                     list(zip(configs, nodes, strict=True)))
        merged = httpx.get(f"{nodes[1].url}/api/v1/leads/{shared_lead['id']}", headers=tokens[1]).json()
        console.print(f"lead {merged['number']} after the merge: notes={merged['notes']!r} (BJ01), "
                      f"channel={merged['channel']!r} (SH01)")
        console.print(f"staff screens: sign in as [bold]admin[/bold] / [bold]{password}[/bold] at any address above")
        if serve:
            console.print("Serving until Ctrl-C …")
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        for server in [*nodes, hub_server]:
            server.stop()
    return 0
