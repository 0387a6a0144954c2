"""The embedded sandbox: a local AWS emulator (moto) seeded with a demo account, as strict as AWS
where CloudTrail setup is concerned, delivering real log and digest files. A stand-in for AWS,
not an adapter: only the composition roots (``screens.common.backend``,
``screens.common.connection``) and the ``sandbox`` command start it.

``server`` starts and seeds it and installs the strict rules, ``delivery`` records the calls
and writes log and digest files, ``rules`` holds what both decide as AWS would. ``shared`` is
the sandbox every ``--sandbox`` command uses: one background process per state directory
(``daemon``) that keeps what was done, saving and restoring its state (``persist``).

May import: everything in ``wizard`` but ``wizard.aws`` (the emulator needs no adapter);
moto, and boto3 to seed it. The only package that imports moto.
"""
