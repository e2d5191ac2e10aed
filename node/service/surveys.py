"""Surveys (调研问卷): a list of questions (single choice, multiple choice, a 1–5 rating, text) that
staff fill in during a call or families answer in the portal. Pure: the questions and answers are
checked here, and an answered survey gives its mean rating and its lowest one (what the averages
and the low-score reminders read)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from campus.schema.errors import Conflict, Invalid

MAX_QUESTIONS = 30
MAX_OPTIONS = 10
MAX_TEXT = 2000


class QuestionKind(StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"
    RATING = "rating"  # 1 to 5
    TEXT = "text"  # the one kind that may be left blank


class SurveyStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


NEXT = {SurveyStatus.DRAFT: frozenset({SurveyStatus.OPEN}), SurveyStatus.OPEN: frozenset({SurveyStatus.CLOSED}),
        SurveyStatus.CLOSED: frozenset({SurveyStatus.OPEN})}


class SurveyNotOpen(Conflict):
    """Only an open survey is answered."""


@dataclass(frozen=True)
class Question:
    id: str
    kind: QuestionKind
    text: str
    options: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind.value, "text": self.text, "options": list(self.options)}


def questions_of(raw: list[dict[str, Any]]) -> list[Question]:
    """Checked questions, numbered q1, q2... in order; a fault names ``questions.<n>.<field>``."""
    if not raw:
        raise Invalid("questions", "a survey has at least one question")
    if len(raw) > MAX_QUESTIONS:
        raise Invalid("questions", f"at most {MAX_QUESTIONS} questions")
    made = []
    for n, item in enumerate(raw):
        at = f"questions.{n}"
        try:
            kind = QuestionKind(str(item.get("kind", "")))
        except ValueError:
            raise Invalid(f"{at}.kind", f"one of {', '.join(k.value for k in QuestionKind)}") from None
        text = str(item.get("text", "") or "").strip()
        if not text or len(text) > 500:
            raise Invalid(f"{at}.text", "the question, 1 to 500 characters")
        options = tuple(str(o).strip() for o in item.get("options") or [] if str(o).strip())
        if kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
            if not 2 <= len(options) <= MAX_OPTIONS or len(set(options)) != len(options):
                raise Invalid(f"{at}.options", f"2 to {MAX_OPTIONS} different options")
        elif options:
            raise Invalid(f"{at}.options", "only a choice question has options")
        made.append(Question(f"q{n + 1}", kind, text, options))
    return made


def check_answers(questions: list[Question], answers: dict[str, Any]) -> dict[str, Any]:
    """The answers kept: every question but a text one answered, each as its kind wants; a fault
    names ``answers.<question id>``."""
    known = {q.id for q in questions}
    stray = sorted(set(answers) - known)
    if stray:
        raise Invalid(f"answers.{stray[0]}", "not a question of this survey")
    kept: dict[str, Any] = {}
    for q in questions:
        field, value = f"answers.{q.id}", answers.get(q.id)
        if value is None or value == "" or value == []:
            if q.kind is QuestionKind.TEXT:
                continue
            raise Invalid(field, "this question needs an answer")
        if q.kind is QuestionKind.RATING:
            if type(value) is not int or not 1 <= value <= 5:
                raise Invalid(field, "a whole number from 1 to 5")
        elif q.kind is QuestionKind.SINGLE:
            if value not in q.options:
                raise Invalid(field, "one of the options")
        elif q.kind is QuestionKind.MULTIPLE:
            if not isinstance(value, list) or not value or not set(value) <= set(q.options) \
                    or len(set(value)) != len(value):
                raise Invalid(field, "one or more of the options, each once")
        elif not isinstance(value, str) or len(value) > MAX_TEXT:
            raise Invalid(field, f"text of at most {MAX_TEXT} characters")
        kept[q.id] = value.strip() if isinstance(value, str) else value
    return kept


def rating_summary(questions: list[Question], answers: dict[str, Any]) -> tuple[int | None, int | None]:
    """(mean of the 1–5 answers in hundredths, rounded half up; the lowest), or (None, None)."""
    ratings = [answers[q.id] for q in questions if q.kind is QuestionKind.RATING and q.id in answers]
    if not ratings:
        return None, None
    return (200 * sum(ratings) + len(ratings)) // (2 * len(ratings)), min(ratings)


class TargetScope(StrEnum):
    CAMPUS = "campus"  # every family of the campus
    CLASSES = "classes"  # the families of students in these classes
    STUDENTS = "students"  # these students' families


@dataclass(frozen=True)
class Target:
    """Whose families a survey is shown to in the portal."""

    scope: TargetScope = TargetScope.CAMPUS
    ids: tuple[str, ...] = ()

    def as_json(self) -> str | None:
        return None if self.scope is TargetScope.CAMPUS else json.dumps({"scope": self.scope.value,
                                                                          "ids": list(self.ids)})

    def reaches(self, student_id: str, class_ids: set[str]) -> bool:
        """Whether a student (in ``class_ids`` at the campus) is among those targeted."""
        if self.scope is TargetScope.CAMPUS:
            return True
        if self.scope is TargetScope.CLASSES:
            return bool(class_ids & set(self.ids))
        return student_id in self.ids


def target_of(scope: str, ids: list[str]) -> Target:
    """A target as given; a fault names target.scope or target.ids."""
    try:
        chosen = TargetScope(scope)
    except ValueError:
        raise Invalid("target.scope", f"one of {', '.join(s.value for s in TargetScope)}") from None
    kept = tuple(dict.fromkeys(i.strip() for i in ids if i.strip()))
    if chosen is TargetScope.CAMPUS:
        return Target()
    if not kept:
        raise Invalid("target.ids", f"name at least one of the {chosen.value}")
    if len(kept) > 500:
        raise Invalid("target.ids", "at most 500")
    return Target(chosen, kept)


def stored_target(text: str | None) -> Target:
    if not text:
        return Target()
    raw = json.loads(text)
    return Target(TargetScope(raw["scope"]), tuple(raw["ids"]))
