"""Evaluating the campus's refund risk: an alert is raised once when a student's score crosses
the threshold (reminding their consultant and academic advisor), follows the figures while it
stays above, and is cleared when the score falls below; a later crossing raises a new one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from campus.node.context import NodeContext, NodeWork
from campus.node.risk import queries
from campus.node.risk.rules import RiskScore, Step, alert_step, score
from campus.schema.context import Actor
from campus.web.usecase import Store, use_case

MACHINE = "refund-risk"  # the actor of the hourly evaluation


@dataclass(frozen=True)
class Planned:
    step: Step
    student_id: str
    alert: dict[str, Any] | None  # the open alert a step updates or clears
    result: RiskScore | None  # None: the student is no longer one the campus watches
    watchers: tuple[str, ...] = ()


def plan_alerts(conn: Connection, ctx: NodeContext) -> list[Planned]:
    """What an evaluation now would raise, update and clear (it writes nothing)."""
    watched = queries.students_facts(conn, ctx, queries.watched_students(conn, ctx.id))
    alerts = queries.open_alerts(conn, ctx.id)
    planned = []
    for found in watched:
        result = score(found.facts, ctx.risk)
        alert = alerts.pop(found.student_id, None)
        changed = alert is not None and (alert["score"], alert["factors"], alert["notified"]) != (
            result.total, result.factors(), list(found.watchers))
        step = alert_step(alert is not None, result.at_risk, changed)
        if step is not None:
            planned.append(Planned(step, found.student_id, alert, result, found.watchers))
    # Open alerts of students the campus no longer watches (finished, withdrawn, gone) close.
    planned += [Planned(Step.CLEAR, student_id, alert, None) for student_id, alert in alerts.items()]
    return planned


@use_case("risk.evaluate")
def evaluate_risk(work: NodeWork) -> dict[str, list[str]]:
    """Score every student the campus watches and raise, update or clear their alerts; returns
    the students of each step."""
    ctx = work.ctx
    now = ctx.now_text()
    done: dict[str, list[str]] = {"raised": [], "updated": [], "cleared": []}
    for planned in plan_alerts(work.conn, ctx):
        result = planned.result
        if planned.step is Step.RAISE and result is not None:
            work.uow.insert("risk_alerts", {
                "campus_id": ctx.id, "student_id": planned.student_id, "score": result.total,
                "threshold": result.alert_threshold, "factors": json.dumps(result.factors()),
                "notified": json.dumps(list(planned.watchers)), "raised_on": ctx.today().isoformat(),
                "raised_at": now, "cleared_at": None, "updated_at": now, "deleted": False})
            done["raised"].append(planned.student_id)
        elif planned.step is Step.UPDATE and result is not None and planned.alert is not None:
            work.uow.update("risk_alerts", planned.alert["id"], {
                "score": result.total, "threshold": result.alert_threshold, "factors": json.dumps(result.factors()),
                "notified": json.dumps(list(planned.watchers)), "updated_at": now})
            done["updated"].append(planned.student_id)
        elif planned.step is Step.CLEAR and planned.alert is not None:
            cleared: dict[str, Any] = {"cleared_at": now, "updated_at": now}
            if result is not None:
                cleared.update(score=result.total, factors=json.dumps(result.factors()))
            work.uow.update("risk_alerts", planned.alert["id"], cleared)
            done["cleared"].append(planned.student_id)
    work.audit("risk_evaluated", target_table="risk_alerts",
               after={**done, "alert_threshold": ctx.risk.alert_threshold})
    return done


def evaluate_due(store: Store, ctx: NodeContext) -> dict[str, list[str]] | None:
    """The hourly job: evaluate only when an alert would be raised, updated or cleared, so an
    hour in which nothing changed leaves no audit event and no change to replicate."""
    with store.read() as conn:
        if not plan_alerts(conn, ctx):
            return None
    return evaluate_risk(store, ctx, Actor.machine(MACHINE))
