"""Geocoding behind one adapter (geopy), with results cached in the database,
and timezones from coordinates (timezonefinder, offline).

Imported addresses are geocoded by a background job (`geocode` queue), never inside the
import request: one job at a time in any process, each paced by geopy's RateLimiter at
GEOCODER_MIN_DELAY_S between requests (Nominatim's policy: one per second).
"""

import logging
import time
from functools import lru_cache

from flask import current_app
from geopy.exc import GeopyError
from geopy.extra.rate_limiter import RateLimiter
from sqlalchemy import select

from ..extensions import db
from ..jobs import enqueue
from .models import GeocodeCache

log = logging.getLogger(__name__)

# addresses per job: about a minute and a half at Nominatim's pace; the job queues the next
GEOCODE_BATCH = 100


class GeocoderUnavailable(Exception):
    pass


def _make_geocoder():
    kind = current_app.config["GEOCODER"]
    if kind == "nominatim":
        from urllib.parse import urlparse

        from geopy.geocoders import Nominatim

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


def geocode_address(query: str, *, lookup=None) -> tuple[float, float] | None:
    """Coordinates for an address, from the cache or the configured geocoder (`lookup`: its
    rate-limited geocode function, when the caller paces a series of requests).

    Returns None when the geocoder knows no such place; raises GeocoderUnavailable
    when no geocoder is configured or reachable (the caller keeps the row as needs_geocode).
    """
    query = " ".join(query.split())[:400]
    cached = db.session.scalar(select(GeocodeCache).where(GeocodeCache.query == query))
    if cached is not None:
        return (cached.lat, cached.lon) if cached.found else None
    if lookup is None:
        geocoder = _make_geocoder()
        if geocoder is None:
            raise GeocoderUnavailable("no geocoder configured")
        lookup = geocoder.geocode
    try:
        location = lookup(query)
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


def address_query(*, line: str, city: str = "", postal_code: str = "", country: str = "") -> str:
    return ", ".join(p for p in (line, city, postal_code, country) if p)


def queue_geocoding() -> None:
    """Geocode the addresses waiting for it (geocode_status needs_geocode), in the background,
    once the current transaction commits."""
    enqueue(geocode_pending_job, queue="geocode")


def geocode_pending_job() -> None:
    """The job: up to GEOCODE_BATCH waiting addresses, each committed as it is done (the case
    gets its coordinates then); queues the next batch. An unreachable or unconfigured geocoder
    ends the job, the addresses keep waiting for the next import's job."""
    from ..cases.models import Account, Address, Case
    from ..cases.services import append_event

    ids = db.session.scalars(
        select(Address.id).where(Address.geocode_status == "needs_geocode").order_by(Address.id).limit(GEOCODE_BATCH + 1)
    ).all()
    db.session.commit()
    if not ids:
        return
    geocoder = _make_geocoder()
    min_delay = float(current_app.config.get("GEOCODER_MIN_DELAY_S", 1.0))
    asked = []

    def ask(query):
        asked.append(query)
        return geocoder.geocode(query)

    lookup = RateLimiter(ask, min_delay_seconds=min_delay, max_retries=0, swallow_exceptions=False) if geocoder else None
    try:
        for address_id in ids[:GEOCODE_BATCH]:
            address = db.session.get(Address, address_id)
            if address is None or address.geocode_status != "needs_geocode":
                db.session.commit()
                continue  # purged, or given coordinates by a later import meanwhile
            query = address_query(line=address.line, city=address.city, postal_code=address.postal_code, country=address.country)
            try:
                found = geocode_address(query, lookup=lookup)  # no geocoder: the cache alone answers
            except GeocoderUnavailable as exc:
                db.session.rollback()
                log.warning("geocoding stopped, addresses keep waiting: %s", exc)
                return
            changes = {"address_geocode_status": {"from": "needs_geocode", "to": "geocoded" if found else "failed"}}
            address.geocode_status = changes["address_geocode_status"]["to"]
            if found:
                address.lat, address.lon = found
                address.timezone = timezone_at(*found) or address.timezone
                changes.update(address_lat={"from": None, "to": found[0]}, address_lon={"from": None, "to": found[1]})
            for case in db.session.scalars(
                select(Case).join(Account, Case.account_id == Account.id).where(Account.debtor_id == address.debtor_id)
            ):
                case.version += 1
                append_event(case=case, kind="case.updated", actor_id=None, data={"source": "geocoding", "changes": changes})
            db.session.commit()
        if len(ids) > GEOCODE_BATCH:
            queue_geocoding()
    finally:
        if asked:
            time.sleep(min_delay)  # the next job's first request keeps the pace too


@lru_cache(maxsize=1)
def _finder():
    from timezonefinder import TimezoneFinder

    return TimezoneFinder(in_memory=True)


@lru_cache(maxsize=4096)
def timezone_at(lat: float, lon: float) -> str | None:
    """IANA timezone of a point (the debtor's local time, R1)."""
    return _finder().timezone_at(lat=lat, lng=lon)
