"""devtools.network refuses to start over another network's ports."""
import socket

import pytest

from devtools.network import Network


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def free_service_base():
    """A base whose four service ports (base + 1 .. 4) are free now."""
    while True:
        base = free_port()
        probes = [socket.socket() for _ in range(4)]
        try:
            for offset, probe in enumerate(probes, start=1):
                probe.bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()


def test_a_port_held_by_another_process_is_named_before_anything_starts():
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    taken = holder.getsockname()[1]
    network = Network(name="relais_unit_ports", vhost="relais_unit_ports",
                      gateway_port=taken, service_port_base=free_service_base(),
                      smtp_port=free_port(), mail_web_port=free_port(), web_port=free_port())
    try:
        with pytest.raises(RuntimeError, match=rf"{taken} \(gateway\)"):
            network.start()
        assert network.processes == {}   # nothing was spawned
    finally:
        holder.close()


def test_free_ports_pass():
    network = Network(name="relais_unit_ports", vhost="relais_unit_ports",
                      gateway_port=free_port(), service_port_base=free_service_base(),
                      smtp_port=free_port(), mail_web_port=free_port(), web_port=free_port())
    network.refuse_busy_ports()


@pytest.mark.parametrize("slot", ["0", "9"])
def test_the_pictures_networks_listen_below_the_ephemeral_ports_apart(monkeypatch, slot):
    """An outgoing connection may hold any port from 32768 up (Linux's
    ip_local_port_range) when a network comes to listen there."""
    import shutil

    from devtools import dashboard_pictures, screenshots
    from devtools.network import EPHEMERAL_PORTS_START
    monkeypatch.setenv("RELAIS_TEST_SLOT", slot)
    ranges = []
    for module in (screenshots, dashboard_pictures):
        network = module.network()
        shutil.rmtree(network.var_dir)
        ports = [*network.listening_ports().values(), network.prometheus_port,
                 network.postgres_exporter_port]
        ports = [port for port in ports if port]
        assert max(ports) < EPHEMERAL_PORTS_START, module.__name__
        ranges.append(set(ports))
    assert ranges[0] & ranges[1] == set()


def test_a_slot_that_would_reach_the_ephemeral_ports_is_refused(monkeypatch):
    from devtools import screenshots
    monkeypatch.setenv("RELAIS_TEST_SLOT", "18")
    with pytest.raises(ValueError, match="ephemeral"):
        screenshots.network()
