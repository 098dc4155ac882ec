"""Network ops and admins: the relays and organisations, and the network's
health (each relay's activity, where demand went unmet, dead letters)."""
from datetime import date

from web.api import ApiError
from web.routing import page

UNMET_DEMAND_MONTHS = 4   # this month and the three before


@page("/ops", audience="ops")
def overview(visit):
    relays = visit.api.get("/v1/relays", limit=200)
    try:
        organisations = visit.api.get("/v1/organisations", limit=200)
    except ApiError as error:
        if error.status != 403:
            raise
        organisations = None
    return visit.render("ops.html", relays=relays, organisations=organisations)


def months_back(today, count):
    """The first and last of ``count`` months ending with ``today``'s, as YYYY-MM."""
    index = today.year * 12 + today.month - 1 - (count - 1)
    return f"{index // 12:04d}-{index % 12 + 1:02d}", today.strftime("%Y-%m")


@page("/ops/health", audience="ops")
def health(visit):
    report = visit.api.get("/v1/network-health")
    relays = sorted(report["relays"], key=lambda r: (not r["inactive_14_days"], r["name"]))
    first, last = months_back(date.today(), UNMET_DEMAND_MONTHS)
    unmet = visit.api.get("/v1/unmet-demand", from_month=first, to_month=last)
    dead = sorted(visit.api.get("/v1/dead-letters"),
                  key=lambda q: (not q["unavailable"], -(q["depth"] or 0), q["queue"] or ""))
    return visit.render("ops_health.html", as_of=report["as_of"], relays=relays, unmet=unmet,
                        inactive=sum(r["inactive_14_days"] for r in relays),
                        dead_letters=[q for q in dead if q["unavailable"] or q["depth"]],
                        dead_queues=len(dead))
