"""The ``console`` examples of our docs, run as shown.

In a `` ```console `` block each ``$ `` line is a bash command; the lines under it are its
expected output (stdout and stderr together), where ``...`` inside a line matches any text
and a line holding only ``...`` matches any number of lines. ``# exit status N`` at the end
of a command gives its expected exit status (else 0).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import attrs

CONSOLE_BLOCK = re.compile(r"^```console\n(.*?)^```$", re.S | re.M)
_STATUS = re.compile(r"\s+# exit status (\d+)$")


@attrs.frozen
class ConsoleStep:
    command: str
    expected: tuple[str, ...]
    status: int


def console_steps(body: str) -> list[ConsoleStep]:
    """The commands of one console block's body, in order."""
    steps: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        else:
            assert steps, f"console output before any command: {line!r}"
            steps[-1][1].append(line)
    return [ConsoleStep(command, tuple(output), _status(command)) for command, output in steps]


def console_examples(text: str) -> list[ConsoleStep]:
    """The commands of every console block of a document, in order."""
    return [step for body in CONSOLE_BLOCK.findall(text) for step in console_steps(body)]


def output_matches(
    expected: Sequence[str], actual: str, normal: Callable[[str], str] = str
) -> bool:
    """Whether ``actual`` matches the expected lines (each line of both through ``normal``)."""
    pattern = ""
    for line in expected:
        if line.strip() == "...":
            pattern += r"(?:[^\n]*\n)*?"
        else:
            pattern += re.escape(normal(line)).replace(r"\.\.\.", "[^\n]*") + r"\n"
    text = "".join(normal(line) + "\n" for line in actual.splitlines())
    return re.fullmatch(pattern, text) is not None


def run_console_step(
    step: ConsoleStep,
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    normal: Callable[[str], str] = str,
) -> None:
    """Run one command with bash; assert that its exit status and output are as shown."""
    done = subprocess.run(
        ["bash", "-c", step.command],
        cwd=cwd,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
    shown = f"$ {step.command}\nexpected:\n" + "\n".join(step.expected) + "\ngot:\n" + done.stdout
    assert done.returncode == step.status, shown
    assert output_matches(step.expected, done.stdout, normal), shown


def _status(command: str) -> int:
    match = _STATUS.search(command)
    return int(match.group(1)) if match else 0
