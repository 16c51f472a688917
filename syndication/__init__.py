"""Silos: each one a value, a `Feature` that says everything it plugs into Hearth.

`SILOS` is the list the composition root (`hearth.wiring`) wires in: routes, job
handlers, worker-start hooks, the post-change listener, an admin section, `hearth`
subcommands, permalink notes and Micropub syndication targets. Adding a silo is one
package under `syndication/` with a `silo.py`, and one line here; no core module changes.
"""

from __future__ import annotations

from hearth.server.core.features import Feature
from hearth.syndication.instagram.silo import SILO as INSTAGRAM

__all__ = ["SILOS"]

SILOS: tuple[Feature, ...] = (INSTAGRAM,)
