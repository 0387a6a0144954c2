"""Everything a person sees: the Textual screens, the plain prompts and the command line.

Packages in layers, top first; each may import those below it and ``wizard``, never above
(import-linter checks it: ``[tool.importlinter]`` in pyproject.toml): ``cli``, then ``tui``
and ``plain`` (which never import each other), then ``common``.
"""
