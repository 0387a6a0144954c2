"""The environment of each wizard process ``serve`` starts: what it needs, nothing else.

Each wizard process gets what it needs to run and, without ``--sandbox``, to find the AWS
credentials; nothing else of the server's (a secret in the server's environment never
reaches a visitor's wizard).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import screens

KEPT_VARIABLES = (
    "PATH",
    "HOME",  # ~/.aws, and the state directory when XDG_STATE_HOME is not set
    "LANG",
    "LANGUAGE",
    "TZ",
    "TERM",
    "COLORTERM",
    "NO_COLOR",
    "TMPDIR",
    "XDG_STATE_HOME",  # the journal (wizard.run.journal)
)
"""Passed to every wizard process as they are: how to run, speak, show time and colour."""
KEPT_PREFIXES = ("LC_", "CLOUDTRAIL_WIZARD_")
"""The locale categories, and this project's own settings (such as the AWS worker switch)."""

AWS_VARIABLES = (
    # Which identity, in which region, from which files.
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    # Credentials given in the environment, and the roles of containers and pods.
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_ACCOUNT_ID",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_LOGIN_CACHE_DIRECTORY",
    # The instance role (EC2 metadata service).
    "AWS_EC2_METADATA_DISABLED",
    "AWS_EC2_METADATA_V1_DISABLED",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
    "AWS_METADATA_SERVICE_TIMEOUT",
    "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
    "AWS_IMDS_USE_IPV6",
    # How to reach AWS: endpoints, certificates, retries.
    "AWS_ENDPOINT_URL",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_STS_REGIONAL_ENDPOINTS",
    "AWS_S3_US_EAST_1_REGIONAL_ENDPOINT",
    "AWS_CA_BUNDLE",
    "REQUESTS_CA_BUNDLE",  # botocore's fallback for AWS_CA_BUNDLE
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
    "AWS_DEFAULTS_MODE",
    # The network's proxy (botocore reads these too); a proxy URL may hold a password,
    # which is why they go only where AWS is reached.
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
)
"""Passed to wizards without ``--sandbox``: the settings boto3 reads to find the credentials
and reach AWS. Not ``AWS_DATA_PATH`` nor ``BOTOCORE_EXPERIMENTAL__PLUGINS`` (they load
models and code from elsewhere), nor what botocore only reports (``AWS_EXECUTION_ENV``)."""
AWS_PREFIXES = ("AWS_ENDPOINT_URL_",)
"""Service-specific endpoints (``AWS_ENDPOINT_URL_S3``)."""

SANDBOX_HOME_VARIABLE = "CLOUDTRAIL_WIZARD_SANDBOX_HOME"
"""Where a wizard's shared sandbox lives (:data:`wizard.sandbox.shared.HOME_VARIABLE`): never
the server's, a trainee's own (:mod:`screens.cli.serving.trainees`)."""

SANDBOX_AWS = {
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
"""A sandbox session never needs AWS credentials: it gets none, and nowhere to find any."""

TEXTUAL_SERVE_VARIABLES = (
    "TEXTUAL_DRIVER",
    "TEXTUAL_FPS",
    "TEXTUAL_COLOR_SYSTEM",
    "TERM_PROGRAM",
    "TERM_PROGRAM_VERSION",
    "COLUMNS",
    "ROWS",
)
"""What textual-serve sets for each process (the web driver, the page's size); its debug
variables are left out (``TEXTUAL_LOG`` would write a log into the working directory)."""


def child_environment(
    source: Mapping[str, str],
    *,
    sandbox: bool,
    save_dir: Path | None = None,
    trainee: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of one wizard process: what it needs from ``source``, nothing else.

    Args:
        source: The server's environment.
        sandbox: ``--sandbox``: no AWS settings at all (and :data:`SANDBOX_AWS`).
        save_dir: The session's directory for saves (``--save-dir``), or None (downloads).
        trainee: With ``sandbox``, what names the trainee's own sandboxes
            (:meth:`screens.cli.serving.trainees.Trainees.environment`).

    Returns:
        :data:`KEPT_VARIABLES` and :data:`KEPT_PREFIXES`; without ``sandbox``,
        :data:`AWS_VARIABLES` and :data:`AWS_PREFIXES`; ``PYTHONPATH`` so that the wizard
        imports this very copy of the code; the session's save directory; the trainee's
        sandbox home.
    """
    # Deferred: the full-screen wizard's package loads only when serve runs (start-up time).
    from screens.tui.saves import SAVE_DIR_VARIABLE

    names = KEPT_VARIABLES if sandbox else KEPT_VARIABLES + AWS_VARIABLES
    prefixes = KEPT_PREFIXES if sandbox else KEPT_PREFIXES + AWS_PREFIXES
    env = {k: v for k, v in source.items() if k in names or k.startswith(prefixes)}
    env.pop(SAVE_DIR_VARIABLE, None)  # the server's own, if any, is not this session's
    # Nor is the server's own sandbox, if it names one: every trainee has theirs.
    env.pop(SANDBOX_HOME_VARIABLE, None)
    if sandbox:
        env.update(SANDBOX_AWS)
        env.update(trainee or {})
    if save_dir is not None:
        env[SAVE_DIR_VARIABLE] = str(save_dir)
    env["PYTHONPATH"] = import_path(source)
    return env


def import_path(source: Mapping[str, str]) -> str:
    """This code's own directory first, then the server's PYTHONPATH (the wizard runs with
    ``-P``: never from the current directory)."""
    root = str(Path(screens.__file__).resolve().parent.parent)
    return os.pathsep.join(p for p in (root, source.get("PYTHONPATH")) if p)
