"""The ``cloudtrail-wizard`` command line: the composition root of every front end.

:mod:`~screens.cli.main` parses the command line (:mod:`~screens.cli.parser`) and runs one
command of the static table (:mod:`~screens.cli.registry`, one module per command in
:mod:`screens.cli.commands`), or starts the interactive wizard: full screen
(:mod:`screens.tui`) or plain prompts (:mod:`screens.plain`), both imported only then.

May import: ``screens.common``, ``wizard``, and ``screens.tui`` / ``screens.plain`` inside
functions only (start-up time: the commands never load Textual or questionary).
"""
