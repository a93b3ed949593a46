"""``gui-fastpath schema``: valid JSON Schemas that agree with the scanner."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest

from _manifest_support import FIXTURES, copy_fixture
from gui_fastpath.cli import main
from gui_fastpath.manifest import MANIFEST_NAME, update_manifest
from gui_fastpath.manifest.schema import RELATIVE_PATH_PATTERN, schema_for

pytestmark = pytest.mark.timeout(30)

FILES = ("artifacts_manifest.json", "analytics.json", "fastpath.json", "artifacts.json")


def _validator(name):
    return jsonschema.Draft202012Validator(schema_for(name))


def test_schema_prints_every_file(capsys):
    assert main(["schema"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert sorted(document) == sorted(FILES)
    for schema in document.values():
        jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("name", FILES)
def test_schema_of_one_file(name, capsys):
    assert main(["schema", name]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema == schema_for(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_unknown_file_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["schema", "nope.json"])
    assert exc.value.code == 2
    assert "invalid choice: 'nope.json'" in capsys.readouterr().err


def test_fields_carry_their_docstrings():
    props = schema_for("artifacts.json")["properties"]
    assert props["run_id"]["description"] == "The run id: the run directory's name."
    event = props["tensorboard"]["anyOf"][0]["properties"]["event_files"]["items"]
    assert event["required"] == ["path", "run", "size", "mtime"]


@pytest.mark.parametrize(
    ("path", "ok"),
    [
        ("tensorboard", True),
        ("a/b.pt", True),
        (".", True),
        ("a..b", True),
        ("/etc", False),
        ("../x", False),
        ("a/../b", False),
        ("a/..", False),
        ("C:\\x", False),
        ("~/.ssh", False),
        ("", False),
        ("tab\tname", False),
    ],
)
def test_relative_path_pattern(path, ok):
    assert bool(re.search(RELATIVE_PATH_PATTERN, path)) is ok


@pytest.mark.parametrize(
    ("run", "name"),
    [
        ("seed_layout", "artifacts_manifest.json"),
        ("host_layout", "analytics.json"),
        ("online_hint", "analytics.json"),
    ],
)
def test_fixture_hint_files_are_valid(run, name):
    data = json.loads((FIXTURES / "runs" / run / name).read_text())
    _validator(name).validate(data)


@pytest.mark.parametrize(
    ("case", "name"),
    [
        ("traversal", "artifacts_manifest.json"),
        ("absolute", "artifacts_manifest.json"),
        ("wrong_types", "artifacts_manifest.json"),
        ("long_string", "artifacts_manifest.json"),
        ("control_chars", "artifacts_manifest.json"),
        ("unknown_keys", "artifacts_manifest.json"),
        ("wrong_types_host", "analytics.json"),
        ("not_object", "artifacts_manifest.json"),
    ],
)
def test_hostile_hint_files_are_invalid(case, name):
    data = json.loads((FIXTURES / "hostile" / case / name).read_text())
    assert list(_validator(name).iter_errors(data))


@pytest.mark.parametrize("run", sorted(p.name for p in (FIXTURES / "runs").iterdir()))
def test_written_manifests_are_valid(tmp_path, run):
    run_dir = copy_fixture("runs", run, tmp_path)
    update_manifest(run_dir)
    _validator("artifacts.json").validate(json.loads((run_dir / MANIFEST_NAME).read_text()))
