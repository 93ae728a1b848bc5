"""Check every widget of the lessons in a real browser: ``make browser-check``.

Starts JupyterLab headless on 127.0.0.1 (a free port, a random token) over a temporary
copy of the lesson notebooks, opens each lesson that has widgets in headless Chromium,
runs all its cells, and then, for every widget output:

- it must have rendered (no "Error displaying widget", no "Loading widget..." left);
- every visible slider is moved with the keyboard, every dropdown set to another option,
  every toggle-button group switched and every toggle button and checkbox clicked, every
  picture that takes clicks (CSS class :data:`CLICK_TARGET`: lesson 08's hint widget) clicked
  inside, and after each the widget's picture or text must change. Plain buttons are not
  pressed (lesson 09's saves a file).

Any JavaScript console error or page error, any cell that raised, or a widget that did not
render or did not react fails the check (exit status 1, naming notebook, cell and control).
The server is stopped at the end however the check ends. Needs the ``browser`` extra
(``pip install -e '.[browser]'``) and a Chromium (``apt-get install chromium``); Playwright's
own browser download is not used.

Usage: ``python scripts/browser_check.py [--notebooks 01 03] [--chromium PATH]``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))  # colorlib from this checkout, installed or not

from colorlib.course import is_widget_output, notebook_paths  # noqa: E402

CHROMIUM_ENV = "COLORLIB_CHROMIUM"
#: The CSS class of a picture that takes mouse clicks (colorlib.lessons.hints_lesson.CLICK_TARGET).
CLICK_TARGET = "colorlib-click-target"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
EMPTY_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'
# JupyterLab settings for the check: nothing saved back (the copies stay as they were
# opened), every cell kept in the page (no virtual scrolling hiding widgets), the default
# kernel started without asking, no offer to fetch Jupyter's news.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False, "autoStartDefaultKernel": True},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


class CheckError(Exception):
    """The check cannot run here (no browser, no Playwright, the server did not start)."""


@dataclass
class Report:
    """What one notebook's check found."""

    notebook: str
    checked: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    offline: set[str] = field(default_factory=set)  # addresses outside the server, not fetched

    def fail(self, message: str) -> None:
        self.failures.append(f"{self.notebook}: {message}")


def _served_path(notebook: Path, *, root: Path) -> str:
    """Where ``notebook`` is under the server's ``root`` (copied there when it is not a lesson)."""
    if notebook.parent == REPOSITORY / "notebooks":
        return f"notebooks/{notebook.name}"
    (root / "other").mkdir(exist_ok=True)
    shutil.copy(notebook, root / "other" / notebook.name)
    return f"other/{notebook.name}"


def free_port(*, host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def find_chromium(*, override: str | None = None) -> str:
    """The Chromium executable: ``override``, else ``$COLORLIB_CHROMIUM``, else one on PATH.

    Raises:
        CheckError: none found, or the given one is not an executable file.
    """
    chosen = override or os.environ.get(CHROMIUM_ENV)
    if chosen:
        path = shutil.which(chosen)
        if path is None:
            raise CheckError(f"expected an executable Chromium at {chosen!r} (--chromium or ${CHROMIUM_ENV})")
        return path
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    raise CheckError(
        f"no Chromium on PATH (looked for {', '.join(CHROMIUM_NAMES)}): install it "
        f"(Debian/Ubuntu: apt-get install chromium) or pass --chromium PATH / set ${CHROMIUM_ENV}"
    )


def widget_notebooks(folder: Path) -> list[Path]:
    """The lessons whose committed outputs show at least one widget."""
    chosen = []
    for path in notebook_paths(folder):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        if any(is_widget_output(output) for cell in cells for output in cell.get("outputs", [])):
            chosen.append(path)
    return chosen


def select_notebooks(choices: list[str] | None, *, folder: Path) -> list[Path]:
    """The notebooks to check: every lesson of ``folder`` with widgets, or ``choices``.

    Each choice is a lesson prefix (``01``: the lesson with widgets whose name starts so)
    or the path of any ``.ipynb`` file.

    Raises:
        CheckError: a choice that names no lesson with widgets and no file.
    """
    lessons = widget_notebooks(folder)
    if not choices:
        return lessons
    chosen = []
    for choice in choices:
        if choice.endswith(".ipynb") and Path(choice).is_file():
            chosen.append(Path(choice).resolve())
            continue
        matches = [p for p in lessons if p.name.startswith(choice)]
        if not matches:
            names = ", ".join(p.name[:2] for p in lessons)
            raise CheckError(f"expected a lesson with widgets ({names}) or an .ipynb file, got {choice!r}")
        chosen += matches
    return chosen


def _write_lab_settings(folder: Path) -> None:
    for name, settings in LAB_SETTINGS.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings), encoding="utf-8")


