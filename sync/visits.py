"""Students studying at campuses other than their home: which rows go where because of them."""

from __future__ import annotations

from sqlalchemy import ColumnElement, CompoundSelect, Connection, MetaData, Select, Table, select

from campus.sync.policy import Visits, policy_of


def visits_of(metadata: MetaData) -> Visits | None:
    return metadata.info.get("visits")


def students_at(metadata: MetaData, campus_id: str) -> Select | CompoundSelect | None:
    """Ids of the students active at ``campus_id``: studying there, or at home there."""
    visits = visits_of(metadata)
    if visits is None:
        return None
    table = metadata.tables[visits.table]
    studying = select(table.c[visits.student_column]).where(table.c[visits.campus_column] == campus_id)
    if visits.home_table is None or visits.home_column is None:
        return studying
    home = metadata.tables[visits.home_table]
    return studying.union(select(home.c.id).where(home.c[visits.home_column] == campus_id))


def visiting_rows(metadata: MetaData, table: Table, campus_id: str) -> ColumnElement[bool] | None:
    """Rows of ``table`` that go to ``campus_id`` because their student studies there."""
    policy = policy_of(table)
    students = students_at(metadata, campus_id)
    if policy is None or policy.student_column is None or students is None:
        return None
    return table.c[policy.student_column].in_(students)


def campuses_of_student(conn: Connection, metadata: MetaData, student_id: str) -> set[str]:
    """Every campus where the student is active: where they study (by the visits table) and home."""
    visits = visits_of(metadata)
    if visits is None:
        return set()
    table = metadata.tables[visits.table]
    found = set(conn.execute(select(table.c[visits.campus_column]).distinct().where(
        table.c[visits.student_column] == student_id)).scalars())
    if visits.home_table is not None and visits.home_column is not None:
        home = metadata.tables[visits.home_table]
        found.add(conn.execute(select(home.c[visits.home_column]).where(home.c.id == student_id)).scalar())
    return {campus for campus in found if campus}


def student_of(conn: Connection, table: Table, row_id: str, fields: dict) -> str | None:
    """The student a row is about, from the change's fields or the stored row."""
    policy = policy_of(table)
    if policy is None or policy.student_column is None:
        return None
    column = policy.student_column
    if column == "id":
        return row_id
    if column in fields:
        return fields[column]
    return conn.execute(select(table.c[column]).where(table.c.id == row_id)).scalar()
