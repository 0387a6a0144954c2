"""The plain-prompt wizard (questionary), from the same question catalogue as the full-screen one.

May import: ``screens.common`` and ``wizard``; never Textual.
"""
