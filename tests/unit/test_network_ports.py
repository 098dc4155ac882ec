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
