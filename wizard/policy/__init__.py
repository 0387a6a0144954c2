"""Policy documents: builders (central logging's statements too), the text-preserving merge, the
access evaluator, the operator's least-privilege policy, compliance controls.

May import: the packages below it: ``wizard.guide``, ``wizard.model``, ``wizard.ports``.
"""
