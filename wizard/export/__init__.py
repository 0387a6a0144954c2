"""The plan in other forms: text and JSON for people and scripts, an AWS CLI script, a
CloudFormation template.

May import: ``wizard.plan`` and everything below it.
"""
