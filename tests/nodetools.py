"""Node-installed tools for the tests: the Nu HTML Checker (vnu) and microformats-parser.

Both come from npm (`tests/tools/package.json`, pinned in its lock file): `npm ci --prefix
tests/tools` installs them (`.ci/run` does). vnu is a Java program, so it also needs `java`
(Debian's `default-jre-headless`); the mf2 parser needs `node`. Tests that use them call
`require_vnu()` or `require_node_mf2()` first, which skip the test, saying what is missing,
on a machine without them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

TOOLS = Path(__file__).resolve().parent / "tools"
NODE_MODULES = TOOLS / "node_modules"
VNU_JAR = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
MF2_PARSER = NODE_MODULES / "microformats-parser" / "package.json"
MF2_SCRIPT = TOOLS / "mf2.mjs"
INSTALL_HINT = "run `npm ci --ignore-scripts --prefix tests/tools` (.ci/run does)"
# Checking a few dozen pages takes a few seconds; this is only a bound for a hung JVM.
VNU_TIMEOUT_SECONDS = 300
MF2_TIMEOUT_SECONDS = 60


def _tool(name: str) -> str:
    """The full path of the program `name` on PATH (the require_* helpers check it is)."""
    path = shutil.which(name)
    if path is None:
        raise AssertionError(f"{name} not found on PATH")
    return path


def vnu_missing() -> str | None:
    """Why vnu cannot run here (no `java`, or vnu-jar not installed), or None if it can."""
    if shutil.which("java") is None:
        return "java not found: `apt-get install default-jre-headless` (.ci/run does)"
    if not VNU_JAR.is_file():
        return f"vnu-jar is not installed in tests/tools: {INSTALL_HINT}"
    return None


def node_mf2_missing() -> str | None:
    """Why the Node mf2 parser cannot run here, or None if it can."""
    if shutil.which("node") is None:
        return "node not found: `apt-get install nodejs npm` (.ci/run does)"
    if not MF2_PARSER.is_file():
        return f"microformats-parser is not installed in tests/tools: {INSTALL_HINT}"
    return None


def require_vnu() -> None:
    """Skip the calling test, with the reason, unless `vnu_errors` can run."""
    reason = vnu_missing()
    if reason is not None:
        pytest.skip(reason)


def require_node_mf2() -> None:
    """Skip the calling test, with the reason, unless `parse_mf2_js` can run."""
    reason = node_mf2_missing()
    if reason is not None:
        pytest.skip(reason)


def _describe(message: Mapping[str, Any]) -> str:
    """One vnu message as a line: where, what, and the source around it."""
    line = message.get("lastLine", message.get("firstLine"))
    column = message.get("firstColumn", message.get("lastColumn"))
    where = f"line {line}" + (f", column {column}" if column is not None else "")
    said = str(message.get("message", "?"))
    text = f"{where}: {said}" if line is not None else said
    extract = message.get("extract")
    if extract:
        text += f" [{' '.join(str(extract).split())}]"
    return text


def vnu_errors(documents: Mapping[str, str | bytes]) -> dict[str, list[str]]:
    """Check each HTML document with vnu, in one JVM run over all of them.

    `documents` maps a name (e.g. the page's path) to its HTML (text, or bytes in UTF-8).
    Returns every name with the list of vnu's errors in it (empty when it is valid), each
    as "line L, column C: message [extract]"; warnings and info messages are left out
    (`--errors-only`). Raises AssertionError when vnu itself fails or says nothing usable.
    """
    if not documents:
        return {}
    names = list(documents)
    with tempfile.TemporaryDirectory(prefix="hearth-vnu-") as tmp:
        paths: dict[str, str] = {}
        for index, name in enumerate(names):
            path = Path(tmp) / f"page-{index:04d}.html"
            body = documents[name]
            path.write_bytes(body.encode() if isinstance(body, str) else body)
            paths[path.name] = name
        # --stdout: the JSON report on stdout (vnu writes it to stderr otherwise).
        command = [_tool("java"), "-jar", str(VNU_JAR), "--format", "json", "--errors-only"]
        command += ["--no-langdetect", "--stdout", *sorted(str(Path(tmp) / p) for p in paths)]
        done = subprocess.run(
            command, capture_output=True, timeout=VNU_TIMEOUT_SECONDS, check=False
        )
    try:
        report = json.loads(done.stdout)
    except ValueError:
        raise AssertionError(
            f"vnu exited {done.returncode} without a JSON report:\n"
            + (done.stdout + done.stderr).decode(errors="replace")[-4000:]
        ) from None
    errors: dict[str, list[str]] = {name: [] for name in names}
    for message in report.get("messages", []):
        if message.get("type") == "info":
            continue
        file_name = str(message.get("url", "")).rpartition("/")[2]
        name = paths.get(file_name)
        if name is None:
            raise AssertionError(f"vnu reported on no document given to it: {message}")
        errors[name].append(_describe(message))
    return errors


def parse_mf2_js(html: str, base_url: str) -> dict[str, Any]:
    """Parse `html` with microformats-parser's `mf2()` (Node), relative URLs against
    `base_url`; returns its JSON ({"items": [...], "rels": {...}, "rel-urls": {...}})."""
    done = subprocess.run(
        [_tool("node"), str(MF2_SCRIPT), base_url],
        input=html.encode(), capture_output=True, timeout=MF2_TIMEOUT_SECONDS, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise AssertionError(
            f"node mf2.mjs exited {done.returncode}: {done.stderr.decode(errors='replace')}"
        )
    parsed: dict[str, Any] = json.loads(done.stdout)
    return parsed