@contextmanager
def jupyter_lab(root: Path, *, scratch: Path, startup_s: float = 120.0) -> Iterator[str]:
    """JupyterLab serving ``root`` on 127.0.0.1; yields its base URL with ``?token=``.

    Its settings, workspaces and runtime files live under ``scratch``. The server (and
    its kernels: one process group) is stopped on exit, killed if it does not stop.
    """
    port, token = free_port(), secrets.token_hex(24)
    _write_lab_settings(scratch / "settings")
    environment = dict(
        os.environ,
        JUPYTERLAB_SETTINGS_DIR=str(scratch / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(scratch / "workspaces"),
        JUPYTER_RUNTIME_DIR=str(scratch / "runtime"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPOSITORY), os.environ.get("PYTHONPATH")])),
    )
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--ServerApp.terminals_enabled=False",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # containers and CI runners often run as root
    log_path = scratch / "jupyter-lab.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_s
        while True:
            if server.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise CheckError(f"JupyterLab exited with status {server.returncode} before serving:\n{tail}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5):
                    break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    raise CheckError(f"JupyterLab did not answer on {base} within {startup_s:.0f} s (log: {log_path})")
                time.sleep(0.5)
        yield f"{base}/lab/tree/{{path}}?reset&token={token}"  # reset: only this notebook open, no earlier tabs
    finally:
        _stop(server)


def _stop(server: subprocess.Popen, *, grace_s: float = 15.0) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)  # the server and the kernels it started
    try:
        server.wait(grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


# In the page: the part of a widget that shows results (images, text), without the controls,
# so that a moved slider's own readout does not count as the widget reacting.
SNAPSHOT_JS = """(output) => {
    const copy = output.cloneNode(true);
    copy.querySelectorAll('.widget-slider, .widget-dropdown, .widget-toggle-buttons, .widget-toggle-button, '
                          + '.widget-upload, .widget-button, .widget-text, .widget-checkbox').forEach((node) => node.remove());
    const sources = [...output.querySelectorAll('img')].map((image) => image.currentSrc || image.src);
    return copy.innerHTML + sources.join(' ');
}"""


# In the page: mark each cell's widget outputs (rendered, loading or failed; not the outputs
# nested inside a widget) with data-browser-check="<n>"; return each one's cell prompt.
MARK_WIDGETS_JS = """() => {
    const prompts = [];
    for (const cell of document.querySelectorAll('.jp-CodeCell')) {
        const prompt = cell.querySelector('.jp-InputArea-prompt')?.textContent ?? '[?]:';
        for (const output of cell.querySelectorAll(':scope .jp-OutputArea.jp-Cell-outputArea > .jp-OutputArea-child > .jp-OutputArea-output')) {
            const text = output.textContent.trim();
            if (output.classList.contains('jupyter-widgets') || output.querySelector(':scope > .jupyter-widgets')
                    || text.startsWith('Loading widget') || text.startsWith('Error displaying widget')) {
                output.setAttribute('data-browser-check', String(prompts.length));
                prompts.push(prompt);
            }
        }
    }
    return prompts;
}"""


# In the page, after Run All: the first cell that raised (its output shows a traceback, or
# it is the last one run before cells left unrun, "[ ]:", since Run All stops at an error).
# Returns that cell's prompt and output text, or null.
RAISED_JS = """() => {
    const cells = [...document.querySelectorAll('.jp-CodeCell')];
    const prompts = cells.map((cell) => cell.querySelector('.jp-InputArea-prompt')?.textContent.trim() ?? '');
    const text = (cell) => cell.querySelector('.jp-Cell-outputArea')?.innerText ?? '';
    const traceback = cells.findIndex((cell) => [...cell.querySelectorAll(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')].some(
        (output) => output.innerText.includes('Traceback (most recent call last)')));
    if (traceback >= 0) return [prompts[traceback], text(cells[traceback])];
    const unrun = prompts.findIndex((prompt) => prompt === '[ ]:');
    return unrun > 0 ? [prompts[unrun - 1], text(cells[unrun - 1])] : null;
}"""


def _wait_for_idle(page, *, timeout_s: float) -> None:
    """Until no cell is queued or running ("[*]") and the kernel reports idle."""
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
            const indicator = document.querySelector('.jp-Notebook-ExecutionIndicator');
            return prompts.length > 0 && prompts.every((p) => !p.textContent.includes('*'))
                && (!indicator || indicator.getAttribute('data-status') === 'idle');
        }""",
        timeout=timeout_s * 1000,
        polling=1000,
    )


def _kernel_ready(api: str, path: str) -> bool:
    """Whether the server has a kernel for the notebook at ``path`` and it is idle."""
    with urllib.request.urlopen(api, timeout=10) as answer:
        sessions = json.load(answer)
    return any(s.get("path") == path and (s.get("kernel") or {}).get("execution_state") == "idle" for s in sessions)


def _run_all(page, *, sessions_api: str, path: str, timeout_s: float) -> None:
    """Once the notebook's kernel has started and the page is connected to it, run all cells."""
    page.locator(".jp-Notebook").first.wait_for(timeout=60_000)
    deadline = time.monotonic() + 120
    while not _kernel_ready(sessions_api, path):
        if time.monotonic() > deadline:
            raise CheckError(f"no idle kernel for {path} within 120 s")
        page.wait_for_timeout(500)
    page.wait_for_function(
        "() => document.querySelector('.jp-Notebook-ExecutionIndicator')?.getAttribute('data-status') === 'idle'"
        " && document.querySelector('.jp-StatusBar-Widget')?.innerText.includes('| Idle')",
        timeout=120_000,
    )
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    page.wait_for_timeout(2000)  # the first cells are queued
    _wait_for_idle(page, timeout_s=timeout_s)


