"""A blank WebKitGTK window: the floor under the app's idle memory.

Run by bench_app.py with the system Python (python3-gi, gir1.2-webkit2-4.1),
in the same Xvfb, with the same rendering choice the app makes (no GL
compositing without a GPU), so that the app's figure can be read as
"WebKitGTK's own cost" plus "ours". Not a test: pytest does not collect it.
"""

import glob
import os

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("WebKit2", "4.1")
from gi.repository import Gtk, WebKit2  # noqa: E402

window = Gtk.Window(title="blank")
window.set_default_size(1280, 800)
view = WebKit2.WebView()
if "WEBKIT_DISABLE_COMPOSITING_MODE" not in os.environ and not glob.glob("/dev/dri/renderD*"):
    view.get_settings().set_hardware_acceleration_policy(WebKit2.HardwareAccelerationPolicy.NEVER)
window.add(view)
view.load_html("<!doctype html><html><body></body></html>", "about:blank")
window.connect("destroy", Gtk.main_quit)
window.show_all()
Gtk.main()
