"""A part of a step's form that is composed when first needed, not with the screen.

A step made new for every visit composes, styles and mounts every widget before its first
frame, hidden ones too: on Storage, the part for an existing bucket (the owner, another
account's credentials, the bucket picker) is half the screen's widgets, hidden whenever a
new bucket is chosen (the usual answer). :class:`OnDemand` composes its part with the
screen only when it is shown from the start; otherwise it stays empty until
:meth:`OnDemand.compose_now` is awaited (when the person chooses what shows it).
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.containers import Vertical


class OnDemand(Vertical):
    """A vertical container whose children are composed now or on demand.

    Styled as the :class:`~textual.containers.Vertical` it replaces (its subclass), so the
    screen's layout is the same either way once the part is composed.
    """

    def __init__(
        self,
        compose_part: Callable[[], ComposeResult],
        *,
        now: bool,
        id: str | None = None,  # noqa: A002 (Textual's keyword)
    ) -> None:
        """Hold ``compose_part``; compose it with the screen when ``now``.

        Args:
            compose_part: Yields the part's widgets, as a ``compose`` method does (``with``
                blocks included).
            now: Compose the part with the screen (it is shown from the start).
            id: The container's id.
        """
        super().__init__(id=id)
        self._compose_part = compose_part
        self._wanted = now
        self.composed = False
        """The part's widgets are mounted (and can be queried and read)."""

    def compose(self) -> ComposeResult:
        if self._wanted:
            yield from self._compose_part()

    def on_mount(self) -> None:
        # Composed with the screen: the children are mounted before this container is.
        self.composed = self._wanted

    async def compose_now(self) -> None:
        """Compose and mount the part if it is not yet; return once it is mounted."""
        if self._wanted:
            return
        self._wanted = True
        await self.recompose()
        self.composed = True
