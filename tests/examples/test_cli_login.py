"""examples/cli_login: the program run as its user runs it (a subprocess with --no-browser),
signing in through the real bridge and emulator."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from ib_oauth_bridge.devib.data import seed_resources
from servers import Bridge, free_port

SignIn = Callable[[httpx.Client, str], str]
SEEDS = {row["name"]: row for row in seed_resources()}
SIGNED_IN = "Signed in as Ada Lovelace <ada@example.com> at Demo Co"


class Program:
    """cli_login.py with a fixed token file and download folder."""

    def __init__(self, examples_dir: Path, env: dict[str, str], bridge_url: str, home: Path):
        self.script = examples_dir / "cli_login" / "cli_login.py"
        self.env = env
        self.token_file = home / "config" / "tokens.json"
        self.downloads = home / "downloads"
        self.args = ["--bridge-url", bridge_url, "--token-file", str(self.token_file),
                     "--download-dir", str(self.downloads), "--no-browser"]

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, str(self.script), *self.args, *args], env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(self.script), *self.args, *args], env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)


def table_rows(output: str) -> list[str]:
    """The lines under the table's rule (a line of dashes), up to the first blank line."""
    lines = output.splitlines()
    rule = next(i for i, line in enumerate(lines) if re.fullmatch(r"-+( +-+){3}", line))
    rows = []
    for line in lines[rule + 1:]:
        if not line.strip():
            break
        rows.append(line)
    return rows


def saved_file(output: str) -> tuple[Path, int]:
    match = re.search(r"^Saved (.+) \(([\d,]+) bytes\)$", output, re.MULTILINE)
    assert match, output
    return Path(match.group(1)), int(match.group(2).replace(",", ""))


def test_signs_in_lists_downloads_and_reuses_the_saved_sign_in(
    bridge: Bridge, sign_in: SignIn, examples_dir: Path, example_env: dict[str, str],
    tmp_path: Path,
) -> None:
    program = Program(examples_dir, example_env, bridge.url, tmp_path)

    # First run: no saved sign-in, so it prints the authorization link and waits for the
    # browser to come back to its loopback listener.
    process = program.start()
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if "/authorize?" in line:
            break
    link = seen[-1].strip()
    assert link.startswith(f"{bridge.url}/authorize?"), "".join(seen)
    with httpx.Client(timeout=10) as browser:
        landing = browser.get(sign_in(browser, link))  # the program's loopback listener
    assert landing.status_code == 200, landing.text
    rest = process.stdout.read()  # not communicate(): it would skip what readline buffered
    process.wait(timeout=60)
    transcript = "".join(seen) + rest
    (tmp_path / "transcript.txt").write_text(transcript, encoding="utf-8")
    print(transcript)
    assert process.returncode == 0, transcript
    assert "Traceback" not in transcript

    assert SIGNED_IN in transcript
    rows = table_rows(transcript)
    assert len(rows) == 10, transcript
    assert all(re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d$", row) for row in rows), rows

    downloaded = re.search(r"^Downloading (.+) \(", transcript, re.MULTILINE)
    assert downloaded, transcript
    resource = SEEDS[downloaded.group(1)]
    path, size = saved_file(transcript)
    assert path == program.downloads / resource["file"]["name"]
    assert path.stat().st_size == size == resource["file"]["size"]
    assert re.search(r"\[#+\] 100%", transcript)  # the progress bar's final state

    assert stat.S_IMODE(program.token_file.stat().st_mode) == 0o600
    tokens = json.loads(program.token_file.read_text())
    assert tokens["access_token"]
    assert tokens["refresh_token"]

    # Second run: the saved sign-in is reused (no link), and --download picks the resource.
    smallest = min(SEEDS.values(), key=lambda row: row["file"]["size"])
    again = program.run("--download", smallest["_id"])
    assert again.returncode == 0, again.stdout
    assert "/authorize?" not in again.stdout
    assert f"Using the saved sign-in in {program.token_file}" in again.stdout
    assert SIGNED_IN in again.stdout
    path, size = saved_file(again.stdout)
    assert path.name == smallest["file"]["name"]
    assert path.stat().st_size == size == smallest["file"]["size"]
    assert stat.S_IMODE(program.token_file.stat().st_mode) == 0o600

    # A resource IB does not know: the refusal, in words, exit code 3.
    unknown = program.run("--download", "0" * 24)
    assert unknown.returncode == 3, unknown.stdout
    assert "refused: not_found" in unknown.stdout
    assert "Traceback" not in unknown.stdout

    # The sign-in revoked elsewhere (RFC 7009): exit code 1, the saved tokens are forgotten.
    revoked = httpx.post(f"{bridge.url}/revoke", data={
        "token": json.loads(program.token_file.read_text())["refresh_token"],
        "client_id": "mcp-public-client"}, timeout=10)
    assert revoked.status_code == 200, revoked.text
    ended = program.run()
    assert ended.returncode == 1, ended.stdout
    assert "Your sign-in has ended. Run this again to sign in." in ended.stdout
    assert "Traceback" not in ended.stdout
    assert not program.token_file.exists()


def test_an_unreachable_bridge_is_a_clear_network_error(
    examples_dir: Path, example_env: dict[str, str], tmp_path: Path
) -> None:
    program = Program(examples_dir, example_env, f"http://127.0.0.1:{free_port()}", tmp_path)
    result = program.run()
    assert result.returncode == 2, result.stdout
    assert result.stdout.startswith("Cannot reach the bridge at http://127.0.0.1:")
    assert "Traceback" not in result.stdout
