"""The boto3 adapters: sessions and credentials problems, botocore clients behind
:class:`wizard.ports.AwsCaller`, assumed-role accounts, the AWS worker process.

May import: boto3, botocore and everything in ``wizard`` below it (not ``wizard.sandbox``:
the emulator is not an adapter); never moto or a front end.
"""
