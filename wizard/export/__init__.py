"""The plan in other forms: text and JSON for people and scripts, an AWS CLI script, a
CloudFormation template.

May import: ``wizard.plan`` and everything below it; never ``wizard.run`` or
``wizard.health``. botocore only for its pure ``xform_name`` (the AWS CLI's option names).
"""
