"""A small W3C WebDriver client (urllib only) for tauri-driver.

tauri-driver starts the app for each session and forwards to Debian's
WebKitWebDriver; see ../../README.md (Testing) for the set-up.
"""

from __future__ import annotations

import base64
import http.client
import json
import time
import urllib.error
import urllib.request

ELEMENT = "element-6066-11e4-a6bb-b5f8c07ad9e9"
CTRL = "\ue009"
ENTER = "\ue007"
ESCAPE = "\ue00c"


class WebDriverError(RuntimeError):
    pass


class Element:
    def __init__(self, driver: "Driver", id_: str):
        self.driver = driver
        self.id = id_

    def _url(self, path: str = "") -> str:
        return f"/element/{self.id}{path}"

    def click(self) -> None:
        self.driver.call("POST", self._url("/click"), {})

    def type(self, text: str) -> None:
        self.driver.call("POST", self._url("/value"), {"text": text})

    def replace(self, text: str) -> None:
        """Selects everything in the field and types `text` over it."""
        self.click()
        self.type(CTRL + "a" + CTRL)
        self.type(text)

    @property
    def text(self) -> str:
        return self.driver.call("GET", self._url("/text"))

    def attribute(self, name: str) -> str | None:
        return self.driver.call("GET", self._url(f"/attribute/{name}"))


class Driver:
    def __init__(self, app: str, env: dict[str, str] | None = None, url: str = "http://127.0.0.1:4444"):
        self.base = url
        options: dict = {"application": app}
        if env:
            options["env"] = env
        caps = {"capabilities": {"alwaysMatch": {"browserName": "wry", "tauri:options": options}}}
        self.session = None
        value = self._request("POST", "/session", caps)
        self.session = value["sessionId"]

    def _request(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        # tauri-driver forwards through a pool of keep-alive connections to
        # WebKitWebDriver, which closes idle ones; a request that meets a
        # connection closing under it is answered by a dropped connection
        # before WebKitWebDriver saw it, so sending it again is safe.
        for attempt in range(3):
            request = urllib.request.Request(self.base + path, data=data, method=method)
            request.add_header("Content-Type", "application/json")
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    payload = json.loads(response.read() or b"{}")
                return payload.get("value")
            except urllib.error.HTTPError as error:
                payload = json.loads(error.read() or b"{}")
                raise WebDriverError(f"{method} {path}: {payload.get('value', payload)}") from None
            except (http.client.RemoteDisconnected, ConnectionResetError):
                if attempt == 2:
                    raise

    def call(self, method: str, path: str, body=None):
        return self._request(method, f"/session/{self.session}{path}", body)

    def quit(self) -> None:
        if self.session:
            try:
                self._request("DELETE", f"/session/{self.session}")
            finally:
                self.session = None

    def execute(self, script: str, *args):
        return self.call("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find_all(self, css: str) -> list[Element]:
        found = self.call("POST", "/elements", {"using": "css selector", "value": css})
        # WebKitWebDriver answers with the W3C key; take any single key.
        return [Element(self, e.get(ELEMENT) or next(iter(e.values()))) for e in found]

    def wait(self, condition, timeout: float = 10, message: str = "condition"):
        """Polls `condition()` until it returns something truthy."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = condition()
                if last:
                    return last
            except WebDriverError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"{message} not met in {timeout}s (last: {last!r})")

    def find(self, css: str, timeout: float = 10) -> Element:
        return self.wait(lambda: (self.find_all(css) or [None])[0], timeout, f"element {css}")

    def text_of(self, css: str) -> str:
        return self.execute("const e = document.querySelector(arguments[0]); return e ? e.textContent : null;", css)

    def wait_text(self, css: str, needle: str, timeout: float = 10) -> str:
        return self.wait(
            lambda: (t := self.text_of(css)) is not None and needle in t and t,
            timeout,
            f"{css} containing {needle!r}",
        )

    def select(self, css: str, value: str) -> None:
        """Picks an option of a <select> as a user would, firing React's change,
        and waits until the UI shows it."""
        self.execute(
            "const s = document.querySelector(arguments[0]);"
            "const set = Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, 'value').set;"
            "set.call(s, arguments[1]); s.dispatchEvent(new Event('change', {bubbles: true}));",
            css,
            value,
        )
        self.wait(
            lambda: self.execute("return document.querySelector(arguments[0]).value", css) == value,
            message=f"{css} showing {value!r}",
        )

    def editor(self, test_id: str, text: str) -> None:
        """Replaces the text of a CodeMirror editor by typing into it."""
        content = self.find(f'[data-testid="{test_id}"] .cm-content')
        content.click()
        content.type(CTRL + "a" + CTRL)
        content.type("\ue017")  # Delete
        content.type(text)

    def keys(self, text: str) -> None:
        self.find("body").type(text)

    def screenshot(self, path: str) -> None:
        data = self.call("GET", "/screenshot")
        with open(path, "wb") as out:
            out.write(base64.b64decode(data))
