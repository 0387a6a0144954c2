"""The cloudtrail-wizard core, for every front end: answers, discovery, plan, apply, report.

Packages by concern, in layers, top first; each may import those below it, never above
(import-linter checks it: ``[tool.importlinter]`` in pyproject.toml):

    aws | sandbox              the boto3 adapters | the emulator (independent of each other)
    onboard                    many accounts
    engine                     the facade every front end drives
    run | health | export      carrying a plan out | a trail's health | the plan in other forms
    plan                       findings and the plan
    account                    reading the account
    policy                     policy documents
    guide                      the questions, defined once
    model                      the domain's values
    ports                      every AWS interaction as data (the boundary)

Never imports a front end (Textual, questionary, rich, ``screens``); boto3 and botocore only
in ``wizard.aws`` and ``wizard.sandbox``, moto only in ``wizard.sandbox``, which only the
composition roots of ``screens`` import.
"""

__version__ = "0.1.0"
