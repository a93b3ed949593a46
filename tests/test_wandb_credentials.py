"""Credentials: environment, netrc, typed (memory), keyring opt-in; never written by us."""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import sys
from pathlib import Path

import keyring
import keyring.backend
import pytest

from gui_fastpath.wandb.credentials import (
    KEYRING_SERVICE,
    CredentialError,
    Credentials,
    CredentialStore,
    check_api_key,
    public_url,
    redact,
    subprocess_env,
)
from gui_fastpath.wandb.sync import SyncJob, SyncOptions
from gui_fastpath.wandb.sync_queue import SyncQueue
from wandb_support import (
    HangingServer,
    closed_port,
    copy_run,
    private_home,
    write_offline_run,
)

URL = "http://127.0.0.1:8080"
KEY = "k" * 40


class MemoryKeyring(keyring.backend.KeyringBackend):
    """An in-memory keyring backend: the OS keyring at its seam."""

    priority = 1.0  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.passwords.pop((service, username), None)


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def netrc_file(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "netrc"
    path.write_text(text)
    path.chmod(0o600)
    return {"NETRC": str(path)}


def test_the_environment_wins(tmp_path):
    netrc_env = netrc_file(tmp_path, f"machine 127.0.0.1:8080 password {'n' * 40}")
    env = {"WANDB_API_KEY": KEY, **netrc_env}
    found = CredentialStore(environ=env).find(URL)
    assert found == Credentials(URL, "environment", KEY)
    assert found.describe() == (
        "W&B key for http://127.0.0.1:8080 from the WANDB_API_KEY environment variable"
    )


def test_netrc_entry_for_the_servers_host_and_port(tmp_path):
    env = netrc_file(
        tmp_path,
        f"machine other.example password {'o' * 40}\n"
        f"machine 127.0.0.1:8080\n  login user\n  password {'n' * 40}\n",
    )
    store = CredentialStore(environ=env)
    assert store.find(URL + "/") == Credentials(URL, "netrc", "n" * 40)
    assert store.find("http://127.0.0.1:9999") is None


def test_a_broken_netrc_is_reported_not_raised(tmp_path):
    env = netrc_file(tmp_path, "garbage here")
    store = CredentialStore(environ=env)
    assert store.find(URL) is None
    (problem,) = store.problems
    assert problem == (
        f"{tmp_path / 'netrc'}: cannot read W&B credentials (bad toplevel token 'garbage'); "
        "fix the file or set WANDB_API_KEY."
    )


def test_a_typed_key_is_kept_in_memory_only(tmp_path):
    store = CredentialStore(environ=netrc_file(tmp_path, ""))
    assert store.find(URL) is None
    assert store.remember(URL, f"  {KEY}\n") == Credentials(URL, "session", KEY)
    assert store.find(URL) == Credentials(URL, "session", KEY)
    assert CredentialStore(environ={}).find(URL) is None  # a "restart" has forgotten it
    store.forget(URL)
    assert store.find(URL) is None


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("", "The API key is empty. Copy it from your W&B user settings page."),
        (
            "k" * 39,
            "The API key has 39 characters; W&B keys have at least 40. Copy the whole key "
            "from your W&B user settings page.",
        ),
        (
            "k" * 40 + " extra",
            "The API key may contain only letters, digits, '_', '-' and '.'; check that "
            "nothing else was pasted with it.",
        ),
    ],
)
def test_malformed_keys_are_refused_with_the_fix(key, problem):
    assert check_api_key(key) == problem
    with pytest.raises(CredentialError, match="^" + problem.replace("(", r"\(")[:20]):
        CredentialStore(environ={}).remember(URL, key)


def test_keyring_only_when_the_user_opts_in(memory_keyring):
    store = CredentialStore(environ={})
    store.remember(URL, KEY)
    assert memory_keyring.passwords == {}
    store.remember(URL, KEY, use_keyring=True)
    assert memory_keyring.passwords == {(KEYRING_SERVICE, "127.0.0.1:8080"): KEY}

    restarted = CredentialStore(environ={})
    assert restarted.find(URL) is None  # not read unless the user asked to sync/go online
    assert restarted.find(URL, include_keyring=True) == Credentials(URL, "keyring", KEY)
    restarted.forget(URL, keyring_too=True)
    assert memory_keyring.passwords == {}


def test_without_keyring_opting_in_is_refused_and_the_key_stays_in_memory(monkeypatch):
    monkeypatch.setattr("gui_fastpath.wandb.credentials.keyring_available", lambda: False)
    store = CredentialStore(environ={})
    with pytest.raises(CredentialError, match="The OS keyring is not available"):
        store.remember(URL, KEY, use_keyring=True)
    assert store.find(URL) == Credentials(URL, "session", KEY)


def test_the_key_never_shows_in_repr_or_redacted_text():
    creds = Credentials(URL, "session", KEY)
    assert KEY not in repr(creds)
    basic = base64.b64encode(f"api:{KEY}".encode()).decode()
    text = f"key {KEY}; Authorization: Basic {basic}; WANDB_API_KEY=anything; {{'api_key': 'x'}}"
    assert redact(text, [KEY]) == (
        "key [redacted]; Authorization: Basic [redacted]; WANDB_API_KEY=[redacted]; "
        "{'api_key': '[redacted]'}"
    )
    assert redact("max_tokens=5 tokenizer", []) == "max_tokens=5 tokenizer"


