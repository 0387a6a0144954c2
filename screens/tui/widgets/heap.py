"""Keeping the garbage collector's full passes short while a screen is busy.

Connecting, planning and listing leave the process with hundreds of thousands of objects
that live as long as the app (the SDK's clients and models, pydantic's validators, the
screens), and every so often the collector's full pass walked all of them: 100 ms on a
quiet machine, 290 ms on a busy one, in the middle of a key press or a stream of rows.
"""

from __future__ import annotations

import gc

__all__ = ["settle_heap"]


def settle_heap() -> None:
    """Set the objects alive now aside from the collector's full passes (:func:`gc.freeze`).

    Later passes walk only what came after. Called where the objects alive mostly stay (the
    review once its plan is drawn, a picker when its listing starts). The cost: garbage
    that is alive-looking now (a cycle already unreachable, such as a screen just left) is
    never collected; that is about one screen's worth each time, bounded by how often a
    person shows a plan or lists again. No pass is made, and it is safe to call again.
    """
    gc.freeze()
