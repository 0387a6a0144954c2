"""Carrying a plan out: apply with rollback, the write-ahead journal, ownership look-ups, guarded
policy writes, recovery, verification.

May import: ``wizard.plan`` and everything below it; never ``wizard.health`` or
``wizard.export``. AWS only through :class:`wizard.ports.AwsCaller`.
"""
