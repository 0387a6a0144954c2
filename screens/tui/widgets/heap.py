"""Keeping the garbage collector's full passes short while a screen is busy.

Connecting, planning and listing leave the process with hundreds of thousands of objects
that live as long as the app (the SDK's clients and models, pydantic's validators, the
screens), and every so often the collector's full pass walked all of them: 100 ms on a
quiet machine, 290 ms on a busy one, in the middle of a key press or a stream of rows.

While a screen that must answer keys fast is shown (the review, a picker streaming rows),
the objects alive are set aside from those passes (:func:`settle_heap`); when it goes,
they are handed back (:func:`release_heap`), so that what died meanwhile is collected by
the next full pass. Without the hand-back, every review or listing left its cyclic garbage
frozen for good: a test process showing twenty-three reviews held twice the memory.
"""

from __future__ import annotations

import gc

__all__ = ["release_heap", "settle_heap"]


def settle_heap() -> None:
    """Set the objects alive now aside from the collector's full passes (:func:`gc.freeze`).

    Later passes walk only what came after. Called where the objects alive mostly stay
    while the screen is shown (the review once its plan is drawn, a picker when its listing
    starts). No pass is made, and it is safe to call again.
    """
    gc.freeze()


def release_heap() -> None:
    """Hand what :func:`settle_heap` set aside back to the collector (:func:`gc.unfreeze`).

    Called when the screen that asked for it goes: the objects that died since (a plan's
    widgets, a listing's rows) are in cycles only a full pass can free. No pass is made
    here; the next one that comes walks them.
    """
    gc.unfreeze()
