"""Keeping the garbage collector's full passes off the moments a person acts.

Connecting, planning and listing leave the process with hundreds of thousands of objects
that live as long as the app (the SDK's clients and models, pydantic's validators, Textual's
caches, the screens), and every so often the collector's full pass walked all of them:
100 ms on a quiet machine, 350 ms on a busy one, in the middle of a key press.

So the objects alive are set aside from those passes (:func:`gc.freeze`): by the app before
its first frame, and by a screen that must answer keys fast once its objects are made
(:func:`settle_heap`: the review once its plan is drawn, a picker when its listing starts).
A full pass then walks only what came after, a few thousand objects.

What was set aside and then died in a cycle (a plan's widgets once the review goes, a step
screen, a listing's rows) stays until it is handed back. Handing it back at once
(:func:`gc.unfreeze`) gave the next full pass everything to walk again, the start-up
objects included: Next on the encryption step once waited 350 ms for that pass. Now a
screen that goes only says so (:func:`release_heap`), and the app tidies the heap once
nobody has pressed a key for :data:`IDLE_SECONDS` and no work is under way
(:func:`tidy_heap`: one full pass, then everything alive set aside again). Memory stays
bounded without an idle moment too: the :data:`MAX_RELEASES`-th screen gone untidied has
the heap tidied as soon as that screen is taken apart (a person who never pauses pays one
long pass that often). With no
app to tidy (:func:`tidy_when_idle` unset, as when the app ends), what was set aside is
handed back to the collector, whose next full pass frees it; until that pass has come,
nothing is set aside (a freeze before it would keep that garbage for good: tests run many
apps in one process).
"""

from __future__ import annotations

import gc
from collections.abc import Callable

__all__ = [
    "IDLE_SECONDS",
    "MAX_RELEASES",
    "frozen_since",
    "release_heap",
    "settle_heap",
    "tidy_due",
    "tidy_heap",
    "tidy_when_idle",
    "times_settled",
]

IDLE_SECONDS = 1.0
"""No key or click for this long (and no work under way): a person is reading, and the
heap can be tidied then."""

MAX_RELEASES = 8
"""Screens gone untidied after which the heap is tidied soon, idle or not: a person who
never pauses still gets a bounded heap."""

TEARDOWN_SECONDS = 0.25
"""How long a screen that went may take to be taken apart (Textual removes its widgets
after its unmount): a tidy sooner would set it aside again, alive."""

_released = 0
"""Screens gone (:func:`release_heap`) since the heap was last tidied or handed back."""

_settled = 0
"""How many times objects were set aside (:func:`settle_heap`, :func:`tidy_heap`)."""

_unwalked = False
"""Objects were handed back (:func:`_hand_back`) and no full pass has walked them since."""

_tidier: Callable[[bool], None] | None = None
"""Asks the running app to call :func:`tidy_heap` at its next idle moment (False) or once
the screen that went is taken apart, idle or not (True)."""


def settle_heap() -> None:
    """Set the objects alive now aside from the collector's full passes (:func:`gc.freeze`).

    Later passes walk only what came after. Called where the objects alive mostly stay
    while the screen is shown (the review once its plan is drawn, a picker when its listing
    starts). No pass is made, and it is safe to call again.

    Nothing is set aside while what was handed back has not been walked by a full pass yet
    (the garbage among it would be set aside again, for good): the collector's passes keep
    walking everything until then.
    """
    global _settled
    if _unwalked:
        return
    gc.freeze()
    _settled += 1


def release_heap() -> None:
    """Say that a screen whose objects were set aside (:func:`settle_heap`) has gone.

    Its objects are cycles only a full pass frees. No pass is made here: the app tidies the
    heap at its next idle moment (:func:`tidy_heap`), unless this is the
    :data:`MAX_RELEASES`-th screen gone since the last tidy (then it is tidied once this one
    is taken apart, idle or not).
    Without an app that tidies, what was set aside is handed back to the collector
    (:func:`gc.unfreeze`), and its next full pass walks it.
    """
    global _released
    _released += 1
    if _tidier is None:
        _hand_back()
    else:
        _tidier(_released >= MAX_RELEASES)


def times_settled() -> int:
    """A count that grows each time objects are set aside; compare with :func:`frozen_since`."""
    return _settled


def frozen_since(mark: int) -> bool:
    """Whether objects were set aside since ``mark`` (a :func:`times_settled` value).

    A screen made before then was set aside with them: when it goes, it is garbage only a
    tidy frees (:func:`release_heap`).
    """
    return _settled != mark


def tidy_due() -> bool:
    """Whether a screen went since the heap was last tidied (:func:`tidy_heap` would free
    something)."""
    return _released > 0


def tidy_heap() -> None:
    """One full pass over everything, then everything still alive set aside again.

    Costs what a full pass of the whole heap costs (100-350 ms): the app calls it only when
    nobody has pressed a key for a while. Afterwards the collector's passes walk only the
    objects made since.
    """
    global _released, _settled
    _released = 0
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    _settled += 1


def tidy_when_idle(tidier: Callable[[bool], None] | None) -> None:
    """Set (or, with None, unset) how the running app is asked for a tidy: at its next idle
    moment, or (given True) once the screen that went is taken apart.

    Unsetting hands back everything set aside: no app is left to tidy it, and what its
    screens were is garbage now (tests run many apps in one process).
    """
    global _tidier
    _tidier = tidier
    if tidier is None:
        _hand_back()


def _hand_back() -> None:
    """Hand everything set aside back to the collector; its next full pass walks it."""
    global _released, _unwalked
    _released = 0
    _unwalked = gc.get_freeze_count() > 0
    gc.unfreeze()


def _note_full_pass(phase: str, info: dict[str, int]) -> None:
    """A collection ended (:data:`gc.callbacks`): after a full one, nothing is unwalked."""
    global _unwalked
    if phase == "stop" and info["generation"] == 2:
        _unwalked = False


gc.callbacks.append(_note_full_pass)
