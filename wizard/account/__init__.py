"""Reading the account: discovery for a plan, inventories for the pickers, the operator's
permission check.

May import: the packages below it: ``wizard.policy``, ``wizard.guide``, ``wizard.model``,
``wizard.ports``; AWS only through :class:`wizard.ports.AwsCaller`.
"""
