"""What every front end shares: the connection to AWS, console rendering, errors and exit codes,
progress and outcome reporting.

May import: ``wizard`` (``wizard.sandbox`` only in ``backend`` and ``connection``, the
composition roots that start it); never Textual or questionary.
"""
