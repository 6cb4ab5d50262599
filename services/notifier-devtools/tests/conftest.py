import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

StartProcess = Callable[..., int]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _wait_until_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited early with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


@pytest.fixture
def start_devtool() -> Iterator[StartProcess]:
    """Runs ``python -m notifier_devtools.<name> --port <free> *args``; returns the port."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(name: str, *args: str) -> int:
        port = _free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", f"notifier_devtools.{name}", "--port", str(port), *args],
            stderr=subprocess.PIPE,
        )
        processes.append(process)
        _wait_until_listening(port, process)
        return port

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)
        assert process.stderr is not None
        process.stderr.close()
