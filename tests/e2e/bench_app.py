"""The app's own figures, measured in the real window (scripts/bench-app.sh):

- cold start: from asking tauri-driver for a window until the composer is
  interactive and the embedded server answers, over several starts;
- memory at idle: the resident set of the app and every process it spawned
  (WebKit's web and network processes), after 5 idle seconds and once
  settled (45 s); baseline:
  a blank WebKitGTK window (blank_webview.py) in the same display;
- a server stream of N small messages: how fast the window takes them in
  (messages per second until the UI shows all N) and its longest frame,
  by requestAnimationFrame gaps; baseline in the same run: the same stream
  read by `aduib stream` into /dev/null.

Prints one JSON object per figure. Not a test: pytest does not collect it.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import conftest  # noqa: E402  (the fixtures' helpers, used as plain functions)
from webdriver import Driver  # noqa: E402

STARTS = int(os.environ.get("BENCH_STARTS", "5"))
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "100000"))
# Which response tab shows while the stream runs ("body" or "headers" isolate the timeline's share).
TAB = os.environ.get("BENCH_TAB", "")
# With BENCH_TRACE=1, the longest frames are taken apart: how much of each
# went to parsing IPC batches, to the channel's callbacks, and to frame
# callbacks (the store's flush), the rest being render, layout, paint or GC.
TRACE = os.environ.get("BENCH_TRACE") == "1"

TRACE_SCRIPT = """
const T = window.__trace = { parse: [], callback: [], frame: [], render: [], ticks: [] };
// Whether the page's thread is free: a timer every 5 ms notes when it ran.
T.timer = setInterval(() => T.ticks.push(performance.now()), 5);
Response.prototype.json = function () {
  return this.text().then((text) => {
    const start = performance.now();
    const value = JSON.parse(text);
    T.parse.push([start, performance.now(), text.length]);
    return value;
  });
};
const internals = window.__TAURI_INTERNALS__;
const runCallback = internals.runCallback.bind(internals);
internals.runCallback = (id, data) => {
  const start = performance.now();
  const out = runCallback(id, data);
  T.callback.push([start, performance.now()]);
  return out;
};
const raf = window.requestAnimationFrame.bind(window);
window.requestAnimationFrame = (cb) => raf((t) => {
  const start = performance.now();
  cb(t);
  if (!cb.__bench) {
    const end = performance.now();
    T.frame.push([start, end]);
    // React renders a store change in a microtask queued during the callback.
    Promise.resolve().then(() => T.render.push([end, performance.now()]));
  }
});
"""

# Seconds the window idles before its memory is read: just after start-up,
# and once it has settled (JavaScriptCore collects start-up's garbage at
# idle within ~30 s; a blank window holds the same throughout).
IDLE_S = 5
SETTLED_S = int(os.environ.get("BENCH_SETTLED_S", "45"))

APP = os.environ["ADUIB_APP"]
CLI = os.environ["ADUIB_BIN"]


def report(**figure) -> None:
    print(json.dumps(figure), flush=True)


def tree_memory_kib(root: int) -> tuple[int, int]:
    """(RSS, PSS) of `root` and all its descendants, in KiB. RSS counts
    pages the processes share (WebKit's libraries) once per process; PSS
    splits them, so the PSS sum is what the app really holds."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    family, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in family:
                family.add(pid)
                frontier.append(pid)
    rss = pss = 0
    for pid in family:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            continue
    return rss, pss


def blank_window_pss_kib(env: dict[str, str]) -> int:
    """PSS of a blank WebKitGTK window (blank_webview.py) after as long as
    the app idles: what any WebKitGTK app holds here before its own page."""
    window = subprocess.Popen(
        ["/usr/bin/python3", str(Path(__file__).parent / "blank_webview.py")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # As long as the app had: cold start (~1 s) and the idle pause.
        time.sleep(IDLE_S + 1)
        if window.poll() is not None:
            raise RuntimeError("blank_webview.py exited: are python3-gi and gir1.2-webkit2-4.1 installed?")
        return tree_memory_kib(window.pid)[1]
    finally:
        window.terminate()
        window.wait()


def app_pid() -> int:
    out = subprocess.run(["pgrep", "-n", "-f", APP], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0])


def interactive(d: Driver) -> bool:
    return bool(
        d.execute(
            "const dot = document.querySelector('[data-testid=\"server-dot\"]');"
            "return !!document.querySelector('[data-testid=\"send\"]') && !!dot && dot.className.includes('emerald');"
        )
    )


def main() -> None:
    display = conftest._free_display()
    xvfb = subprocess.Popen(["Xvfb", f":{display}", "-screen", "0", "1440x900x24", "-nolisten", "tcp"])
    data_dir = tempfile.mkdtemp(prefix="aduib-bench-")
    port_base = conftest._free_port_base()
    port, native = conftest._free_port(), conftest._free_port()
    env = dict(os.environ, DISPLAY=f":{display}", ADUIB_DATA_DIR=data_dir, ADUIB_APP_PORT_BASE=str(port_base))
    time.sleep(0.5)
    driver = subprocess.Popen(
        ["tauri-driver", "--port", str(port), "--native-port", str(native), "--native-driver", "/usr/bin/WebKitWebDriver"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        conftest._wait_http(url + "/status", 15)
        # Alone, before the app starts: PSS splits the pages of WebKit's
        # libraries among whoever maps them.
        floor = blank_window_pss_kib(env)
        starts = []
        for i in range(STARTS):
            began = time.monotonic()
            d = Driver(APP, url=url)
            d.wait(lambda: interactive(d), timeout=30, message="interactive")
            starts.append(time.monotonic() - began)
            if i == STARTS - 1:
                time.sleep(IDLE_S)
                rss, pss = tree_memory_kib(app_pid())
                time.sleep(max(0, SETTLED_S - IDLE_S))
                _, settled = tree_memory_kib(app_pid())
                report(
                    figure="idle memory of all the app's processes",
                    pss_mib=round(pss / 1024, 1),
                    rss_sum_mib=round(rss / 1024, 1),
                    settled_pss_mib=round(settled / 1024, 1),
                    settled_after_s=max(SETTLED_S, IDLE_S),
                    blank_webkit_window_pss_mib=round(floor / 1024, 1),
                    over_blank_window_mib=round((pss - floor) / 1024, 1),
                    settled_over_blank_window_mib=round((settled - floor) / 1024, 1),
                )
                stream(d, port_base)
            d.quit()
        report(
            figure="cold start to an interactive window",
            median_s=round(statistics.median(starts), 3),
            max_s=round(max(starts), 3),
            starts=len(starts),
        )
    finally:
        driver.terminate()
        xvfb.terminate()


def stream(d: Driver, port_base: int) -> None:
    grpc = f"127.0.0.1:{port_base + 2}"
    data = json.dumps({"start": MESSAGES - 1, "interval_ms": 0})
    # Baseline: the same stream into /dev/null by the CLI.
    began = time.monotonic()
    subprocess.run(
        [CLI, "--no-history", "stream", "--transport", "grpc", "--url", grpc, "--method", "CaculService.countdown", "--data", data],
        stdout=subprocess.DEVNULL,
        check=True,
    )
    cli_rate = MESSAGES / (time.monotonic() - began)

    d.find('[data-testid="new-tab"]').click()
    d.select('[data-testid="transport"]', "aduib:grpc")
    d.find('[data-testid="target"]').replace(grpc)
    d.find('[data-testid="method"]').replace("CaculService.countdown")
    d.keys("\ue00c")
    d.select('[data-testid="mode"]', "server_stream")
    d.editor("body-editor", data[:-1])  # the editor closes the brace
    if TRACE:
        d.execute(TRACE_SCRIPT)
    d.execute(
        """
        const want = arguments[0] + ' messages';
        const tab = arguments[1];
        const b = window.__bench = { spans: [], last: performance.now(), start: performance.now(), done: null };
        const tick = (t) => {
          b.spans.push([b.last, t]); b.last = t;
          if (tab && !b.switched) {
            const button = [...document.querySelectorAll('[data-testid="response"] button')].find((x) => x.textContent === tab);
            if (button) { button.click(); b.switched = true; }
          }
          const el = document.querySelector('[data-testid="response-messages"]');
          if (el && el.textContent.startsWith(want)) b.done = performance.now();
          else requestAnimationFrame(tick);
        };
        tick.__bench = true;
        requestAnimationFrame(tick);
        document.querySelector('[data-testid="send"]').click();
        """,
        MESSAGES,
        TAB,
    )
    result = d.wait(lambda: d.execute("return window.__bench.done && window.__bench"), timeout=300, message="all messages shown")
    seconds = (result["done"] - result["start"]) / 1000
    spans = result["spans"][1:]
    gaps = [end - begin for begin, end in spans]
    report(
        figure=f"a server stream of {MESSAGES} messages shown in the window" + (f" ({TAB} tab)" if TAB else ""),
        window_msgs_per_s=round(MESSAGES / seconds),
        cli_msgs_per_s=round(cli_rate),
        window_over_cli=round(MESSAGES / seconds / cli_rate, 3),
        longest_frame_ms=round(max(gaps), 1),
        frames_over_100ms=sum(1 for g in gaps if g > 100),
        frames=len(gaps),
    )
    if TRACE:
        trace = d.execute("return window.__trace")
        for begin, end in sorted(spans, key=lambda span: span[0] - span[1])[:8]:
            def inside(kind):
                return round(sum(max(0, min(e, end) - max(s, begin)) for s, e, *_ in trace[kind]), 1)
            parsed = [n for s, e, n in trace["parse"] if s < end and e > begin]
            ticks = [begin] + [t for t in trace["ticks"] if begin < t < end] + [end]
            blocked = max(b - a for a, b in zip(ticks, ticks[1:]))
            report(
                figure="a long frame taken apart",
                frame_ms=round(end - begin, 1),
                at_ms=round(begin - result["start"], 1),
                parse_ms=inside("parse"),
                parsed_bytes=sum(parsed),
                batches=len(parsed),
                channel_callback_ms=inside("callback"),
                frame_callback_ms=inside("frame"),
                render_ms=inside("render"),
                # The longest stretch in which a 5 ms timer could not run:
                # small means the page's thread was free and the frame was
                # held up elsewhere (compositing, the app's process).
                longest_busy_ms=round(blocked, 1),
            )


if __name__ == "__main__":
    main()
