"""Hearth core: settings, storage, jobs, outbound HTTP, posts, media and rendering.

It imports no feature: features build on it, and the composition root
(`hearth.server.app`, `hearth.server.cli`) wires them together.
"""
