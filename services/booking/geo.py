"""Distances on the Earth, for proximity search and the radius policy. Pure.

PostgreSQL has no PostGIS here: the search first keeps relays inside a
latitude/longitude box (indexed columns), then orders them by exact great-circle
distance (haversine). The box is split in two where it crosses the
antimeridian (Wallis-et-Futuna, Polynesia are near it).
"""
from math import asin, cos, degrees, radians, sin, sqrt

EARTH_RADIUS_KM = 6371.0088
MARGIN_DEGREES = 1e-6


def haversine_km(lat1, lon1, lat2, lon2):
    phi1, phi2 = radians(lat1), radians(lat2)
    dphi, dlambda = phi2 - phi1, radians(lon2 - lon1)
    a = sin(dphi / 2) ** 2 + cos(phi1) * cos(phi2) * sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * asin(min(1.0, sqrt(a)))


def bounding_boxes(lat, lon, radius_km):
    """[(lat_min, lat_max, lon_min, lon_max)] covering every point within
    ``radius_km`` of (lat, lon): one box, or two across the antimeridian."""
    # A hair wider than exact, so a point right on the circle is not lost to rounding.
    dlat = degrees(radius_km / EARTH_RADIUS_KM) + MARGIN_DEGREES
    lat_min, lat_max = max(-90.0, lat - dlat), min(90.0, lat + dlat)
    if lat_min <= -90 or lat_max >= 90:
        return [(lat_min, lat_max, -180.0, 180.0)]
    # The widest longitude span is at the latitude farthest from the equator.
    dlon = degrees(asin(min(1.0, sin(radius_km / EARTH_RADIUS_KM) / cos(radians(lat))))) \
        + MARGIN_DEGREES
    if dlon >= 180:
        return [(lat_min, lat_max, -180.0, 180.0)]
    lon_min, lon_max = lon - dlon, lon + dlon
    if lon_min < -180:
        return [(lat_min, lat_max, lon_min + 360, 180.0), (lat_min, lat_max, -180.0, lon_max)]
    if lon_max > 180:
        return [(lat_min, lat_max, lon_min, 180.0), (lat_min, lat_max, -180.0, lon_max - 360)]
    return [(lat_min, lat_max, lon_min, lon_max)]
