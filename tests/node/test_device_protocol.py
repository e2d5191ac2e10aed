"""ZKTeco PUSH protocol, parsed and formatted (campus.node.devices.protocol): tables of cases, and
hypothesis for what must hold of any input (never an exception, never a second command line)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campus.node.devices import protocol as p

# --- tables of cases -----------------------------------------------------------------------------

PUNCH_LINES = [
    # line, expected (pin, local time, status, verify, workcode, extra) or None when malformed
    ("1001\t2026-12-04 08:01:02\t0\t1\t0\t0\t0", ("1001", "2026-12-04 08:01:02", "0", "1", "0", ("0", "0"))),
    ("1001\t2026-12-04 08:01:02", ("1001", "2026-12-04 08:01:02", None, None, None, ())),
    ("1001\t2026-12-04 08:01:02\t1\t15\t\t\t\t0\t36.5",
     ("1001", "2026-12-04 08:01:02", "1", "15", None, ("0", "36.5"))),
    ("  1001 \t 2026-12-04 08:01:02 \r", ("1001", "2026-12-04 08:01:02", None, None, None, ())),
    ("1001 2026-12-04 08:01:02 0 1", ("1001", "2026-12-04 08:01:02", "0", "1", None, ())),
    ("1001\t2026/12/04 08:01", ("1001", "2026-12-04 08:01:00", None, None, None, ())),
    ("1001\t2026-12-04T08:01:02\t0", ("1001", "2026-12-04 08:01:02", "0", None, None, ())),
    ("A-7\t2026-12-04 08:01:02", ("A-7", "2026-12-04 08:01:02", None, None, None, ())),
    ("1001", None),
    ("1001\tyesterday", None),
    ("1001\t2026-13-04 08:01:02", None),
    ("1001\t2026-02-30 08:01:02", None),
    ("\t2026-12-04 08:01:02", None),
    ("10 01\t2026-12-04 08:01:02", None),
    ("1001;DROP\t2026-12-04 08:01:02", None),
    ("x" * 25 + "\t2026-12-04 08:01:02", None),
]


@pytest.mark.parametrize(("line", "expected"), PUNCH_LINES)
def test_an_attlog_line_is_read_liberally_or_counted_as_malformed(line: str, expected: tuple | None) -> None:
    punch = p.parse_punch(line)
    if expected is None:
        assert punch is None
    else:
        assert punch is not None
        assert (punch.pin, punch.local_text, punch.status, punch.verify, punch.workcode, punch.extra) == expected


def test_an_attlog_body_keeps_the_good_lines_and_counts_the_bad_ones() -> None:
    body = b"1001\t2026-12-04 08:01:02\t0\t1\r\n\r\ngarbage here\n1002\t2026-12-04 08:02:00\n"

    parsed = p.attlog(body)

    assert [r.pin for r in parsed.records] == ["1001", "1002"]
    assert parsed.malformed == ["garbage here"]
    assert parsed.lines == 3  # the blank line is no line


@pytest.mark.parametrize(("status", "arrives"), [(None, True), ("0", True), ("1", False), ("2", False),
                                                 ("3", True), ("4", True), ("5", False), ("255", True)])
def test_check_out_states_are_kept_but_make_no_check_in(status: str | None, arrives: bool) -> None:
    assert p.Punch("1", datetime(2026, 12, 4, 8), status).arrives is arrives


OPERLOG_LINES = [
    ("USER PIN=1001\tName=张三\tPri=0\tPasswd=\tCard=\tGrp=1", p.UserOnDevice("1001", "张三", 0)),
    ("USER PIN=1\tName=Admin\tPri=14", p.UserOnDevice("1", "Admin", 14)),
    ("USER PIN=1001", p.UserOnDevice("1001", None, None)),
    ("USER\tPIN=1001\tName=Li", p.UserOnDevice("1001", "Li", None)),
    ("FP PIN=1001\tFID=6\tSize=1184\tValid=1\tTMP=Sp1TUzIxAAAD", p.Biometric("fingerprint", "1001", "6")),
    ("FACE PIN=1001\tFID=0\tSIZE=1648\tVALID=1\tTMP=AAAA", p.Biometric("face", "1001", "0")),
    ("USERPIC PIN=1001\tFileName=1001.jpg\tSize=3\tContent=/9j/", p.Biometric("photo", "1001", None)),
    ("OPLOG 4\t0\t2026-12-04 08:00:00\t0\t0\t0\t0", p.Operation("4", "0", datetime(2026, 12, 4, 8))),
    ("OPLOG 70\t1\tnot a time", p.Operation("70", "1", None)),
    ("BIODATA Pin=1001\tNo=0\tIndex=0\tValid=1\tTmp=AAAA", p.Other("BIODATA")),
    ("USER Name=no pin", None),
    ("FP FID=1", None),
    ("1001\t2026-12-04 08:00:00", None),
    ("OPLOG", None),
]


@pytest.mark.parametrize(("line", "expected"), OPERLOG_LINES)
def test_an_operlog_line_records_enrolments_and_never_a_template(line: str, expected: object) -> None:
    assert p.parse_operlog_line(line) == expected


def test_operlog_names_decode_as_utf8_first_then_gb18030() -> None:
    body = "USER PIN=1001\tName=张三\n".encode() + "USER PIN=1002\tName=李四\n".encode("gb18030")

    users = p.operlog(body).records

    assert [(u.pin, u.name) for u in users if isinstance(u, p.UserOnDevice)] == [("1001", "张三"), ("1002", "李四")]


RESULTS = [
    (b"ID=12&Return=0&CMD=DATA", [(12, 0, "DATA", {})]),
    (b"ID=12&Return=-1002&CMD=DATA\nID=13&Return=0&CMD=DATA\n", [(12, -1002, "DATA", {}), (13, 0, "DATA", {})]),
    (b"ID=14&Return=0&CMD=INFO\n~DeviceName=F22\nUserCount=3\n",
     [(14, 0, "INFO", {"DeviceName": "F22", "UserCount": "3"})]),
    (b"ID=15&CMD=CHECK", [(15, None, "CHECK", {})]),
]


@pytest.mark.parametrize(("body", "expected"), RESULTS)
def test_command_results_are_read_with_their_info(body: bytes, expected: list) -> None:
    parsed = p.command_results(body)
    assert [(r.id, r.code, r.command, r.info) for r in parsed.records] == expected
    assert parsed.malformed == []


@pytest.mark.parametrize("body", [b"ID=x&Return=0&CMD=DATA", b"Return=0", b"ID=1&Return=ok"])
def test_an_unreadable_command_result_is_malformed(body: bytes) -> None:
    assert p.command_results(body).malformed and not p.command_results(body).records


def test_a_photo_upload_gives_its_punch_and_content() -> None:
    body = b"PIN=20261204080102-1001.jpg\nSN=CN1\nsize=4\nCMD=uploadphoto\x00JPEGtrailing"

    photo = p.attphoto(body)

    assert photo == p.Photo("20261204080102-1001.jpg", "1001", datetime(2026, 12, 4, 8, 1, 2), b"JPEG")
    assert p.attphoto(b"PIN=x.jpg\nCMD=uploadphoto\x00data") is None
    assert p.attphoto(b"no separator") is None


def test_options_come_comma_separated_or_one_a_line() -> None:
    assert p.options(b"~DeviceName=F22,MAC=00:17,FWVersion=Ver 6.60\nUserCount=3") == {
        "DeviceName": "F22", "MAC": "00:17", "FWVersion": "Ver 6.60", "UserCount": "3"}


@pytest.mark.parametrize(("offset", "expected"), [
    (timedelta(hours=8), "8"), (timedelta(hours=0), "0"), (timedelta(hours=-5), "-5"),
    (timedelta(hours=5, minutes=30), "330"), (timedelta(hours=-3, minutes=-30), "-210"),
    (timedelta(hours=5, minutes=45), "345")])
def test_the_timezone_option_is_in_hours_or_in_minutes_when_not_whole(offset: timedelta, expected: str) -> None:
    assert p.timezone_option(offset) == expected


def test_the_handshake_of_a_241_terminal_line_by_line() -> None:
    text = p.handshake("CN123", p.Stamps("9999", "88", "0"), p.Schedule(), "8", "2.4.1")

    assert text.splitlines() == [
        "GET OPTION FROM: CN123", "ATTLOGStamp=9999", "OPERLOGStamp=88", "ATTPHOTOStamp=0", "ErrorDelay=30",
        "Delay=10", "TransTimes=00:00;14:05", "TransInterval=1", "TransFlag=TransData AttLog\tOpLog\tEnrollUser\tChgUser",
        "TimeZone=8", "Realtime=1", "Encrypt=None", "ServerVer=2.4.1", "PushProtVer=2.4.1"]


def test_an_old_terminal_gets_the_old_stamp_names() -> None:
    lines = p.handshake("CN123", p.Stamps("1", "2", "3"), p.Schedule(), "8", None).splitlines()

    assert lines[1:4] == ["Stamp=1", "OpStamp=2", "PhotoStamp=3"]
    assert not any("ATTLOGStamp" in line for line in lines)


@pytest.mark.parametrize("command", [
    "SHELL rm -rf /", "shell ls", "PutFile http://x/a.sh\t/tmp/a.sh", "CLEAR DATA", "CLEAR LOG", "CLEAR PHOTO",
    "UPGRADE checksum=1,url=http://x/fw", "SET OPTION IPAddress=1.2.3.4", "RELOAD OPTIONS", "GetFile /etc/passwd",
    "CHECK\nSHELL reboot", "INFO\r", "DATA UPDATE FINGERTMP PIN=1", "ENROLL_FP PIN=1", "CHECKX", "INFO extra",
    "REBOOT\tnow"])
def test_the_node_never_queues_shell_putfile_clear_or_firmware(command: str) -> None:
    with pytest.raises(p.CommandRefused):
        p.check_command(command)


@pytest.mark.parametrize("command", ["CHECK", "INFO", "REBOOT", "LOG", "DATA UPDATE USERINFO PIN=1\tName=A\tPri=0",
                                     "DATA DELETE USERINFO PIN=1",
                                     "DATA QUERY ATTLOG StartTime=2026-12-01 00:00:00\tEndTime=2026-12-04 23:59:59"])
def test_the_commands_the_node_sends_pass(command: str) -> None:
    assert p.check_command(command) == command


def test_command_lines_and_ok() -> None:
    assert p.command_lines([]) == "OK"
    assert p.command_lines([(7, "CHECK"), (8, "DATA DELETE USERINFO PIN=1001")]) == (
        "C:7:CHECK\nC:8:DATA DELETE USERINFO PIN=1001\n")
    assert p.ok() == "OK" and p.ok(9) == "OK: 9"


def test_a_name_with_a_tab_or_newline_cannot_start_a_second_field_or_command() -> None:
    command = p.user_update("1001", "Evil\tPri=14\nC:99:SHELL reboot")

    assert command.count("\t") == 2 and "\n" not in command and "\r" not in command
    assert command.split("\t") == ["DATA UPDATE USERINFO PIN=1001", "Name=EvilPri=14C:99:SHELL reb", "Pri=0"]


def test_a_long_chinese_name_is_cut_between_characters() -> None:
    assert p.fit_name("欧阳娜娜娜娜娜娜娜娜") == "欧阳娜娜娜娜娜娜"  # 8 characters, 24 bytes of UTF-8


@pytest.mark.parametrize(("language", "charset"), [("83", "gb18030"), (" 83 ", "gb18030"), ("69", "utf-8"),
                                                   (None, "utf-8"), ("", "utf-8")])
def test_a_terminal_set_to_chinese_gets_gb18030(language: str | None, charset: str) -> None:
    assert p.default_charset(language) == charset


def test_answers_are_encoded_in_the_terminals_charset() -> None:
    assert p.encode("Name=张三", "gb18030") == "Name=张三".encode("gb18030")
    assert p.encode("Name=张三", "utf-8") == "Name=张三".encode()
    assert p.encode("x", "latin-1") == b"x"  # an unknown charset: UTF-8


# --- what must hold of any input -----------------------------------------------------------------

PINS = st.from_regex(r"\A[0-9A-Za-z_-]{1,24}\Z")
TIMES = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda t: t.replace(microsecond=0))
FIELD = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\t"), max_size=6) \
    .map(str.strip)


@given(st.binary(max_size=2000))
def test_no_body_makes_a_parser_raise(body: bytes) -> None:
    for parse in (p.attlog, p.operlog, p.command_results):
        parsed = parse(body)
        assert parsed.lines == len(parsed.records) + len(parsed.malformed)
    p.attphoto(body)
    p.options(body)


@given(st.lists(st.tuples(PINS, TIMES, st.sampled_from(["0", "1", "4", "255"]), st.sampled_from(["1", "15", "4"])),
                max_size=30))
def test_every_punch_a_terminal_writes_is_read_back(punches: list) -> None:
    written = [p.Punch(pin, at, status, verify) for pin, at, status, verify in punches]
    body = "\r\n".join(punch.line() for punch in written).encode()

    parsed = p.attlog(body)

    assert parsed.malformed == []
    assert [(r.pin, r.time, r.status, r.verify) for r in parsed.records] == [
        (w.pin, w.time, w.status, w.verify) for w in written]
    assert parsed.lines == len(written)


@given(PINS, st.text(max_size=60))
def test_any_name_makes_exactly_one_command_line_of_three_fields(pin: str, name: str) -> None:
    command = p.user_update(pin, name)

    assert "\n" not in command and "\r" not in command and "\x00" not in command
    assert command.split("\t")[0] == f"DATA UPDATE USERINFO PIN={pin}" and command.split("\t")[2] == "Pri=0"
    assert len(command.split("\t")) == 3
    assert len(command.split("\t")[1].removeprefix("Name=").encode()) <= p.NAME_BYTES
    assert p.command_lines([(1, command)]).count("\n") == 1


@given(st.text(max_size=80))
def test_clean_leaves_no_control_character(value: str) -> None:
    assert not any(ch in p.clean(value) for ch in "\r\n\t\x00")


@given(st.integers(min_value=-14 * 60, max_value=14 * 60))
def test_the_timezone_option_gives_back_the_offset(minutes: int) -> None:
    text = p.timezone_option(timedelta(minutes=minutes))
    assert int(text) * (60 if minutes % 60 == 0 else 1) == minutes


@given(st.text(max_size=40))
def test_only_the_allowed_commands_pass(command: str) -> None:
    try:
        p.check_command(command)
    except p.CommandRefused:
        return
    upper = command.upper()
    assert "\n" not in command and "\r" not in command
    assert not upper.startswith(("SHELL", "PUTFILE", "CLEAR", "UPGRADE"))
    assert upper in ("CHECK", "INFO", "REBOOT", "LOG", "DATA QUERY USERINFO") or upper.startswith(
        ("DATA UPDATE USERINFO ", "DATA DELETE USERINFO ", "DATA QUERY ATTLOG "))
