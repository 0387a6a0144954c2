"""The plain-prompt wizard, from the same question catalogue as the full-screen one.

Questions are questionary's, or numbered lines of text on a dumb terminal (``prompts``).

May import: ``screens.common`` and ``wizard``; never Textual.
"""
