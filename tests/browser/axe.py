"""axe-core (https://github.com/dequelabs/axe-core) in Chromium: the page's serious and
critical accessibility violations.

The library comes from tests/tools (`npm ci --ignore-scripts --prefix tests/tools`, as
.ci/run does); it is evaluated in the page through the DevTools protocol, which the admin's
strict Content-Security-Policy does not apply to.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.serving import ROOT

AXE = ROOT / "tests" / "tools" / "node_modules" / "axe-core" / "axe.min.js"
# What fails a test: axe's two highest impacts (moderate and minor are reported by axe but
# are advice, such as a region landmark on a one-form page).
FAILING = ("serious", "critical")
_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ")),
  }));
}"""


def axe_source() -> str:
    if not Path(AXE).exists():
        pytest.skip(f"no axe-core at {AXE}: `npm ci --ignore-scripts --prefix tests/tools`")
    return AXE.read_text()


def violations(page: Page, source: str) -> list[str]:
    """The serious and critical violations on the page as it is now, one line each."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(source)
    found: list[dict[str, Any]] = page.evaluate(_RUN)
    return [
        f"{v['impact']}: {v['id']} ({v['help']}) at {', '.join(v['nodes'])}"
        for v in found
        if v["impact"] in FAILING
    ]
