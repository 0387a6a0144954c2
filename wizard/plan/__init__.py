"""From answers and discovered facts to findings and a plan: policy reviews, preflight, AWS limits,
central logging, the trail's event selectors, the planner, the cost preview (with the price
list it reads, ``prices.json``).

May import: the packages below it: ``wizard.account``, ``wizard.policy``, ``wizard.guide``,
``wizard.model``, ``wizard.ports``; AWS only through :class:`wizard.ports.AwsCaller`.
"""
