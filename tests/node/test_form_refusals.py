"""A refused screen form comes back as typed, the message beside the field it names (in the
screen's language, naming the field), the field marked aria-invalid and described by the message,
its label for= it, and the focus on it: on a page that checks its own form (a new lead, a new
student) and through the shared form_action (a lead's follow-up, shown again after the redirect)."""

from __future__ import annotations

import html
import json
import re

from starlette.testclient import TestClient


def _csrf(client: TestClient, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def _control(page: str, control_id: str) -> str:
    return re.search(rf'<(?:input|select|textarea) id="{control_id}"[^>]*>', page).group(0)


def test_a_refused_new_lead_keeps_the_values_and_names_the_phone_beside_it(node_client: TestClient) -> None:
    token = _csrf(node_client, "/leads/new")

    page = node_client.post("/leads/new", data={"csrf_token": token, "name": "张三", "phone": "12345",
                                                "channel": "地推"})

    assert page.status_code == 422
    assert _control(page.text, "f-phone") == ('<input id="f-phone" name="phone" type="tel" value="12345" required '
                                              'aria-invalid="true" aria-describedby="f-phone-error" autofocus>')
    assert '<p class="field-error" id="f-phone-error">电话：不是有效的手机号或带区号的固定电话</p>' in page.text
    assert '<label for="f-phone">电话</label>' in page.text
    assert 'value="张三"' in _control(page.text, "f-name") and "aria-invalid" not in _control(page.text, "f-name")
    assert 'value="地推"' in _control(page.text, "f-channel")


def test_a_refused_follow_up_is_shown_again_beside_its_field_with_what_was_typed(node_client: TestClient) -> None:
    lead = node_client.post("/api/v1/leads", json={"name": "李娜", "phone": "13912345678"}).json()
    token = _csrf(node_client, f"/leads/{lead['id']}")

    sent = node_client.post(f"/leads/{lead['id']}/follow-ups", data={
        "csrf_token": token, "channel": "wechat", "content": "  ", "next_follow_up_on": "2026-12-09"},
        follow_redirects=False)
    page = node_client.get(sent.headers["location"]).text

    assert sent.status_code == 303
    assert _control(page, "f-content") == ('<textarea id="f-content" name="content" required rows="3" '
                                           'aria-invalid="true" aria-describedby="f-content-error" autofocus>')
    assert '<p class="field-error" id="f-content-error">沟通内容：请填写沟通内容</p>' in page
    assert 'value="2026-12-09"' in _control(page, "f-next")
    assert '<option value="wechat" selected>' in page
    again = node_client.get(f"/leads/{lead['id']}").text
    assert "aria-invalid" not in again and 'value="2026-12-09"' not in again


def test_a_refused_new_student_names_the_guardians_phone_in_english_too(node_client: TestClient) -> None:
    token = _csrf(node_client, "/students/new")

    page = node_client.post("/students/new?lang=en", data={
        "csrf_token": token, "name": "王小明", "grade": "初二", "guardian_name": "王妈妈", "guardian_relation": "mother",
        "guardian_phone": "123"})

    assert page.status_code == 422
    assert 'aria-invalid="true" aria-describedby="g-phone-error" autofocus' in _control(page.text, "g-phone")
    assert re.search(r"""<p class="field-error" id="g-phone-error">Guardian(?:'|&#39;)s phone: &#39;123&#39; """
                     r"is not a valid phone number[^<]*</p>", page.text)
    assert 'value="王小明"' in _control(page.text, "s-name")
    assert 'value="初二"' in _control(page.text, "s-grade") and 'value="王妈妈"' in _control(page.text, "g-name")


def test_a_refusal_a_screen_says_in_its_own_words_still_marks_the_field_it_names(node_client: TestClient) -> None:
    token = _csrf(node_client, "/campaigns")

    page = node_client.post("/campaigns", data={"csrf_token": token, "name": "", "channel": "douyin",
                                                 "cost": "300"}).text  # back on the list, as a browser is

    kept = html.unescape(re.search(r'data-refused-form="([^"]+)"', page).group(1))
    assert json.loads(kept) == {"action": "/campaigns", "errors": {"name": "必填"},
                                "values": {"name": "", "channel": "douyin", "cost": "300"}}
