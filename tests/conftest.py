"""Test-session set-up shared by every layer.

eventlet's monkey patch must run before anything imports sockets, and
psycogreen must make psycopg2 cooperative, exactly as in a service process.
"""
import warnings

warnings.filterwarnings("ignore", message="\nEventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

from psycogreen.eventlet import patch_psycopg  # noqa: E402

patch_psycopg()
