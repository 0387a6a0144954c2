"""Policy documents: builders, the text-preserving merge, the access evaluator, the operator's
least-privilege policy, compliance controls.

May import: ``wizard.model``, ``wizard.ports``.
"""
