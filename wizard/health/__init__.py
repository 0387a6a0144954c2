"""An existing trail's health: delivery and policy checks, log files, digest validation.

May import: ``wizard.plan`` and everything below it.
"""
