"""Reading the account: discovery for a plan, inventories for the pickers, the operator's
permission check, the recent activity and other trails the cost preview prices.

May import: the packages below it: ``wizard.policy``, ``wizard.guide``, ``wizard.model``,
``wizard.ports``; AWS only through :class:`wizard.ports.AwsCaller`.
"""
