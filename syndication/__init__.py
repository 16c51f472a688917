"""Syndication to and from silos: one module per silo behind `base.Syndicator`.

The registry is explicit: adding a silo means adding a line here.
"""

from __future__ import annotations

from collections.abc import Mapping

from hearth.syndication.base import SyndicationResult, Syndicator
from hearth.syndication.instagram import InstagramSyndicator

__all__ = ["SYNDICATORS", "SyndicationResult", "Syndicator"]

# `mp-syndicate-to` name -> the silo's Syndicator class.
SYNDICATORS: Mapping[str, type[Syndicator]] = {"instagram": InstagramSyndicator}
