"""Surveys: questions and answers checked as pure rules, then over HTTP on a real store: written,
opened, answered by staff during a call and by a family in the portal (once), results per question,
mean scores per class, teacher and campus with lesson ratings, a low score on the class teacher's
reminders and in the refund-risk score."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campus.node.service.surveys import Question, QuestionKind, check_answers, questions_of, rating_summary
from campus.schema.errors import Invalid
from tests.node.risk_helpers import ok, seed_student
from tests.node.test_portal import Campus, campus, csrf, signed_in  # noqa: F401  (the fixture)

QUESTIONS = [Question("q1", QuestionKind.RATING, "老师讲得清楚吗"),
             Question("q2", QuestionKind.SINGLE, "会推荐给朋友吗", ("会", "不会")),
             Question("q3", QuestionKind.MULTIPLE, "喜欢哪些", ("老师", "教材", "环境")),
             Question("q4", QuestionKind.TEXT, "其他建议")]


@pytest.mark.parametrize(("raw", "field"), [
    ([], "questions"),
    ([{"kind": "essay", "text": "x"}], "questions.0.kind"),
    ([{"kind": "rating", "text": ""}], "questions.0.text"),
    ([{"kind": "rating", "text": "好"}, {"kind": "single", "text": "选", "options": ["一"]}], "questions.1.options"),
    ([{"kind": "multiple", "text": "选", "options": ["一", "一"]}], "questions.0.options"),
    ([{"kind": "rating", "text": "好", "options": ["一", "二"]}], "questions.0.options"),
])
def test_a_faulty_question_is_refused_naming_it(raw: list[dict[str, Any]], field: str) -> None:
    with pytest.raises(Invalid) as refused:
        questions_of(raw)
    assert refused.value.field == field


@pytest.mark.parametrize(("answers", "field"), [
    ({"q2": "会", "q3": ["老师"]}, "answers.q1"),  # a rating left out
    ({"q1": 6, "q2": "会", "q3": ["老师"]}, "answers.q1"),
    ({"q1": "5", "q2": "会", "q3": ["老师"]}, "answers.q1"),  # text is not a number
    ({"q1": 5, "q2": "也许", "q3": ["老师"]}, "answers.q2"),
    ({"q1": 5, "q2": "会", "q3": ["老师", "老师"]}, "answers.q3"),
    ({"q1": 5, "q2": "会", "q3": ["老师"], "q9": "?"}, "answers.q9"),
])
def test_a_faulty_answer_is_refused_naming_its_question(answers: dict[str, Any], field: str) -> None:
    with pytest.raises(Invalid) as refused:
        check_answers(QUESTIONS, answers)
    assert refused.value.field == field


def test_text_may_be_left_blank_and_ratings_give_the_mean_and_the_lowest() -> None:
    kept = check_answers(QUESTIONS, {"q1": 2, "q2": "不会", "q3": ["教材", "环境"], "q4": ""})
    assert kept == {"q1": 2, "q2": "不会", "q3": ["教材", "环境"]}
    assert rating_summary(QUESTIONS, kept) == (200, 2)
    assert rating_summary(QUESTIONS[1:], {"q2": "会"}) == (None, None)


@given(st.lists(st.integers(1, 5), min_size=1, max_size=10))
def test_the_mean_lies_between_the_lowest_and_the_highest(ratings: list[int]) -> None:
    asked = [Question(f"q{n + 1}", QuestionKind.RATING, "?") for n in range(len(ratings))]
    mean, lowest = rating_summary(asked, {q.id: r for q, r in zip(asked, ratings, strict=True)})
    assert lowest == min(ratings) and 100 * min(ratings) <= (mean or 0) <= 100 * max(ratings)


def test_staff_and_families_answer_and_low_scores_reach_the_class_teacher_and_the_risk_score(
        campus: Campus) -> None:  # noqa: F811
    staff = campus.staff
    advisor = ok(staff.post("/api/v1/users", json={"username": "advisor", "display_name": "王老师",
                                                   "password": "advisor-pass-1", "roles": [{"role": "academic_advisor"}]}))
    lilei = seed_student(staff, name="李雷", phone="13900001111", expires_on="2030-12-31",
                         class_teacher_id=advisor["id"])
    refused = staff.post("/api/v1/surveys", json={"title": "期中回访", "questions": [
        {"kind": "single", "text": "会推荐吗", "options": ["会"]}]})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "questions.0.options"
    survey = ok(staff.post("/api/v1/surveys", json={"title": "期中回访", "questions": [
        {"kind": "rating", "text": "老师讲得清楚吗"}, {"kind": "single", "text": "会推荐给朋友吗", "options": ["会", "不会"]},
        {"kind": "text", "text": "其他建议"}]}))
    closed = staff.post(f"/api/v1/surveys/{survey['id']}/responses", json={
        "student_id": lilei.student["id"], "answers": {"q1": 5, "q2": "会"}})
    assert closed.status_code == 409  # a draft is not answered
    ok(staff.post(f"/api/v1/surveys/{survey['id']}/status", json={"status": "open"}), 200)

    ok(staff.post(f"/api/v1/surveys/{survey['id']}/responses", json={
        "student_id": lilei.student["id"], "answers": {"q1": 4, "q2": "会", "q3": "希望多留作业"}}))
    family = signed_in(campus, "13900001111")
    form = f"/portal/students/{lilei.student['id']}/surveys/{survey['id']}"
    token = csrf(family, form)
    first = family.post(form, data={"q1": "1", "q2": "不会", "csrf_token": token})
    second = family.post(form, data={"q1": "5", "q2": "会", "csrf_token": token})
    assert first.headers["location"].endswith("#surveys") and second.headers["location"] == form
    assert "该学员已填写过此问卷" in family.get(form).text  # once per student: the second is refused

    results = ok(staff.get(f"/api/v1/surveys/{survey['id']}"), 200)
    assert results["responses"] == 2
    assert [(r.get("rating_x100"), r.get("counts"), r.get("texts")) for r in results["results"]] == [
        (250, None, None), (None, {"会": 1, "不会": 1}, None), (None, None, ["希望多留作业"])]
    scores = ok(staff.get("/api/v1/surveys/satisfaction"), 200)
    assert (scores["campus"], [(c["name"], c["score_x100"]) for c in scores["classes"]]) == (
        {"count": 2, "score_x100": 250}, [("李雷的班", 250)])
    page = staff.get("/surveys")
    assert page.status_code == 200 and "期中回访" in page.text

    from campus.node.workbench.reminders import reminders_of
    from campus.web.accounts.store import Accounts

    node = campus.node
    principal = Accounts(node.store, node.config.campus_id).from_user_id(advisor["id"])
    with node.store.read() as conn:
        low = [(r["kind"], r["score"], r["name"]) for r in reminders_of(conn, node.ctx, principal)
               if r["kind"] == "low_score"]
    assert low == [("low_score", 1, "李雷")]
    risk = ok(staff.get(f"/api/v1/students/{lilei.student['id']}/risk"), 200)
    assert {f["factor"]: f["points"] for f in risk["factors"]}["low_ratings"] == 15
    assert re.search("调研问卷|Surveys", staff.get("/surveys/" + survey["id"]).text)


def test_a_target_names_the_students_its_survey_reaches() -> None:
    from campus.node.service.surveys import Target, TargetScope, target_of

    by_class = target_of("classes", ["c1", " c2 ", "c1"])

    assert by_class == Target(TargetScope.CLASSES, ("c1", "c2"))
    assert [by_class.reaches("s1", {"c2"}), by_class.reaches("s1", {"c3"})] == [True, False]
    assert target_of("students", ["s1"]).reaches("s2", set()) is False
    assert target_of("campus", ["ignored"]).as_json() is None
    with pytest.raises(Invalid) as refused:
        target_of("classes", [])
    assert refused.value.field == "target.ids"


def _survey(campus: Campus, **extra: Any) -> dict[str, Any]:  # noqa: F811
    survey = ok(campus.staff.post("/api/v1/surveys", json={"title": "满意度", "questions": [
        {"kind": "rating", "text": "老师讲得清楚吗"}], **extra}))
    ok(campus.staff.post(f"/api/v1/surveys/{survey['id']}/status", json={"status": "open"}), 200)
    return survey


def test_a_survey_targeted_at_a_class_is_shown_only_to_that_class_and_others_get_404(campus: Campus) -> None:  # noqa: F811
    lilei = seed_student(campus.staff, name="李雷", phone="13900001111", expires_on="2030-12-31")
    han = seed_student(campus.staff, name="韩梅梅", phone="13900002222", expires_on="2030-12-31", price_item=False)
    survey = _survey(campus, target={"scope": "classes", "ids": [lilei.class_id]})
    everyone = _survey(campus)

    lilei_page = signed_in(campus, "13900001111").get(f"/portal/students/{lilei.student['id']}").text
    han_client = signed_in(campus, "13900002222")
    han_page = han_client.get(f"/portal/students/{han.student['id']}").text

    assert f"/surveys/{survey['id']}" in lilei_page and f"/surveys/{everyone['id']}" in lilei_page
    assert f"/surveys/{survey['id']}" not in han_page and f"/surveys/{everyone['id']}" in han_page
    assert han_client.get(f"/portal/students/{han.student['id']}/surveys/{survey['id']}").status_code == 404

    ok(campus.staff.post(f"/api/v1/surveys/{survey['id']}/target", json={"scope": "students",
                                                                         "ids": [han.student["id"]]}), 200)
    assert f"/surveys/{survey['id']}" in han_client.get(f"/portal/students/{han.student['id']}").text
    refused = campus.staff.post(f"/api/v1/surveys/{survey['id']}/target", json={"scope": "classes", "ids": ["nope"]})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "target.ids"


def test_a_survey_is_edited_in_place_until_answered_then_a_new_version_replaces_it(campus: Campus) -> None:  # noqa: F811
    lilei = seed_student(campus.staff, name="李雷", phone="13900001111", expires_on="2030-12-31")
    survey = _survey(campus, target={"scope": "students", "ids": [lilei.student["id"]]})
    edit = {"title": "课堂满意度", "questions": [{"kind": "rating", "text": "老师讲得清楚吗"},
                                                  {"kind": "text", "text": "其他建议"}]}

    in_place = ok(campus.staff.put(f"/api/v1/surveys/{survey['id']}", json=edit), 200)
    ok(campus.staff.post(f"/api/v1/surveys/{survey['id']}/responses", json={
        "student_id": lilei.student["id"], "answers": {"q1": 4, "q2": "很好"}}))
    versioned = ok(campus.staff.put(f"/api/v1/surveys/{survey['id']}", json={**edit, "title": "课堂满意度(二)"}), 200)

    assert (in_place["id"], in_place["title"], in_place["version"]) == (survey["id"], "课堂满意度", 1)
    assert versioned["id"] != survey["id"]
    assert (versioned["version"], versioned["replaces_id"], versioned["status"]) == (2, survey["id"], "open")
    listed = {s["id"]: (s["status"], s["version"], s["responses"], s["target"]["scope"])
              for s in ok(campus.staff.get("/api/v1/surveys"), 200)["items"]}
    assert listed == {survey["id"]: ("closed", 1, 1, "students"), versioned["id"]: ("open", 2, 0, "students")}
    page = signed_in(campus, "13900001111").get(f"/portal/students/{lilei.student['id']}").text
    assert f"/surveys/{versioned['id']}" in page and f"/surveys/{survey['id']}" not in page


def test_the_survey_screen_targets_classes_and_saves_an_answered_survey_as_a_new_version(campus: Campus) -> None:  # noqa: F811
    lilei = seed_student(campus.staff, name="李雷", phone="13900001111", expires_on="2030-12-31")
    survey = _survey(campus)
    ok(campus.staff.post(f"/api/v1/surveys/{survey['id']}/responses", json={
        "student_id": lilei.student["id"], "answers": {"q1": 5}}))
    page = campus.staff.get(f"/surveys/{survey['id']}")
    token = re.findall(r'name="csrf_token" value="([^"]+)"', page.text)[0]

    campus.staff.post(f"/surveys/{survey['id']}/target", data={"csrf_token": token, "scope": "classes",
                                                               "class_ids": [lilei.class_id]})
    moved = campus.staff.post(f"/surveys/{survey['id']}/edit", data={
        "csrf_token": token, "title": "满意度(二)", "questions": "rating | 老师讲得清楚吗\ntext | 其他建议",
        "for_families": "1"}, follow_redirects=False)

    assert "家长端对谁可见" in page.text and "修改问题" in page.text
    (newer,) = [s for s in ok(campus.staff.get("/api/v1/surveys"), 200)["items"] if s["version"] == 2]
    assert moved.headers["location"] == f"/surveys/{newer['id']}"
    assert newer["target"] == {"scope": "classes", "ids": [lilei.class_id]}
    assert "已保存为第 2 版" in campus.staff.get(moved.headers["location"]).text