def _changes(page, output, act, *, timeout_s: float) -> bool:
    before = output.evaluate(SNAPSHOT_JS)
    act()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        page.wait_for_timeout(250)
        if output.evaluate(SNAPSHOT_JS) != before:
            return True
    return False


def _label(control) -> str:
    label = control.locator(".widget-label")
    text = label.first.inner_text().strip() if label.count() else ""
    return repr(text) if text else "(no label)"


def _check_widget(page, output, *, where: str, report: Report, timeout_s: float) -> None:
    text = output.inner_text()
    if "Error displaying widget" in text or "Loading widget" in text:
        report.fail(f"{where}: the widget did not render: {' '.join(text.split())[:200]}")
        return
    controls = 0
    for slider in output.locator(".widget-slider").all():
        if not slider.is_visible():
            continue  # e.g. lesson 09's temperature, shown only for classification models
        controls += 1
        handle = slider.locator(".noUi-handle").first
        at_max = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
        key = "PageDown" if at_max else "PageUp"
        name = f"{where}, slider {_label(slider)}"
        before = handle.get_attribute("aria-valuenow")
        reacted = _changes(page, output, lambda: (handle.focus(), handle.press(key)), timeout_s=timeout_s)
        moved = f"{before} -> {handle.get_attribute('aria-valuenow')}"
        if reacted:
            report.checked.append(f"{name}: {moved}, re-rendered")
        else:
            report.fail(f"{name}: {key} ({moved}) but the widget's output did not change within {timeout_s:.0f} s")
    for dropdown in output.locator(".widget-dropdown").all():
        select = dropdown.locator("select").first
        options = select.locator("option").all()
        if not dropdown.is_visible() or len(options) < 2:
            continue
        controls += 1
        current = select.input_value()
        other = next(o.get_attribute("value") for o in options if o.get_attribute("value") != current)
        name = f"{where}, dropdown {_label(dropdown)}"
        if _changes(page, output, lambda: select.select_option(other), timeout_s=timeout_s):
            report.checked.append(f"{name}: choosing {other!r} re-rendered it")
        else:
            report.fail(f"{name}: choosing {other!r} did not change the widget's output within {timeout_s:.0f} s")
    for group in output.locator(".widget-toggle-buttons").all():
        buttons = group.locator("button:not(.mod-active)").all()
        if not group.is_visible() or not buttons:
            continue
        controls += 1
        button = buttons[0]
        name = f"{where}, toggle buttons {_label(group)}"
        choice = button.inner_text().strip()
        if _changes(page, output, button.click, timeout_s=timeout_s):
            report.checked.append(f"{name}: {choice!r} re-rendered it")
        else:
            report.fail(f"{name}: {choice!r} did not change the widget's output within {timeout_s:.0f} s")
    for toggle in output.locator(".widget-toggle-button:not(.widget-toggle-buttons .widget-toggle-button)").all():
        if not toggle.is_visible():
            continue
        controls += 1
        name = f"{where}, toggle button {toggle.inner_text().strip()!r}"
        if _changes(page, output, toggle.click, timeout_s=timeout_s):
            report.checked.append(f"{name}: clicked, re-rendered")
        else:
            report.fail(f"{name}: clicking it did not change the widget's output within {timeout_s:.0f} s")
    for checkbox in output.locator(".widget-checkbox").all():
        if not checkbox.is_visible():
            continue
        controls += 1
        box = checkbox.locator("input").first
        name = f"{where}, checkbox {_label(checkbox)}"
        if _changes(page, output, box.click, timeout_s=timeout_s):
            report.checked.append(f"{name}: ticked {'on' if box.is_checked() else 'off'}, re-rendered")
        else:
            report.fail(f"{name}: clicking it did not change the widget's output within {timeout_s:.0f} s")
    for target in output.locator(f".{CLICK_TARGET}").all():
        if not target.is_visible():
            continue
        controls += 1
        box = target.bounding_box()
        spot = {"x": round(box["width"] * 0.4), "y": round(box["height"] * 0.6)}
        name = f"{where}, picture that takes clicks"
        if _changes(page, output, lambda: target.click(position=spot), timeout_s=timeout_s):
            report.checked.append(f"{name}: clicked at {spot['x']}, {spot['y']}, re-rendered")
        else:
            report.fail(f"{name}: clicking it at {spot} did not change the widget's output within {timeout_s:.0f} s")
    if controls == 0:
        report.fail(f"{where}: the widget rendered but shows no slider, dropdown, toggle button, checkbox or "
                    "picture to click to try")


