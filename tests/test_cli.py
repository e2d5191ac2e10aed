"""Every ``campus`` command answers ``--help`` with its usage and options."""

from __future__ import annotations

import argparse

import pytest

from campus.cli import build_parser, main


def _commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _commands(sub, (*prefix, name))
    return found


COMMANDS = _commands(build_parser())


def test_the_command_tree_has_every_documented_command() -> None:
    assert {("node", "init"), ("node", "serve"), ("node", "restore"), ("hub", "init"), ("hub", "serve"),
            ("hub", "campus", "add"), ("hub", "campus", "revoke-key"), ("sync", "now"), ("import", "leads"),
            ("demo",)} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) or "campus" for c in COMMANDS])
def test_help_on_every_command(command: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: campus") and " ".join(command) in out
    assert "-h, --help" in out