def test_the_subprocess_gets_the_key_by_environment(monkeypatch):
    monkeypatch.setenv("WANDB_IDENTITY_TOKEN_FILE", "/x")
    env = subprocess_env(Credentials(URL, "netrc", KEY))
    assert (env["WANDB_API_KEY"], env["WANDB_BASE_URL"]) == (KEY, URL)
    assert "WANDB_IDENTITY_TOKEN_FILE" not in env
    assert env["PATH"] == os.environ["PATH"]


def test_public_url_drops_user_info():
    assert (
        public_url(f"https://api:{KEY}@host.example:8443/path/") == "https://host.example:8443/path"
    )


# ---- the end-to-end check: a fake key through every path, then search everything ----------


def forms(key: str) -> list[bytes]:
    found = [key.encode()]
    found += [base64.b64encode(f"{u}:{key}".encode()) for u in ("api", "user", "")]
    return found


def files_holding(roots: list[Path], keys: list[str]) -> list[str]:
    hits = []
    for root in roots:
        for dirpath, _, names in os.walk(root):
            for name in names:
                path = Path(dirpath, name)
                if path.is_symlink() or not path.is_file():
                    continue
                data = path.read_bytes()
                hits += [f"{path}: {k}" for k in keys for f in forms(k) if f in data]
    return hits


@pytest.fixture(scope="module")
def module_run(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("wandb-creds-source") / "run"
    write_offline_run(run_dir, steps=5)
    return run_dir


@pytest.mark.slow
@pytest.mark.timeout(90)
async def test_no_key_given_by_any_path_is_written_anywhere(
    tmp_path, tmp_path_factory, monkeypatch, memory_keyring, module_run, caplog, capfd
):
    caplog.set_level(logging.DEBUG)
    private_home(tmp_path, monkeypatch)
    keys = {
        path: f"fake{path}key".ljust(44, "Z")
        for path in ("environment", "netrc", "typed", "keyring")
    }
    run_dir = tmp_path / "run"
    folder = copy_run(module_run, run_dir)
    queue = SyncQueue()
    lines: list[str] = []
    closed = f"http://127.0.0.1:{closed_port()}"

    async with HangingServer(answer_root=True) as server:
        user_input = tmp_path_factory.mktemp("user-netrc")  # the user's file, outside the search
        netrc_env = netrc_file(user_input, f"machine {server.url[7:]} password {keys['netrc']}")
        CredentialStore(environ={}).remember(server.url, keys["keyring"], use_keyring=True)
        typed = CredentialStore(environ={})
        typed.remember(server.url, keys["typed"])
        stores = {
            "environment": CredentialStore(environ={"WANDB_API_KEY": keys["environment"]}),
            "netrc": CredentialStore(environ=netrc_env),
            "typed": typed,
            "keyring": CredentialStore(environ={}),  # after a restart: only the keyring has it
        }
        for path, store in stores.items():
            creds = store.find(server.url, include_keyring=True)
            assert creds is not None and creds.api_key == keys[path], path
            # the real wandb, against a server that hangs, then one that is down
            options = SyncOptions(timeout=2.5, grace=1.0)
            job = SyncJob(folder, creds, queue=queue, options=options, on_line=lines.append)
            assert (await job.run()).outcome == "timed_out"
            assert server.paths[-1] == "/graphql", path  # wandb itself got to talk to it
            down = Credentials(closed, creds.source, creds.api_key)
            assert (await SyncJob(folder, down, queue=queue, on_line=lines.append).run()).queued

    logged = "\n".join(r.getMessage() for r in caplog.records) + "\n".join(lines)
    out, err = capfd.readouterr()
    for key in keys.values():
        for form in forms(key):
            assert form.decode() not in logged + out + err
    assert len(lines) > 10 and queue.path.exists()
    assert files_holding([tmp_path], list(keys.values())) == []


def cli(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gui_fastpath", "wandb", "sync", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.mark.timeout(90)
def test_the_cli_takes_a_key_on_stdin_queues_the_run_and_writes_the_key_nowhere(
    tmp_path, module_run
):
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    url = f"http://127.0.0.1:{closed_port()}"
    env.update(HOME=str(home), XDG_STATE_HOME=str(home / "state"), WANDB_BASE_URL=url)
    env["NETRC"] = str(home / "no-netrc")
    run_dir = tmp_path / "run"
    folder = copy_run(module_run, run_dir)
    key = "clikey00" * 5 + "stdin"

    no_key = cli([str(run_dir)], env)
    assert no_key.returncode == 3
    assert no_key.stderr == (
        f"gui-fastpath wandb sync: no W&B API key for {url}; set WANDB_API_KEY, add the "
        "server to your netrc file, or pass --api-key-stdin\n"
    )

    done = cli([str(run_dir), "--api-key-stdin", "--reach-timeout-ms", "500"], env, key + "\n")
    assert done.returncode == 1, done.stderr
    assert f"The W&B server {url} is not reachable (connection refused)." in done.stdout
    listed = cli(["--list-queue"], env)
    assert listed.stdout.startswith(f"{folder}  {url}  attempts=1  last error: The W&B server")

    for text in (no_key.stdout, no_key.stderr, done.stdout, done.stderr, listed.stdout):
        assert key not in text
    assert files_holding([tmp_path], [key]) == []
