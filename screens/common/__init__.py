"""What every front end shares: the connection to AWS, console rendering, errors and exit codes,
progress and outcome reporting.

May import: ``wizard``; never Textual or questionary.
"""
