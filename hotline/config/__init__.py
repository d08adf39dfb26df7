"""Site configuration: the model (``site``) and the layered loader (``loader``)."""

from .loader import load_site, parse_site
from .site import Department, LegacyNumber, NumberMode, Queue, Seat, SiteConfig, Trunk

__all__ = ["load_site", "parse_site", "SiteConfig", "Trunk", "Department", "Queue", "Seat",
           "LegacyNumber", "NumberMode"]
