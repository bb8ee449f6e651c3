"""Geocoding behind one adapter (geopy), with results cached in the database,
and timezones from coordinates (timezonefinder, offline)."""
from functools import lru_cache

from flask import current_app
from geopy.exc import GeopyError
from sqlalchemy import select

from ..extensions import db
from .models import GeocodeCache


class GeocoderUnavailable(Exception):
    pass


def _make_geocoder():
    kind = current_app.config["GEOCODER"]
    if kind == "nominatim":
        from geopy.geocoders import Nominatim
        from urllib.parse import urlparse

        url = urlparse(current_app.config["GEOCODER_URL"])
        if not url.netloc:
            return None
        return Nominatim(
            domain=url.netloc + url.path.rstrip("/"),
            scheme=url.scheme or "https",
            user_agent="doorstep",
            timeout=current_app.config["GEOCODER_TIMEOUT_S"],
        )
    return None


def geocode_address(query: str) -> tuple[float, float] | None:
    """Coordinates for an address, from the cache or the configured geocoder.

    Returns None when the geocoder knows no such place; raises GeocoderUnavailable
    when no geocoder is configured or reachable (the caller keeps the row as needs_geocode).
    """
    query = " ".join(query.split())[:400]
    cached = db.session.scalar(select(GeocodeCache).where(GeocodeCache.query == query))
    if cached is not None:
        return (cached.lat, cached.lon) if cached.found else None
    geocoder = _make_geocoder()
    if geocoder is None:
        raise GeocoderUnavailable("no geocoder configured")
    try:
        location = geocoder.geocode(query)
    except GeopyError as exc:
        raise GeocoderUnavailable(str(exc)) from exc
    except OSError as exc:
        raise GeocoderUnavailable(str(exc)) from exc
    entry = GeocodeCache(
        query=query,
        provider=current_app.config["GEOCODER"],
        lat=location.latitude if location else None,
        lon=location.longitude if location else None,
        found=location is not None,
    )
    db.session.add(entry)
    return (entry.lat, entry.lon) if location else None


@lru_cache(maxsize=1)
def _finder():
    from timezonefinder import TimezoneFinder

    return TimezoneFinder(in_memory=True)


@lru_cache(maxsize=4096)
def timezone_at(lat: float, lon: float) -> str | None:
    """IANA timezone of a point (the debtor's local time, R1)."""
    return _finder().timezone_at(lat=lat, lng=lon)
