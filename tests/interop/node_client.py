"""`node tests/interop/node/mcp_client.mjs`, an MCP host on the official MCP TypeScript SDK, run as
a program whose JSON lines a test reads and answers."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

NODE_DIR = Path(__file__).resolve().parent / "node"
NODE_CLIENT = NODE_DIR / "mcp_client.mjs"
SDK_PACKAGE = NODE_DIR / "node_modules" / "@modelcontextprotocol" / "sdk" / "package.json"
LINE_TIMEOUT = 60.0


@dataclass
class NodeClientRun:
    """One run of mcp_client.mjs: its stdout read line by line as JSON objects (in a thread, so a
    read can time out), its stderr kept in a file for the failure message."""

    process: subprocess.Popen[str]
    stderr_path: Path
    _lines: queue.Queue[str | None] = field(default_factory=queue.Queue)
    _reader: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        assert self.process.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True)
        self._reader.start()

    def _read(self, stdout: IO[str]) -> None:
        for line in stdout:
            self._lines.put(line)
        self._lines.put(None)

    def next_message(self, timeout: float = LINE_TIMEOUT) -> dict[str, Any]:
        """The next line the program printed, as a JSON object."""
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(
                f"mcp_client.mjs printed nothing within {timeout} s\n{self.stderr()}"
            ) from None
        if line is None:
            code = self.process.wait(timeout=10)
            raise AssertionError(f"mcp_client.mjs ended ({code}) without a line\n{self.stderr()}")
        print(f"mcp_client.mjs: {line.rstrip()}")  # in pytest's report of a failing test
        message = json.loads(line)
        assert isinstance(message, dict), line
        return message

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def end(self) -> None:
        """Kill the program if it still runs, and close its pipes once the reader is done."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        self._reader.join(timeout=10)
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()


@dataclass(frozen=True)
class NodeClient:
    """`node tests/interop/node/mcp_client.mjs`: an MCP host on the official TypeScript SDK."""

    node: str
    tmp: Path

    @contextmanager
    def run(self, server_url: str, *args: str) -> Iterator[NodeClientRun]:
        """Start it on `server_url`; on leaving, end it if it has not ended by itself."""
        stderr_path = self.tmp / f"mcp_client-{len(list(self.tmp.iterdir()))}.stderr"
        with stderr_path.open("w") as stderr:
            process = subprocess.Popen(
                [self.node, str(NODE_CLIENT), server_url, *args],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                text=True, cwd=NODE_DIR,
            )
        run = NodeClientRun(process, stderr_path)
        try:
            yield run
        finally:
            run.end()
