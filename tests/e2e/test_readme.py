"""README's hand-run examples run as pasted: the booking-path block and the one
after it, in order, against a network seeded like ``scripts/run``'s (its demo
data, its admin), and the first prints exactly the answers the README shows."""
import os
import re
import subprocess
from pathlib import Path

import pytest

from devtools import demo
from devtools.network import Network

README = Path(__file__).resolve().parents[2] / "README.md"
SCRIPTS_RUN_GATEWAY = "http://localhost:8080"


def section(title):
    text = README.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def blocks(text, language):
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


@pytest.fixture(scope="module")
def demo_network(tmp_path_factory):
    """scripts/run's network and demo data, on this slot's own ports and databases."""
    slot = int(os.environ.get("RELAIS_TEST_SLOT", "0"))
    base = 28000 + 100 * slot
    network = Network(
        name=f"relais_readme{slot or ''}", vhost=f"relais_readme{slot or ''}",
        gateway_port=base + 70, web_port=base + 75, service_port_base=base + 40,
        smtp_port=base + 35, mail_web_port=base + 36,
        var_dir=tmp_path_factory.mktemp("readme-network"), gunicorn_workers=1,
        gunicorn_threads=4)
    with network.fresh():
        demo.seed(network.gateway_url, network.admin_email, network.admin_password,
                  network.database_url("billing"))
        yield network


def run(script, network):
    script = script.replace(SCRIPTS_RUN_GATEWAY, network.gateway_url)
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_booking_path_block_prints_what_the_readme_shows(demo_network):
    booking_path = section("Try the booking path by hand")
    (script,), (shown,) = blocks(booking_path, "sh"), blocks(booking_path, "text")
    assert run(script, demo_network) == shown
    # Pasted again, it changes nothing and says the same.
    assert run(script, demo_network) == shown


def test_the_other_booking_requests_run_after_it_without_a_problem(demo_network):
    (first,) = blocks(section("Try the booking path by hand"), "sh")
    (then,) = blocks(section("Booking, by hand"), "sh")
    printed = run(first + then, demo_network)
    assert "relais-des-possibles.fr/problems/" not in printed.split("true\n", 1)[1]


def test_the_residents_block_prints_what_the_readme_shows(demo_network):
    """A programme's coordinator enrols the demo resident, who books under the
    programme; pasted again, it changes nothing and says the same."""
    residents = section("Residents and programmes, by hand")
    (script,), (shown,) = blocks(residents, "sh"), blocks(residents, "text")
    assert run(script, demo_network) == shown
    assert run(script, demo_network) == shown


def test_the_spaces_and_blocks_block_prints_what_the_readme_shows(demo_network):
    (first,) = blocks(section("Try the booking path by hand"), "sh")
    spaces = section("Spaces for services and reserved capacity, by hand")
    (script,), (shown,) = blocks(spaces, "sh"), blocks(spaces, "text")
    first_shown = blocks(section("Try the booking path by hand"), "text")[0]
    assert run(first + script, demo_network) == first_shown + shown
    # Pasted again, it changes nothing and says the same.
    assert run(first + script, demo_network) == first_shown + shown
