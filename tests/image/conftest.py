"""The network run from the Docker image (devtools/container_network.py), built
offline (devtools/offline_image.py) on a Docker engine started if none runs.
The end-to-end tests' clients and set-up steps drive it over HTTP."""
import os
import uuid

import pytest

from devtools.container_network import ContainerNetwork, docker_engine
from devtools.offline_image import build
from tests.e2e.conftest import (  # noqa: F401 (fixtures, found by name)
    ADMIN_EMAIL, ADMIN_PASSWORD, admin, relay_company_employee,
)

IMAGE_TAG = "relais:offline-test"


@pytest.fixture(scope="session")
def image_network(tmp_path_factory):
    """The image, built, and every component running from it. Ports, vhost and
    databases are the slot's own (base + 60 ...: apart from the e2e network's)."""
    slot = int(os.environ.get("RELAIS_TEST_SLOT", "0"))
    base = 28000 + 100 * slot
    var_dir = tmp_path_factory.mktemp("image-network")
    with docker_engine(var_dir / "log"):
        network = ContainerNetwork(
            image=build(IMAGE_TAG),
            name=f"relais_image{slot or ''}", vhost=f"relais_image{slot or ''}",
            gateway_port=base + 60, service_port_base=base + 50, web_port=base + 65,
            smtp_port=base + 66, mail_web_port=base + 67, var_dir=var_dir,
            admin_email=ADMIN_EMAIL, admin_password=ADMIN_PASSWORD,
            gunicorn_workers=1, gunicorn_threads=4,
            extra_env={"RELAIS_RPC_TIMEOUT_SECONDS": "5",
                       "RELAIS_LIMITS_PREFIX": f"relais:image{slot}:{uuid.uuid4().hex}:",
                       "RELAIS_BILLING_GRACE_DAYS": "36500"})
        with network.fresh(ready_timeout=180):
            yield network


@pytest.fixture(scope="session")
def network(image_network):
    return image_network
