"""Qt stays inside ``gui_fastpath.qt``: importing any other module pulls in no Qt binding.

Subpackages are discovered, so modules added later are covered without editing this file.
Each check runs in a fresh interpreter (this test process may already hold Qt).
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import pytest

import gui_fastpath

pytestmark = pytest.mark.timeout(120)

QT_PACKAGE = "qt"

_CHECK = r"""
import importlib, json, pkgutil, sys, traceback
QT = ("qtpy", "PySide6", "PyQt6", "PyQt5", "PySide2", "shiboken6", "shiboken2")

def qt_loaded():
    return sorted(m for m in sys.modules if m.split(".")[0] in QT)

offenders, errors, imported = {}, {}, []
for name in sys.argv[1:]:
    package = importlib.import_module(name)
    names = [name]
    if hasattr(package, "__path__"):
        names += [m.name for m in pkgutil.walk_packages(package.__path__, name + ".")]
    for module in names:
        if module.rsplit(".", 1)[-1] == "__main__":
            continue
        before = set(qt_loaded())
        try:
            importlib.import_module(module)
        except Exception:
            errors[module] = traceback.format_exc(limit=3).strip().splitlines()[-1]
            continue
        imported.append(module)
        new = sorted(set(qt_loaded()) - before)
        if new:
            offenders[module] = new
print(json.dumps({"offenders": offenders, "errors": errors, "imported": imported}))
"""


def non_qt_subpackages() -> list[str]:
    """``gui_fastpath.<name>`` for every subpackage and module except ``qt`` and ``__main__``."""
    return sorted(
        f"gui_fastpath.{info.name}"
        for info in pkgutil.iter_modules(gui_fastpath.__path__)
        if info.name not in (QT_PACKAGE, "__main__")
    )


def _check(modules: list[str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _CHECK, *modules],
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_discovery_sees_the_packages():
    found = non_qt_subpackages()
    assert {"gui_fastpath.manifest", "gui_fastpath.cli"} <= set(found)
    assert "gui_fastpath.qt" not in found


def test_non_qt_modules_import_no_qt_binding():
    report = _check(non_qt_subpackages())
    assert report["errors"] == {}
    assert report["offenders"] == {}
    assert "gui_fastpath.manifest.scanner" in report["imported"]


def test_the_check_catches_a_qt_import():
    report = _check(["gui_fastpath.qt"])
    assert report["offenders"], "importing gui_fastpath.qt should pull in qtpy"
