"""The smallest nameko service there is, to measure the raw RPC round trip
ceiling of this machine (broker + nameko + pika client, no database, no HTTP).

Run it like any Relais service, on the vhost the benchmark uses:
``RELAIS_AMQP_URI=... RELAIS_HTTP_ADDRESS=127.0.0.1:18990 python -m common.run bench.echo_service``
(``common.run`` applies the same eventlet/psycogreen patching and container
config as the real services, so the ceiling is measured under the same runtime).
"""
from nameko.rpc import rpc


class EchoService:
    name = "bench_echo"

    @rpc
    def echo(self, value):
        return value
