"""Hearth core: settings, storage, jobs, outbound HTTP, posts, media and rendering.

It imports no feature: features build on it, and the composition root (`hearth.wiring`,
which `hearth.app` and `hearth.cli` build on) wires them together.
"""
