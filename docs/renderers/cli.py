"""docs/api.md's command-line reference, read off sigact's own argparse parser: the page lists the
options each command takes, with the choices, defaults and help that ``--help`` prints."""

from __future__ import annotations

import argparse

from renderers.common import Run, table


def option_row(action: argparse.Action) -> list[str]:
    name = " ".join(f"`{flag}`" for flag in action.option_strings) or f"`{action.metavar or action.dest}`"
    if action.nargs == 0:
        takes = "(a switch)"
    elif action.choices:
        takes = ", ".join(f"`{choice}`" for choice in action.choices)
    else:
        takes = f"`{action.metavar or action.dest.upper()}`" + (" ..." if action.nargs in ("+", "*") else "")
        if isinstance(action, argparse._AppendAction):
            takes += " (repeat it)"
    if action.nargs == 0 or action.default in (None, argparse.SUPPRESS):
        default = ""
    else:
        default = f"`{action.default}`"
    return [name, takes, default, (action.help or "").replace("|", "\\|")]


def reference(runs: list[Run]) -> str:
    from sigact import cli

    parser = cli.parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sections = [table(["command", "what it does"], [[f"`sigact {c.dest}`", c.help or ""]
                                                   for c in commands._choices_actions])]
    for name, sub in commands.choices.items():
        rows = [option_row(a) for a in sub._actions if not isinstance(a, argparse._HelpAction)]
        sections.append(f"**`sigact {name}`**: {sub.description}\n\n"
                        + table(["option", "takes", "default", "what it does"], rows))
    return "\n\n".join(sections)


RENDERERS = {"cli": reference}
