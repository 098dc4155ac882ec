"""The image runs, not only parses: built from the Dockerfile (on a Debian base
made here, since no image registry is reachable), every component runs from it
with compose's hardening, and a booking goes through the containers over HTTP.

Slow: the first run on a machine makes the Debian base (debootstrap, a few
minutes); later runs reuse it and Docker's build cache.
"""
import subprocess

import pytest
import requests

from devtools.container_network import COMPONENTS
from devtools.offline_image import DOCKER
from tests.e2e.conftest import mails_to, next_weekday, wait_for

pytestmark = pytest.mark.timeout(1800)
APP_UID = 10001


def test_every_component_runs_hardened_from_the_image(network):
    for name in COMPONENTS:
        container = network.inspect(name)
        assert container["State"]["Running"], name
        assert container["Config"]["Image"] == network.image
        host = container["HostConfig"]
        assert host["ReadonlyRootfs"] is True, name
        assert host["CapDrop"] == ["ALL"], name
        assert "no-new-privileges:true" in host["SecurityOpt"], name
        assert list(host["Tmpfs"]) == ["/tmp"], name
        assert host["NetworkMode"] == "host"
        # the image's user, numeric (Kubernetes's runAsNonRoot can verify it)
        assert container["Config"]["User"] == f"{APP_UID}:{APP_UID}", name
        status = open(f"/proc/{container['State']['Pid']}/status").read()
        (uids,) = [line.split()[1:] for line in status.splitlines() if line.startswith("Uid:")]
        assert set(uids) == {str(APP_UID)}, name


def test_nothing_can_write_outside_tmp(network):
    name = network.container_name("booking")
    refused = subprocess.run([DOCKER, "exec", name, "sh", "-c", "echo x > /app/written"],
                             capture_output=True, text=True)
    assert refused.returncode != 0 and "Read-only file system" in refused.stderr
    allowed = subprocess.run([DOCKER, "exec", name, "sh", "-c", "echo x > /tmp/written"],
                             capture_output=True, text=True)
    assert allowed.returncode == 0, allowed.stderr


def test_a_booking_goes_through_the_containers(relay_company_employee, admin, network):
    relay, desk, employee, member = relay_company_employee
    assert admin.get("/ready").json()["services"] == {
        name: "ok" for name in ("identity", "booking", "billing", "notify")}
    day = next_weekday()

    booked = member.post("/v1/bookings", json={"space_id": desk["id"], "date": day,
                                               "slot": "morning"})

    assert booked.status_code == 201, booked.text
    booking = booked.json()
    assert (booking["date"], booking["status"]) == (day, "confirmed")
    # billing priced it, notify mailed it: events crossed the broker between containers
    (line,) = wait_for(lambda: admin.get("/v1/usage-lines",
                                         params={"booking_id": booking["id"]}).json())
    assert (line["status"], line["amount_incl_vat_cents"]) == ("priced", 1788)
    (mail,) = wait_for(lambda: mails_to(network, employee["email"]))
    assert booking["id"] in mail["text"]
    assert member.get(f"/v1/bookings/{booking['id']}").json() == booking


def test_the_web_pages_serve_their_pages_and_browser_files(network):
    page = requests.get(f"{network.web_url}/", timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    # Leaflet, from the image's web-assets stage
    leaflet = requests.get(f"{network.web_url}/static/vendor/leaflet/leaflet.js", timeout=10)
    assert leaflet.status_code == 200 and "Leaflet" in leaflet.text[:500]
