"""The flows a person goes through, in the real window (issue 9's list)."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from conftest import shot
from webdriver import CTRL, ENTER


def compose(d, choice: str, target: str | None = None, method: str | None = None, mode: str | None = None, body: str | None = None):
    d.find('[data-testid="nav-compose"]').click()
    tabs = len(d.find_all('[data-testid="request-tab"]'))
    d.find('[data-testid="new-tab"]').click()
    # The new tab's composer replaces the old one; edit only once it has.
    d.wait(lambda: len(d.find_all('[data-testid="request-tab"]')) == tabs + 1, message="a new tab")
    d.select('[data-testid="transport"]', choice)
    if target is not None:
        d.find('[data-testid="target"]').replace(target)
    if method is not None:
        d.find('[data-testid="method"]').replace(method)
        d.keys("\ue00c")  # Esc closes the suggestions
    if mode is not None:
        d.select('[data-testid="mode"]', mode)
    if body is not None:
        d.editor("body-editor", body)


def send(d):
    d.find('[data-testid="send"]').click()


def response_text(d) -> str:
    return d.text_of('[data-testid="response-body"] .cm-content') or ""


def status(d) -> str:
    return d.text_of('[data-testid="response-status"]') or ""


def test_jsonrpc_add_answers_3(d):
    compose(d, "aduib:jsonrpc", method="CaculService.add", body='{"x": 1, "y": 2')
    send(d)
    d.wait(lambda: status(d) == "OK", message="status OK")
    body = json.loads(response_text(d))
    assert body["result"] == 3
    shot(d, "compose-unary-light")


def test_countdown_streams_every_message_into_the_timeline(d):
    compose(d, "aduib:rest", method="CaculService.countdown", mode="server_stream", body='{"start": 9, "interval_ms": 30')
    send(d)
    d.wait_text('[data-testid="response-messages"]', "10 messages", timeout=15)
    d.wait(lambda: status(d) == "OK", message="stream ended OK")
    rows = d.execute("return [...document.querySelectorAll('[data-testid=\"timeline-row\"]')].map(r => r.textContent)")
    received = [r for r in rows if '{"n":' in r]
    assert [json.loads(r[r.index("{"):])["n"] for r in received] == list(range(9, -1, -1)), rows
    assert all("+0." in r or "+1." in r for r in received), "each row shows its offset"
    shot(d, "compose-stream-timeline-light")


def test_grpc_rich_service_by_reflection_with_schema_completion(d, app):
    compose(d, "grpc", target=f"127.0.0.1:{app.port_base + 2}")
    method = d.find('[data-testid="method"]')
    method.click()
    method.type("RichService/Ech")
    d.wait_text('[data-testid="method-suggestions"]', "aduib.demo.v1.RichService/Echo", timeout=15)
    method.type(ENTER)
    # Picking the method fills its template from the schema.
    d.wait(lambda: '"name"' in (d.text_of('[data-testid="body-editor"] .cm-content') or ""), message="template")
    # The schema flags a field of the wrong type before sending.
    d.editor("body-editor", '{"name": "e2e", "big": true')
    d.wait(lambda: d.find_all(".cm-lintRange-error, .cm-lint-marker-error"), message="schema error flagged", timeout=10)
    shot(d, "compose-grpc-schema-light")
    d.editor("body-editor", '{"name": "e2e", "big": "9007199254740993"')
    send(d)
    d.wait(lambda: status(d) == "OK", message="gRPC OK")
    body = json.loads(response_text(d))
    assert body["name"] == "e2e" and body["big"] == "9007199254740993"


def test_thrift_call_from_the_demo_idl(d, app):
    compose(d, "thrift", target=f"127.0.0.1:{app.port_base + 3}", method="RichService.add", body='{"a": 40, "b": 2')
    send(d)
    d.wait(lambda: status(d) == "OK", message="Thrift OK")
    assert json.loads(response_text(d)) == 42


def test_interactive_bidi_answers_each_message_while_the_stream_is_open(d, app):
    compose(d, "grpc", target=f"127.0.0.1:{app.port_base + 2}")
    method = d.find('[data-testid="method"]')
    method.click()
    method.type("aduib.demo.v1.RichService/Chat")
    d.keys("\ue00c")
    d.wait(lambda: d.execute("return document.querySelector('[data-testid=\"mode\"]').value") == "bidi", message="bidi mode")
    send(d)
    box = d.find('[data-testid="stream-input"]')
    d.wait(lambda: box.attribute("disabled") is None, message="stream open")
    for name in ["first", "second"]:
        box.replace(json.dumps({"name": name}))
        d.find('[data-testid="stream-send"]').click()
        d.wait(
            lambda: any(f'"name":"{name}"' in r and "ArrowDown" not in r for r in d.execute(
                "return [...document.querySelectorAll('[data-testid=\"timeline-row\"]')]"
                ".filter(r => r.querySelector('.text-emerald-600')).map(r => r.textContent)")),
            message=f"reply to {name} while open",
        )
    assert status(d) == "Running"
    shot(d, "compose-bidi-light")
    d.find('[data-testid="stream-end"]').click()
    d.wait(lambda: status(d) == "OK", message="bidi ended OK")


def test_cancel_stops_a_slow_call_at_once(d):
    compose(d, "aduib:jsonrpc", method="CaculService.slow", body='{"x": 1, "delay_ms": 20000')
    send(d)
    d.wait(lambda: status(d) == "Running", message="running")
    started = time.monotonic()
    d.find('[data-testid="cancel"]').click()
    d.wait(lambda: status(d) == "Cancelled", timeout=3, message="cancelled")
    assert time.monotonic() - started < 2


def test_invalid_json_is_flagged_before_sending(d):
    compose(d, "aduib:jsonrpc", method="CaculService.add", body='{"x": 1,, ')
    d.wait(lambda: d.find_all(".cm-lint-marker-error, .cm-lintRange-error"), message="syntax error flagged")
    send(d)
    notice = d.wait(lambda: d.text_of('[data-testid="composer-notice"]'), message="notice")
    assert "not valid JSON" in notice


def test_an_unreachable_target_names_its_cause(d):
    compose(d, "aduib:jsonrpc", target="http://127.0.0.1:9", method="CaculService.add", body='{"x": 1, "y": 2')
    send(d)
    error = d.wait(lambda: d.text_of('[data-testid="response-error"]'), message="error shown")
    assert "connect" in error.lower(), error
    shot(d, "compose-error-light")


def test_a_server_error_shows_its_code_and_message(d):
    compose(d, "aduib:jsonrpc", method="CaculService.fail", body="{}")
    send(d)
    d.wait(lambda: status(d) == "Error", message="an error status")
    message = d.wait(lambda: d.text_of('[data-testid="response-status-message"]'), message="its message shown")
    assert "Oops" in message, message
    shot(d, "compose-server-error-light")


def test_history_survives_a_restart_finds_and_reruns_and_diffs(app):
    d = app.restart()
    d.find('[data-testid="nav-history"]').click()
    d.wait(lambda: len(d.find_all('[data-testid="history-row"]')) >= 5, message="history after restart")
    d.find('[data-testid="history-search"]').replace("countdown")
    d.wait(lambda: len(d.find_all('[data-testid="history-row"]')) == 1, message="search narrows to countdown")
    d.find('[data-testid="history-row"]').click()
    d.wait_text('[data-testid="history-detail-body"]', "countdown")
    shot(d, "history-light")
    d.find('[data-testid="history-rerun"]').click()
    d.wait(lambda: status(d) == "OK", timeout=15, message="re-run OK")
    d.wait_text('[data-testid="response-messages"]', "10 messages")

    # Diff the two countdowns: same request, different timestamps.
    d.find('[data-testid="nav-history"]').click()
    d.wait(lambda: len(d.find_all('[data-testid="history-row"]')) == 2, message="two countdowns")
    for pick in d.find_all('[data-testid="history-pick"]'):
        pick.click()
    d.find('[data-testid="history-diff"]').click()
    # Envelope ids and metadata times aside (the default), the runs are alike.
    d.wait_text('[data-testid="diff-summary"]', "identical")
    d.find('[data-testid="diff-quiet"]').click()
    d.wait_text('[data-testid="diff-summary"]', "lines differ")
    shot(d, "history-diff-light")


def test_a_fast_streams_row_opens_its_whole_envelope(d):
    # A fast stream's rows reach the window as previews (the payload); the
    # whole envelope is asked for when a row is opened. (After the history
    # flow, which expects a single countdown in history.)
    compose(d, "aduib:grpc", method="CaculService.countdown", mode="server_stream", body='{"start": 2999, "interval_ms": 0')
    send(d)
    d.wait_text('[data-testid="response-messages"]', "3000 messages", timeout=20)
    d.wait(lambda: status(d) == "OK", message="stream ended OK")
    tab = "[...document.querySelectorAll('[data-testid=\"response\"] button')].find(b => b.textContent === arguments[0]).click()"
    d.execute(tab, "timeline")
    # A row in the middle of those shown (the last message came whole).
    n = d.execute(
        "const rows = [...document.querySelectorAll('[data-testid=\"timeline-row\"]')].filter(r => r.textContent.includes('{\"n\":'));"
        "const row = rows[Math.floor(rows.length / 2)];"
        "row.click();"
        "return JSON.parse(row.textContent.slice(row.textContent.indexOf('{'))).n;"
    )
    d.execute(tab, "body")
    d.wait(lambda: '"aduib_rpc"' in response_text(d), message="the whole envelope of the opened row")
    body = json.loads(response_text(d))
    assert body["result"] == {"n": n} and body["status"] == "success", body


def test_saved_requests_run_in_an_environment_and_save_as_files(d, workspace):
    # A request saved in the workspace, aimed at {{jsonrpc}} of "local".
    d.wait(lambda: d.find_all('[data-testid="saved-request"]'), message="saved requests listed")
    assert d.execute("return document.querySelector('[data-testid=\"environment\"]').value") == "local"
    d.execute(
        "[...document.querySelectorAll('[data-testid=\"saved-request\"]')]"
        ".find(e => e.textContent.includes(arguments[0])).click()",
        "Add on JSON-RPC",
    )
    d.wait(lambda: d.execute("return document.querySelector('[data-testid=\"target\"]').value") == "{{jsonrpc}}", message="the saved request open")
    send(d)
    d.wait(lambda: status(d) == "OK", message="sent through the environment")
    assert json.loads(response_text(d))["result"] == 3
    shot(d, "workspace-saved-request-light")

    # Save a copy under a new name: one more file in requests/.
    d.find('[data-testid="save-name"]').replace("Add big numbers")
    d.editor("body-editor", '{"x": 40, "y": 2')
    d.find('[data-testid="save"]').click()
    d.wait(lambda: "Add big numbers" in (d.text_of('[data-testid="saved-list"]') or ""), message="listed")
    files = sorted(p.name for p in (workspace / "requests").iterdir())
    assert "add-on-json-rpc.json" in files, files
    saved_file = json.loads((workspace / "requests" / "add-on-json-rpc.json").read_text())
    assert saved_file["name"] == "Add big numbers" and saved_file["request"]["data"] == {"x": 40, "y": 2}

    # A credential in clear is refused, and nothing is written.
    compose(d, "aduib:jsonrpc", method="CaculService.add", body='{"x": 1, "y": 2')
    d.find('[data-testid="tab-headers"]').click()
    d.find('[data-testid="headers-editor"]').replace("Authorization: Bearer not-a-real-token")
    d.find('[data-testid="save-name"]').replace("leaky")
    d.find('[data-testid="save"]').click()
    problem = d.wait(lambda: d.text_of('[data-testid="save-problem"]'), message="refused")
    assert "credential" in problem and "${env:" in problem, problem
    assert not any("leaky" in p.name for p in (workspace / "requests").iterdir())

    d.find('[data-testid="nav-workspace"]').click()
    d.wait_text('[data-testid="workspace-name"]', "demo")
    d.wait(lambda: d.find_all('[data-testid="environment-card"]'), message="environments shown")
    shot(d, "workspace-light")


def test_the_embedded_server_stops_and_starts_from_the_ui(d):
    d.find('[data-testid="nav-server"]').click()
    d.wait_text('[data-testid="server-state"]', "Running")
    d.wait(lambda: d.find_all('[data-testid="server-call"]') or True)
    shot(d, "server-light")
    d.find('[data-testid="server-toggle"]').click()
    d.wait_text('[data-testid="server-state"]', "Stopped")
    compose(d, "aduib:jsonrpc", method="CaculService.add", body='{"x": 1, "y": 2')
    send(d)
    d.wait(lambda: "connect" in (d.text_of('[data-testid="response-error"]') or "").lower(), message="refused while stopped")
    d.find('[data-testid="nav-server"]').click()
    d.find('[data-testid="server-toggle"]').click()
    d.wait_text('[data-testid="server-state"]', "Running")
    compose(d, "aduib:jsonrpc", method="CaculService.add", body='{"x": 2, "y": 2')
    send(d)
    d.wait(lambda: status(d) == "OK", message="OK after restart")
    d.find('[data-testid="nav-server"]').click()
    d.wait(lambda: d.find_all('[data-testid="server-call"]'), message="the call in the live log")


def test_a_server_that_cannot_start_at_launch_says_why(app, port_base):
    try:
        # Something else holds the embedded server's JSON-RPC port as the app starts.
        app.stop()
        squatter = socket.socket()
        # The app's own listener may have left connections in TIME_WAIT there.
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            # The port is free once the app's process has gone.
            deadline = time.monotonic() + 10
            while True:
                try:
                    squatter.bind(("127.0.0.1", port_base))
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            squatter.listen()
            d = app.start(server="rose")
            d.find('[data-testid="nav-server"]').click()
            d.wait_text('[data-testid="server-state"]', "Not running")
            problem = d.text_of('[data-testid="server-problem"]') or ""
            assert "in use" in problem and "another server may be using the port" in problem, problem
            shot(d, "server-not-started-light")
        finally:
            squatter.close()
        # Once the port is free, Start serves as usual.
        d.find('[data-testid="server-toggle"]').click()
        d.wait_text('[data-testid="server-state"]', "Running")
        assert not d.find_all('[data-testid="server-problem"]')
    except BaseException:
        # The flows after this one need the session's app serving again.
        app.restart()
        raise


def dark_shot(d, name: str) -> None:
    """The screen as it is, in the dark theme too."""
    d.find('[data-testid="theme-toggle"]').click()
    try:
        d.wait(lambda: d.execute("return document.documentElement.classList.contains('dark')"), message="dark")
        shot(d, name)
    finally:
        d.find('[data-testid="theme-toggle"]').click()


def test_dark_theme_screens(d):
    d.find('[data-testid="theme-toggle"]').click()
    d.wait(lambda: d.execute("return document.documentElement.classList.contains('dark')"), message="dark")
    try:
        d.find('[data-testid="request-tab"]').click()
        shot(d, "compose-dark")
        d.find('[data-testid="nav-history"]').click()
        shot(d, "history-dark")
        d.find('[data-testid="nav-server"]').click()
        shot(d, "server-dark")
        d.keys(CTRL + "k" + CTRL)
        d.find('[data-testid="palette"]')
        shot(d, "palette-dark")
        d.keys("\ue00c")
        d.wait(lambda: not d.find_all('[data-testid="palette"]'), message="Esc closes the palette")
    finally:
        d.find('[data-testid="theme-toggle"]').click()


def test_the_environment_choice_survives_a_restart(app, data_dir):
    d = app.driver
    d.select('[data-testid="environment"]', "")  # "No environment"
    settings = Path(data_dir) / "settings.json"

    def saved() -> bool:
        try:
            return any(k.startswith("environment:") and v == "" for k, v in json.loads(settings.read_text()).items())
        except (OSError, ValueError):
            return False

    d.wait(saved, message="the choice written to settings.json")
    d = app.restart()
    d.wait(lambda: d.find_all('[data-testid="saved-request"]'), message="the workspace loaded")
    value = lambda: d.execute("return document.querySelector('[data-testid=\"environment\"]').value")  # noqa: E731
    d.wait(lambda: value() == "", message="no environment, as chosen before the restart")
    d.select('[data-testid="environment"]', "local")


def task_status(d) -> str:
    return d.text_of('[data-testid="task-detail"] [data-testid="task-status"]') or ""


def test_a_batch_task_reaches_100_percent_and_another_is_cancelled(d):
    compose(d, "aduib:jsonrpc", method="BatchService.process", body='{"items": [1, 2, 3, 4, 5, 6, 7, 8], "item_ms": 150')
    d.find('[data-testid="run-as-task"]').click()
    d.find('[data-testid="tasks"]')
    # Progress is seen on its way, then 100 % and the result.
    d.wait(lambda: d.text_of('[data-testid="task-percent"]') not in ("", "—", "0%", "100%"), timeout=15, message="progress under way")
    shot(d, "tasks-running-light")
    d.wait(lambda: d.text_of('[data-testid="task-percent"]') == "100%", timeout=20, message="100 %")
    d.wait(lambda: task_status(d) == "succeeded", message="succeeded")
    assert json.loads(d.text_of('[data-testid="task-result"]')) == {"processed": 8}
    history = d.text_of('[data-testid="task-changes"]')
    assert "submitted" in history and "completed" in history and "8/8" in history, history
    shot(d, "tasks-light")

    compose(d, "aduib:rest", method="CaculService.slow", body='{"x": 1, "delay_ms": 60000')
    d.find('[data-testid="run-as-task"]').click()
    d.wait(lambda: task_status(d) == "running", timeout=15, message="slow task running")
    started = time.monotonic()
    d.find('[data-testid="task-cancel"]').click()
    d.wait(lambda: task_status(d) == "canceled", timeout=5, message="canceled")
    assert time.monotonic() - started < 3
    rows = d.find_all('[data-testid="task-row"]')
    assert len(rows) >= 2
    shot(d, "tasks-canceled-light")
    d.find('[data-testid="theme-toggle"]').click()
    try:
        d.wait(lambda: d.execute("return document.documentElement.classList.contains('dark')"), message="dark")
        rows[1].click()
        d.wait(lambda: task_status(d) == "succeeded", message="the batch task shown")
        shot(d, "tasks-dark")
    finally:
        d.find('[data-testid="theme-toggle"]').click()


def test_a_non_task_request_is_refused_with_a_reason(d):
    compose(d, "aduib:grpc", method="CaculService.countdown", mode="server_stream", body='{"start": 2')
    # A stream cannot run as a task: the button is not offered.
    assert not d.find_all('[data-testid="run-as-task"]')


def test_a_task_that_ended_while_the_app_was_closed_shows_on_the_next_start(app, data_dir):
    import subprocess
    import urllib.request

    from conftest import CLI, _free_port

    port = _free_port()
    server = subprocess.Popen([CLI, "serve", "--rest", f"127.0.0.1:{port}"], stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().split()[1]
        app.stop()
        # Submitted from the command line, into the app's own tracker; nothing watches it.
        out = subprocess.run(
            [CLI, "task", "submit", "--transport", "rest", "--url", url, "--method", "BatchService.process",
             "--data", '{"items": [1, 2, 3], "item_ms": 30}'],
            capture_output=True, text=True, timeout=30, env={**os.environ, "ADUIB_DATA_DIR": data_dir},
        )
        assert out.returncode == 0, out.stderr
        task_id = out.stdout.strip()
        # Ended on the server before the app starts again (asked directly, not through the tracker).
        def ended() -> bool:
            body = json.dumps({"task_id": task_id}).encode()
            request = urllib.request.Request(f"{url}/aduib_rpc/v2/TaskService/Query", body, {"Content-Type": "application/json"})
            return json.load(urllib.request.urlopen(request, timeout=5))["task"]["status"] == "succeeded"
        deadline = time.monotonic() + 15
        while not ended():
            assert time.monotonic() < deadline, "the task did not end"
            time.sleep(0.05)

        d = app.start()
        badge = d.wait(lambda: d.text_of('[data-testid="tasks-badge"]'), timeout=15, message="the tasks badge")
        assert badge == "1"
        d.find('[data-testid="nav-tasks"]').click()
        away = d.wait_text('[data-testid="tasks-away"]', "BatchService.process (succeeded)")
        assert "ended while the app was closed" in away
        shot(d, "tasks-ended-while-away-light")
    finally:
        server.terminate()
        server.wait(5)


def test_the_registry_view_browses_nacos_and_calls_an_instance_and_the_service(d, registered_server):
    nacos, url = registered_server
    # A second instance that is registered but dead: the fan-out tells them apart.
    import socket
    import urllib.parse
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    metadata = urllib.parse.quote(json.dumps({"scheme": "jsonrpc", "protocol": "AduibRpc", "service_name": "CaculService"}))
    urllib.request.urlopen(urllib.request.Request(
        f"http://{nacos}/nacos/v1/ns/instance?serviceName=CaculService&ip=127.0.0.1&port={dead}"
        f"&ephemeral=false&metadata={metadata}", method="POST"), timeout=5).read()
    d.find('[data-testid="nav-registry"]').click()
    d.find('[data-testid="registry-address"]').replace(nacos)
    d.find('[data-testid="registry-connect"]').click()
    d.wait(lambda: "CaculService" in (d.text_of('[data-testid="registry-services"]') or ""), timeout=15, message="services listed")
    d.execute(
        "[...document.querySelectorAll('[data-testid=\"registry-service\"]')]"
        ".find(e => e.textContent.trim() === 'CaculService').click()"
    )
    d.wait(lambda: len(d.find_all('[data-testid="registry-instance"]')) == 2, message="its two instances")
    rows = d.execute("return [...document.querySelectorAll('[data-testid=\"registry-instance\"]')].map(r => r.textContent)")
    ours = next(r for r in rows if url.removeprefix("http://") in r)
    assert "healthy" in ours and "protocol=AduibRpc" in ours and "+7 more" in ours, ours
    assert d.text_of('[data-testid="registry-live"]').strip() == "live"

    # Live: an instance registered now shows as Nacos pushes it, and goes when it goes.
    def instance(method: str, port: int) -> None:
        urllib.request.urlopen(urllib.request.Request(
            f"http://{nacos}/nacos/v1/ns/instance?serviceName=CaculService&ip=127.0.0.1&port={port}"
            f"&ephemeral=false&metadata={metadata}", method=method), timeout=5).read()

    instance("POST", dead + 1)
    started = time.monotonic()
    d.wait(lambda: len(d.find_all('[data-testid="registry-instance"]')) == 3, timeout=10, message="the new instance")
    appeared = time.monotonic() - started
    instance("DELETE", dead + 1)
    d.wait(lambda: len(d.find_all('[data-testid="registry-instance"]')) == 2, timeout=10, message="gone again")
    # Pushed, not polled: the engine would poll every 2 s without pushes.
    assert appeared < 1.8, appeared

    d.find('[data-testid="registry-fanout"]').click()
    summary = d.wait(lambda: d.text_of('[data-testid="fanout-summary"]'), timeout=15, message="fan-out done")
    assert summary == "2 instances · 2 different answers", summary
    diff = d.text_of('[data-testid="fanout-diff"]')
    assert "3" in diff and "connect" in diff.lower(), diff
    shot(d, "registry-light")
    dark_shot(d, "registry-dark")

    # Through the balancer: the Composer shows where the call goes, and the timeline where it went.
    d.find('[data-testid="registry-call-balanced"]').click()
    d.find('[data-testid="through-registry"]')
    send(d)
    d.wait(lambda: status(d) == "OK", timeout=15, message="balanced call OK")
    assert json.loads(response_text(d))["result"] == 3
    d.find('[data-testid="response-tab-timeline"]').click()
    rows = d.execute("return [...document.querySelectorAll('[data-testid=\"timeline-row\"]')].map(r => r.textContent)")
    assert any("routed to" in r and url.removeprefix("http://") in r for r in rows), rows
    shot(d, "compose-through-registry-light")

    # One chosen instance: a plain call to its URL.
    d.find('[data-testid="nav-registry"]').click()
    d.wait(lambda: len(d.find_all('[data-testid="registry-instance"]')) == 2, timeout=15, message="instances again")
    d.execute(
        "[...document.querySelectorAll('[data-testid=\"registry-instance\"]')]"
        f".find(r => r.textContent.includes('{url.removeprefix('http://')}'))"
        ".querySelector('[data-testid=\"registry-call-instance\"]').click()"
    )
    assert d.find('[data-testid="target"]').attribute("value") == url
    send(d)
    d.wait(lambda: status(d) == "OK", timeout=15, message="instance call OK")


def test_an_aduib_call_over_mutual_tls_to_the_peer(d, tls_peer):
    pki, port = tls_peer
    compose(d, "aduib:jsonrpc", target=f"https://localhost:{port}", method="CaculService.add", body='{"x": 20, "y": 22')
    d.find('[data-testid="tab-options"]').click()
    d.find('[data-testid="tls-enabled"]').click()
    d.find('[data-testid="tls-ca_cert"]').replace(str(pki / "ca.pem"))
    send(d)
    # The peer wants a client certificate: a clear failure, not a hang.
    error = d.wait(lambda: d.text_of('[data-testid="response-error"]'), timeout=15, message="a refusal")
    assert "localhost" in error, error

    d.find('[data-testid="tls-client_cert"]').replace(str(pki / "client.pem"))
    d.find('[data-testid="tls-client_key"]').replace(str(pki / "client.key"))
    send(d)
    d.wait(lambda: status(d) == "OK", timeout=15, message="the call over mTLS")
    assert json.loads(response_text(d))["result"] == 42
    shot(d, "compose-tls-light")
    dark_shot(d, "compose-tls-dark")


def test_the_registry_lists_the_groups_and_browses_one(d, registered_server):
    import urllib.request

    nacos, _ = registered_server
    urllib.request.urlopen(urllib.request.Request(
        f"http://{nacos}/nacos/v1/ns/instance?serviceName=Ledger&groupName=payments&ip=127.0.0.1&port=18601"
        "&ephemeral=false", method="POST"), timeout=5).read()
    d.find('[data-testid="nav-registry"]').click()
    d.find('[data-testid="registry-address"]').replace(nacos)
    d.find('[data-testid="registry-connect"]').click()
    def groups():
        return d.execute("return [...document.querySelectorAll('[data-testid=\"registry-group\"] option')].map(o => o.value)")

    # The view may have connected to the saved registry first; the Connect above lists them anew.
    d.wait(lambda: "payments" in groups(), timeout=15, message="the group listed")
    assert groups() == ["DEFAULT_GROUP", "payments"], groups()
    d.select('[data-testid="registry-group"]', "payments")
    d.wait(lambda: "Ledger" in (d.text_of('[data-testid="registry-services"]') or ""), timeout=15, message="the group's services")
    assert "CaculService" not in d.text_of('[data-testid="registry-services"]')
    shot(d, "registry-groups-light")
    # Back to the default group for the flows after this one.
    d.select('[data-testid="registry-group"]', "DEFAULT_GROUP")
