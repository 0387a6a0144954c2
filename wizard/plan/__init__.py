"""From answers and discovered facts to findings and a plan: policy reviews, preflight, AWS limits,
central logging, the planner.

May import: ``wizard.account``, ``wizard.policy``, ``wizard.model``, ``wizard.ports``.
"""