def _offline(route, report: Report, *, base: str) -> None:
    """Serve the server's own requests; answer any other (the badges' images) with nothing."""
    if route.request.url.startswith(base):
        route.continue_()
    else:
        report.offline.add(route.request.url.split("?")[0])
        route.fulfill(status=200, content_type="image/svg+xml", body=EMPTY_SVG)


def check_notebook(
    browser, url: str, notebook: Path, *, expected_widgets: int, run_timeout_s: float, react_timeout_s: float,
    screenshots: Path | None = None,
) -> Report:
    """Open ``notebook`` (at ``url``), run it, and try every widget; return what was found.

    With ``screenshots``, the whole page is saved there at the end as ``<notebook>.png``.
    """
    from playwright.sync_api import Error as PlaywrightError  # its TimeoutError too

    report = Report(notebook.name)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    base, token = url.split("/lab/")[0], url.split("token=")[1]
    path = url.split("/lab/tree/")[1].split("?")[0]
    page.route("**/*", lambda route: _offline(route, report, base=base))
    page.on("console", lambda message: message.type == "error" and report.fail(f"JavaScript console error: {message.text}"))
    page.on("pageerror", lambda error: report.fail(f"page error: {error}"))
    try:
        page.goto(url)
        _run_all(page, sessions_api=f"{base}/api/sessions?token={token}", path=path, timeout_s=run_timeout_s)
        raised = page.evaluate(RAISED_JS)
        if raised:
            report.fail(f"cell {raised[0]} raised (Run All stops there): ...{' '.join(raised[1].split())[-300:]}")
        page.wait_for_timeout(2000)  # last widget views attach
        found = 0
        for number, prompt in enumerate(page.evaluate(MARK_WIDGETS_JS)):
            found += 1
            output = page.locator(f'[data-browser-check="{number}"]')
            output.scroll_into_view_if_needed()
            _check_widget(page, output, where=f"cell {' '.join(prompt.split())}", report=report, timeout_s=react_timeout_s)
        if found < expected_widgets:
            report.fail(f"expected {expected_widgets} widgets (as in the committed outputs), found {found} in the page")
    except (CheckError, PlaywrightError) as error:
        report.fail(f"the check stopped: {str(error).splitlines()[0]}")
    finally:
        if screenshots is not None:
            screenshots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshots / f"{notebook.stem}.png"), full_page=True)
        page.close()
        try:
            _shut_down_kernels(f"{base}/api/sessions", token=token, path=path)
        except OSError as error:
            report.fail(f"could not shut its kernel down: {error}")
    return report


