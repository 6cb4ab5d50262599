"""A process that froze its start-up heap keeps it out of the collector and still collects
the cycles it makes later."""

import subprocess
import sys
import textwrap


def test_the_start_up_heap_is_frozen_and_later_cycles_are_still_collected() -> None:
    # In a process of its own: freezing is for the rest of a process's life.
    script = textwrap.dedent(
        """
        import gc, weakref
        from notices_contracts.heap import YOUNG_GENERATION_THRESHOLD, freeze_startup_heap

        class Node:
            pass

        freeze_startup_heap()
        assert gc.get_freeze_count() > 1000, gc.get_freeze_count()
        assert gc.get_threshold()[0] == YOUNG_GENERATION_THRESHOLD
        node = Node()
        node.itself = node
        alive = weakref.ref(node)
        del node
        gc.collect()
        assert alive() is None
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
