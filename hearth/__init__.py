"""Hearth: a self-hosted IndieWeb server (Micropub, IndieAuth, Webmention, feeds, silos).

The one import name the distribution installs. Its subpackages are the repository's
top-level folders, linked here so that the checkout, an editable install and the wheel
all import them the same way: `hearth.server` (the core in `hearth.server.core`, the web
features beside it, and the composition root `hearth.app` / `hearth.cli`),
`hearth.micropub`, `hearth.syndication` and `hearth.templates` (package data).
"""
