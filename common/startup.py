"""What a process does once it has started, before it serves.

``gc.freeze()``: a full collection walks every object the collector tracks,
and a started service holds ~130,000 of its own (modules, SQLAlchemy's
metadata, marshmallow's schemas), none of which will ever be garbage. Walked
at every full collection, they made each one a 60 ms pause in the middle of
whichever request triggered it: about 1 request in 100 of the availability
search, its whole p99 (bench/README.md, "Full collections"). Frozen, they
are left out of every collection; a full one then takes 2-6 ms."""
import gc


def freeze_what_startup_made():
    gc.collect()    # what startup left as garbage is freed, not frozen forever
    gc.freeze()
    return gc.get_freeze_count()
