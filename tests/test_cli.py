import subprocess
import sys

from gui_fastpath.cli import build_parser, main


def test_version_flag(capsys):
    try:
        main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0
    assert capsys.readouterr().out.startswith("gui-fastpath ")


def test_every_subcommand_has_a_handler():
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    for name, sub in subparsers.choices.items():
        assert callable(sub.get_default("handler")), name


def test_module_entry_point_runs():
    proc = subprocess.run(
        [sys.executable, "-m", "gui_fastpath", "--help"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0
    assert "gui-fastpath" in proc.stdout