def _shut_down_kernels(api: str, *, token: str, path: str) -> None:
    """End the notebook's session and kernel (the next lesson needs the memory)."""
    with urllib.request.urlopen(f"{api}?token={token}", timeout=10) as answer:
        sessions = [s for s in json.load(answer) if s.get("path") == path]
    for session in sessions:
        request = urllib.request.Request(f"{api}/{session['id']}?token={token}", method="DELETE")
        urllib.request.urlopen(request, timeout=30).close()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see the module's docstring)."""
    parser = argparse.ArgumentParser(description="Run the lessons' widgets in headless Chromium and check each reacts.")
    parser.add_argument("--notebooks", nargs="+", metavar="NN", help="only lessons whose names start so, or .ipynb files (default: every lesson with widgets)")
    parser.add_argument("--chromium", help=f"the Chromium executable (default: ${CHROMIUM_ENV}, else chromium on PATH)")
    parser.add_argument("--run-timeout", type=float, default=1800.0, metavar="S", help="seconds for one notebook to run (default 1800)")
    parser.add_argument("--screenshots", type=Path, metavar="DIR", help="save each notebook's page there at the end")
    parser.add_argument("--react-timeout", type=float, default=60.0, metavar="S", help="seconds for a widget to react (default 60)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the check; 0 when every widget rendered and reacted, 1 on any failure, 2 when it cannot run."""
    args = parse_args(argv)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("browser-check: Playwright is missing: pip install -e '.[browser]'", file=sys.stderr)
        return 2
    try:
        chromium = find_chromium(override=args.chromium)
    except CheckError as error:
        print(f"browser-check: {error}", file=sys.stderr)
        return 2
    try:
        lessons = select_notebooks(args.notebooks, folder=REPOSITORY / "notebooks")
    except CheckError as error:
        print(f"browser-check: {error}", file=sys.stderr)
        return 2
    reports = []
    with tempfile.TemporaryDirectory(prefix="colorlib-browser-check-") as scratch:
        root = Path(scratch) / "root"
        shutil.copytree(REPOSITORY / "notebooks", root / "notebooks")  # the browser never touches the originals
        try:
            with jupyter_lab(root, scratch=Path(scratch)) as url, sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, headless=True)
                try:
                    for lesson in lessons:
                        served = _served_path(lesson, root=root)
                        started = time.monotonic()
                        print(f"{lesson.name}: running in Chromium ...", flush=True)
                        cells = json.loads(lesson.read_text(encoding="utf-8"))["cells"]
                        expected = sum(is_widget_output(o) for cell in cells for o in cell.get("outputs", []))
                        report = check_notebook(
                            browser, url.format(path=served), lesson, expected_widgets=expected,
                            run_timeout_s=args.run_timeout, react_timeout_s=args.react_timeout,
                            screenshots=args.screenshots,
                        )  # fmt: skip
                        for line in report.checked:
                            print(f"  ok   {line}")
                        for line in report.failures:
                            print(f"  FAIL {line}")
                        if report.offline:
                            print(f"  not fetched (outside the server): {', '.join(sorted(report.offline))}")
                        print(f"  {lesson.name}: {len(report.checked)} controls reacted, {len(report.failures)} failures, "
                              f"{time.monotonic() - started:.0f} s", flush=True)
                        reports.append(report)
                finally:
                    browser.close()
        except CheckError as error:
            print(f"browser-check: {error}", file=sys.stderr)
            return 2
    failures = [line for report in reports for line in report.failures]
    print(f"browser-check: {len(reports)} notebooks, {sum(len(r.checked) for r in reports)} controls reacted, "
          f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
