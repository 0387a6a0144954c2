"""The domain's values: answers, names and regions rules, account context, the plan as data.

May import: ``wizard.ports`` and the standard library, pydantic, PyYAML. Nothing above it.
"""
