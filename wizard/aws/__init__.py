"""The only part of the core that imports boto3, botocore clients or the emulator."""
