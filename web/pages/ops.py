"""Network ops: an overview of the relays and organisations. Network health
(activity, unmet demand, dead letters) waits for an API that exposes it."""
from web.api import ApiError
from web.routing import page


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
