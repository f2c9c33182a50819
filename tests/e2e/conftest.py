"""End-to-end flows in the real app window.

Xvfb gives a display, tauri-driver (with Debian's WebKitWebDriver) drives the
app binary, which starts its embedded server on free loopback ports and keeps
its history in a temporary data folder. Screenshots of every view land in
`$ADUIB_E2E_ARTIFACTS` (default: tests/e2e/artifacts).
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from webdriver import Driver

import sys  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from rnacos import running_rnacos  # noqa: E402
from tls_peer import running_tls_peer, write_pki  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
APP = os.environ.get("ADUIB_APP", str(TARGET / "debug" / "aduib-app"))
CLI = os.environ.get("ADUIB_BIN", str(TARGET / "debug" / "aduib"))
ARTIFACTS = Path(os.environ.get("ADUIB_E2E_ARTIFACTS", ROOT / "tests" / "e2e" / "artifacts"))


def _free_display() -> int:
    for n in range(90, 140):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return n
    raise RuntimeError("no free X display number")


def _free_port_base() -> int:
    """Four consecutive free loopback ports."""
    for _ in range(200):
        base = random.randrange(20000, 60000, 4)
        sockets = []
        try:
            for port in range(base, base + 4):
                s = socket.socket()
                s.bind(("127.0.0.1", port))
                sockets.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no four free consecutive ports")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


@pytest.fixture(scope="session")
def display():
    number = _free_display()
    xvfb = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", "1440x900x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        if time.monotonic() > deadline:
            raise RuntimeError("Xvfb did not start")
        time.sleep(0.05)
    global _DISPLAY
    _DISPLAY = f":{number}"
    yield _DISPLAY
    xvfb.terminate()
    xvfb.wait(5)


@pytest.fixture(scope="session")
def workspace(port_base):
    """A copy of the demo workspace (the flows save into it), beside the
    repository's schema folders as in the repository, its "local"
    environment aimed at this run's server."""
    root = Path(tempfile.mkdtemp(prefix="aduib-e2e-ws-"))
    shutil.copytree(ROOT / "workspaces" / "demo", root / "workspaces" / "demo")
    for schemas in ("thrift", "proto"):
        (root / schemas).symlink_to(ROOT / schemas)
    ws = root / "workspaces" / "demo"
    (ws / "environments" / "local.toml").write_text(
        "[variables]\n"
        f'jsonrpc = "http://127.0.0.1:{port_base}"\n'
        f'rest = "http://127.0.0.1:{port_base + 1}"\n'
        f'grpc = "127.0.0.1:{port_base + 2}"\n'
        f'thrift = "127.0.0.1:{port_base + 3}"\n'
    )
    yield ws
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def driver_url(display, data_dir, port_base, workspace):
    tauri_driver = shutil.which("tauri-driver")
    if tauri_driver is None:
        pytest.fail("tauri-driver is not installed (scripts/setup-e2e.sh installs it)")
    port, native = _free_port(), _free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # A failure screenshot describes its own run only.
    for stale in ARTIFACTS.glob("FAILED-*.png"):
        stale.unlink()
    # The app inherits this environment through WebKitWebDriver.
    env = dict(
        os.environ,
        DISPLAY=display,
        ADUIB_DATA_DIR=data_dir,
        ADUIB_APP_PORT_BASE=str(port_base),
        ADUIB_WORKSPACE=str(workspace),
    )
    process = subprocess.Popen(
        [tauri_driver, "--port", str(port), "--native-port", str(native), "--native-driver", "/usr/bin/WebKitWebDriver"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(ARTIFACTS / "tauri-driver.log", "wb"),
    )
    url = f"http://127.0.0.1:{port}"
    _wait_http(url + "/status", 15)
    yield url
    process.terminate()
    process.wait(5)


@pytest.fixture(scope="session")
def data_dir():
    path = tempfile.mkdtemp(prefix="aduib-e2e-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def port_base():
    return _free_port_base()


class App:
    """Starts (and restarts) the app in the shared data folder."""

    def __init__(self, driver_url: str, port_base: int):
        self.driver_url = driver_url
        self.port_base = port_base
        self.driver: Driver | None = None

    def start(self, server: str = "emerald") -> Driver:
        """Ready once the embedded server's dot shows `server`: emerald when
        it reported its endpoints to the window, rose when it did not start."""
        self.driver = Driver(APP, url=self.driver_url)
        self.driver.wait(
            lambda: self.driver.execute(
                "const d = document.querySelector('[data-testid=\"server-dot\"]');"
                f"return !!d && d.className.includes('{server}');"
            ),
            timeout=20,
            message=f"the embedded server's dot {server}",
        )
        return self.driver

    def restart(self, server: str = "emerald") -> Driver:
        self.stop()
        return self.start(server)

    def stop(self) -> None:
        if self.driver:
            self.driver.quit()
            self.driver = None


@pytest.fixture(scope="session")
def app(driver_url, port_base):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    app = App(driver_url, port_base)
    app.start()
    yield app
    app.stop()


@pytest.fixture
def d(app) -> Driver:
    assert app.driver is not None
    return app.driver


# The Xvfb display the app runs on, once the `display` fixture started it.
_DISPLAY: str | None = None


def capture(driver: Driver, path: Path) -> None:
    """The window as X shows it. Not WebDriver's screenshot: with WebKit
    painting without GL compositing (the app's choice without a GPU),
    WebKitWebDriver's snapshot can wait forever in some states while the
    window itself goes on repainting (seen in the History view)."""
    width, height = driver.execute("return [window.innerWidth, window.innerHeight]")
    subprocess.run(
        ["import", "-display", str(_DISPLAY), "-window", "root", "-crop", f"{width}x{height}+0+0", "+repage", str(path)],
        check=True,
        timeout=30,
    )


def shot(driver: Driver, name: str) -> Path:
    """Saves a screenshot after the frame settles (WebKit shows the old one for a moment)."""
    time.sleep(0.6)
    path = ARTIFACTS / f"{name}.png"
    capture(driver, path)
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failed flow, a screenshot of the window as it was."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        app = item.funcargs.get("app") or getattr(item.funcargs.get("d"), "app", None)
        driver = app.driver if isinstance(app, App) else item.funcargs.get("d")
        if driver is not None:
            try:
                capture(driver, ARTIFACTS / f"FAILED-{item.name}.png")
            except Exception:  # the window may be what failed
                pass


@pytest.fixture(scope="session")
def registered_server(tmp_path_factory):
    """A real rnacos, and `aduib serve` registered in it: (nacos address, server URL)."""
    with running_rnacos(tmp_path_factory.mktemp("rnacos")) as nacos:
        server = subprocess.Popen(
            [CLI, "--no-history", "serve", "--jsonrpc", "127.0.0.1:0", "--register", f"nacos://{nacos}"],
            stdout=subprocess.PIPE, text=True,
        )
        try:
            url = server.stdout.readline().split()[1]
            yield nacos, url
        finally:
            server.terminate()
            server.wait(10)


@pytest.fixture(scope="session")
def tls_peer(tmp_path_factory):
    """The real peer on JSON-RPC over TLS, requiring a client certificate:
    (the folder of PEM files, its port)."""
    pki = write_pki(tmp_path_factory.mktemp("pki"))
    with running_tls_peer("jsonrpc", pki) as port:
        yield pki, port
