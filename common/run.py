"""Run one Relais service: ``python -m common.run services.booking.service``.

Patching comes first, before anything imports sockets or psycopg2: eventlet's
monkey patch, then psycogreen so a slow query yields instead of blocking the hub.
"""
import warnings

# nameko 2.14 needs eventlet; its deprecation notice says nothing we can act on.
warnings.filterwarnings("ignore", message="\nEventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

from psycogreen.eventlet import patch_psycopg  # noqa: E402

patch_psycopg()

import importlib  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

from nameko.containers import ServiceContainer  # noqa: E402

from common import config, logging as relais_logging  # noqa: E402
from common.production import refuse_development_secrets  # noqa: E402
from common.startup import freeze_what_startup_made  # noqa: E402


def find_service_class(module):
    for value in vars(module).values():
        if isinstance(value, type) and getattr(value, "name", None) and \
                value.__module__ == module.__name__:
            return value
    raise SystemExit(f"no nameko service class in {module.__name__}")


def main(argv):
    if len(argv) != 2:
        raise SystemExit("usage: python -m common.run services.<name>.service")
    service_cls = find_service_class(importlib.import_module(argv[1]))
    refuse_development_secrets(service_cls.name)
    relais_logging.configure(service_cls.name)
    container = ServiceContainer(service_cls, config.nameko_config(service_cls.name))
    container.start()
    freeze_what_startup_made()

    def shut_down(signum, frame):
        eventlet.spawn_n(container.stop)

    signal.signal(signal.SIGTERM, shut_down)
    signal.signal(signal.SIGINT, shut_down)
    container.wait()


if __name__ == "__main__":
    main(sys.argv)
