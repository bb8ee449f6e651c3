from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ..common import utcnow
from ..extensions import Model


class GeocodeCache(Model):
    __tablename__ = "geocode_cache"
    id: Mapped[int] = mapped_column(primary_key=True)
    query: Mapped[str] = mapped_column(String(400), unique=True)
    provider: Mapped[str] = mapped_column(String(32))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    found: Mapped[bool] = mapped_column(default=False)
    at: Mapped[datetime] = mapped_column(default=utcnow)
