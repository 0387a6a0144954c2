"""Onboarding beyond one machine: a service-managed StackSet puts the trail into every account
of some OUs, and into every account that joins them later (``onboard --engine stacksets``).

:mod:`wizard.stacksets.spec` reads what to deploy (the accounts file's shared answers and its
log-archive account); :mod:`wizard.stacksets.engine` checks the prerequisites (an organization
with all features, trusted access for StackSets, the management account or a delegated
administrator), plans the central policy update and the StackSet's calls as one
:class:`wizard.model.plan.Plan`, and applies it with :func:`wizard.run.apply.apply_plan`: the
same journal, rollback and ``recover`` as every other change the wizard makes.

May import: ``wizard.onboard`` and everything below it. AWS only through
:class:`wizard.ports.AwsCaller`.
"""
