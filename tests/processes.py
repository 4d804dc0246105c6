"""Real server and worker processes for tests where several processes must talk."""

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import BASE_DIR, subprocess_env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DaphneProcess:
    """`daphne config.asgi:application` on a free port, its output kept in a log file."""

    def __init__(self, log_path: Path, **env: str):
        self.port = free_port()
        self.log_path = log_path
        self.env = subprocess_env(**env)
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "DaphneProcess":
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port), "config.asgi:application"],
            cwd=BASE_DIR,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError(f"daphne did not start:\n{self.log}")
            time.sleep(0.1)

    def __exit__(self, *exc_info) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._log.close()

    @property
    def log(self) -> str:
        return self.log_path.read_text()

    def get(self, path: str, host: str) -> tuple[int, bytes]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", headers={"Host": host})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()
