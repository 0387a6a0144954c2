"""One module per command of :data:`screens.cli.registry.COMMANDS`.

Each offers ``add_arguments(parser)`` and ``run(args, out) -> int`` and is imported only
when its command runs. None imports Textual or questionary.
"""
