"""The embedded sandbox: a local AWS emulator (moto) seeded with a demo account, as strict as AWS
where CloudTrail setup is concerned, delivering real log and digest files. A stand-in for AWS,
not an adapter: only the composition root and the ``sandbox`` command start it.

May import: anything in ``wizard``; the only place that imports moto.
"""
