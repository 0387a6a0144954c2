"""The full-screen wizard (Textual): the app, its state and messages, one module per step, the
Status screen, the log browser, widgets.

May import: ``screens.common`` and ``wizard``; never questionary or ``screens.plain``.
"""
