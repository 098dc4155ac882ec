"""Security (issue 13): no secret in any log, path or query included: a
calendar feed's token never reaches the gateway's access log."""
import time


def gateway_log(network):
    return (network.var_dir / "log" / "gateway.log").read_text(errors="replace")


def test_no_secret_reaches_the_access_log(relay_company_employee, anonymous, network):
    relay, desk, employee, member = relay_company_employee
    feed = member.post("/v1/calendar-feed")
    assert feed.status_code == 201, feed.text
    token = feed.json()["url"].rsplit("/v1/calendar/", 1)[1][:-len(".ics")]
    assert anonymous.get(f"/v1/calendar/{token}.ics").status_code == 200
    assert anonymous.get(f"/v1/calendar/{token[:-1]}x.ics").status_code == 404
    assert anonymous.get(f"/v1/calendar/{token}").status_code == 404  # no such endpoint
    assert anonymous.get("/v1/relays", params={"secret": token}).status_code == 200
    time.sleep(0.2)
    log = gateway_log(network)
    assert "/v1/calendar/{token}.ics" in log
    assert token not in log and token[:-1] not in log
