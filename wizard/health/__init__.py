"""An existing trail's health: delivery and policy checks, log files, digest validation.

May import: ``wizard.plan`` and everything below it; never ``wizard.run`` or
``wizard.export``. AWS only through :class:`wizard.ports.AwsCaller`.
"""
