"""Children for the deployment tests (test_deploy.py): an OCI registry, a static file server and an
Envoy started from one of the repository's Envoy configurations.

Like conftest's servers, each is a child of the test process on a free 127.0.0.1 port, stopped by
pid, and every wait is bounded.
"""

import os
import random
import re
import shutil
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

from conftest import envoy_command, free_port, http_get, stop, wait_until


def require(tool: str) -> str:
    """The path of `tool`; without it the test skips with the reason, or fails under RT_NO_SKIPS=1
    (CI installs it, see .ci/run)."""
    path = shutil.which(tool)
    if path:
        return path
    message = f"{tool} not found (Debian: apt-get install skopeo docker-registry)"
    if os.environ.get("RT_NO_SKIPS") == "1":
        pytest.fail(message)
    pytest.skip("SKIPPED: " + message)


def rewrite(text: str, replacements: list, what: str) -> str:
    """Applies (regex, replacement) pairs, each of which must match exactly once."""
    for pattern, repl in replacements:
        text, n = re.subn(pattern, repl, text)
        assert n == 1, f"{what}: expected one match for {pattern!r}, found {n}"
    return text


class Child:
    """A server process logging to `workdir/<name>.log`, ready once `ready()` holds (bounded by
    `timeout_s`; stopped again if it never does)."""

    def __init__(self, args: list, workdir: Path, name: str, ready, timeout_s: float):
        self.log = workdir / f"{name}.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: self.alive() and ready(), timeout_s, name)
        except BaseException:
            self.stop()
            raise

    def alive(self) -> bool:
        """True while running; a child that exited fails the test with its log."""
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.log.stem} exited with {self.proc.returncode}:\n"
                                 f"{self.log_text()}")
        return True

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self):
        stop(self.proc)


class Registry(Child):
    """Debian's `docker-registry` (the CNCF distribution registry v2) with storage in `workdir`."""

    def __init__(self, workdir: Path):
        self.host = f"127.0.0.1:{free_port()}"
        config = workdir / "registry.yml"
        config.write_text(
            "version: 0.1\n"
            "log: {level: warn, accesslog: {disabled: true}}\n"
            f"storage: {{filesystem: {{rootdirectory: '{workdir / 'storage'}'}}}}\n"
            f"http: {{addr: '{self.host}'}}\n")
        super().__init__([require("docker-registry"), "serve", str(config)], workdir, "registry",
                         lambda: http_get(f"http://{self.host}/v2/", 1)[0] == 200, 15)


class FileServer(Child):
    """`python -m http.server` serving `directory`; its log has one line per request."""

    def __init__(self, directory: Path, workdir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__([sys.executable, "-m", "http.server", str(self.port), "--bind",
                          "127.0.0.1", "--directory", str(directory)], workdir, "files",
                         lambda: http_get(self.url + "/", 1)[0] == 200, 15)

    def gets(self, path: str) -> int:
        """How many GETs of `path` it has answered with a 200."""
        return self.log_text().count(f'"GET {path} HTTP/1.1" 200')


class Proxy(Child):
    """Envoy (two workers) running the configuration `render(listen_port, admin_port)` returns;
    ready when its admin `/ready` answers 200."""

    def __init__(self, render, workdir: Path, *extra_args: str):
        self.port, self.admin_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin = f"http://127.0.0.1:{self.admin_port}"
        config = workdir / "envoy.yaml"
        config.write_text(render(self.port, self.admin_port))
        super().__init__(envoy_command() + [
            "-c", str(config), "--concurrency", "2",
            "--base-id", str(random.randint(1000, 60000)), "--log-level", "info",
            "--file-flush-interval-msec", "100", *extra_args], workdir, "envoy",
            lambda: http_get(self.admin + "/ready", 1)[0] == 200, 30)

    def stats(self, prefix: str) -> dict:
        """Envoy's stats under `prefix` (counters, gauges and text readouts), by name, as text."""
        query = urllib.parse.urlencode({"filter": "^" + re.escape(prefix)})
        status, body = http_get(f"{self.admin}/stats?{query}", 5)
        assert status == 200
        lines = (line.split(": ", 1) for line in body.decode().splitlines() if ": " in line)
        return {name: value.strip('"') for name, value in lines}
