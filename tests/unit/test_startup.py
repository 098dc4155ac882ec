"""A started process freezes what it holds, after freeing its garbage."""
import subprocess
import sys
import textwrap


def test_startup_garbage_is_freed_and_what_lives_is_frozen():
    # in a fresh interpreter: a freeze lasts for the process's life
    script = textwrap.dedent("""
        import gc, weakref
        from common.startup import freeze_what_startup_made

        class Node:
            pass

        gc.collect()
        cycle = Node(); cycle.me = cycle          # garbage only a collection frees
        dead = weakref.ref(cycle); del cycle
        kept = [Node() for _ in range(1000)]      # alive: a service's modules and schemas
        frozen = freeze_what_startup_made()
        print(dead() is None, frozen >= 1000, gc.get_freeze_count() == frozen,
              any(o is kept for o in gc.get_objects()))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout.split()
    # freed, frozen, counted, and no longer among what collections walk
    assert out == ["True", "True", "True", "False"]
