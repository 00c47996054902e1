"""Mask credentials before a configuration, a path, a URL or a log line is shown or recorded.

Rules (each replaces the secret with ``***``; over-masking a little is preferred to a leak):

* URL user-info: ``scheme://user:secret@host`` and ``scheme://token@host``; the secret may hold
  ``/`` and ``@`` (about half of AWS secret keys contain ``/``), so it runs to the last ``@``
  that is followed by a host name (also after ``scheme:/``, as :mod:`pathlib` prints a URL).
  Paths (``file:///tmp/a:b``, ``/data/x@2x.png``) stay as they are.
* ``key=value`` and ``key: value`` (also quoted, as in JSON or a Python dict) whose key names a
  credential (:func:`is_secret_key`): ``;token=`` in a Connect URL, ``Pwd=`` in an ODBC/JDBC
  connection string (``{braced}`` values too), ``X-Amz-Signature=``, ``X-Amz-Credential=``,
  ``X-Amz-Security-Token=``, ``X-Goog-Signature=`` and ``sig=`` in presigned URLs,
  ``--conf fs.azure.account.key.<acct>.dfs.core.windows.net=...`` and
  ``spark.hadoop.fs.s3a.secret.key=...`` in a command line.
* ``Bearer <token>`` / ``Basic <token>`` and AWS access key ids (``AKIA...``, ``ASIA...``).

:func:`mask_config` masks a whole configuration: secret-named keys, and secrets inside values,
through nested mappings, lists and tuples. :class:`MaskingFormatter` masks log records.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

MASK = "***"
_SECRET_WORDS = (r"secret|password|passwd|pwd|token|credential|signature"
                 r"|(?:access|account|private|api|secret)[_.-]?key|(?<![a-z])(?:sig|sas)(?![a-z])")
_SECRET_KEY = re.compile(f"(?:{_SECRET_WORDS})", re.IGNORECASE)
# scheme://[user]:secret@host (secret: anything but whitespace) or scheme://token@host; also
# scheme:/ as pathlib prints a URL it was given (Path("s3a://k:s@b") is "s3a:/k:s@b").
_URL_USERINFO = re.compile(
    r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*:/{1,3})(?:[^\s/@:]*:\S*|[^\s/@:]+)@(?=[\w\[])")
# A key that names a credential, as a whole token ("fs.azure.account.key.x.dfs.core...").
_PAIR = re.compile(
    rf"(?P<key>(?<![\w.-])(?P<q>[\"']?)[\w.-]*?(?:{_SECRET_WORDS})[\w.-]*(?P=q)\s*(?:=|:\s*))"
    r"(?P<value>\"[^\"]*\"|'[^']*'|\{(?:[^}]|\}\})*\}|[^\s;&]+)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"\b(?P<key>(?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)
_AWS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{12,}\b")


def mask_secrets(text: str) -> str:
    """Return ``text`` with every credential the module's rules recognise replaced by ``***``.

    Parameters
    ----------
    text
        A URL, a path, a message or a whole log record.

    Returns
    -------
    str
        The masked text; already masked text comes back unchanged.
    """
    text = _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)
    text = _PAIR.sub(_mask_value, text)
    text = _BEARER.sub(lambda m: f"{m.group('key')}{MASK}", text)
    return _AWS_KEY_ID.sub(MASK, text)


def _mask_value(match: re.Match[str]) -> str:
    value = match.group("value")
    quote = value[0] if value[:1] in ("'", '"') else ""
    return f"{match.group('key')}{quote}{MASK}{quote}"


def is_secret_key(key: str) -> bool:
    """True when a configuration key names a credential (``*password*``, ``*account.key*``, ...)."""
    return bool(_SECRET_KEY.search(key))


def mask_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Copy of ``config`` with secret-named keys masked and secrets inside values masked.

    Parameters
    ----------
    config
        A configuration; mappings, lists and tuples inside it are masked recursively.

    Returns
    -------
    dict
        The masked copy (lists and tuples become lists).
    """
    return {key: MASK if is_secret_key(str(key)) else _mask_value_of(value)
            for key, value in config.items()}


def _mask_value_of(value: Any) -> Any:
    if isinstance(value, str):
        return mask_secrets(value)
    if isinstance(value, Mapping):
        return mask_config(value)
    if isinstance(value, list | tuple):
        return [_mask_value_of(v) for v in value]
    return value


class MaskingFormatter(logging.Formatter):
    """A log formatter that masks credentials in the whole formatted record, tracebacks included.

    The traceback text it caches on the record (``exc_text``) is masked too, so other handlers
    that reuse the record do not print the secret either.
    """

    def format(self, record: logging.LogRecord) -> str:
        """Format ``record`` as :class:`logging.Formatter` does, then mask the result."""
        return mask_secrets(super().format(record))

    def formatException(self, ei: Any) -> str:  # noqa: N802 (logging's name)
        """The traceback of ``ei``, masked."""
        return mask_secrets(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802 (logging's name)
        """The stack of ``stack_info``, masked."""
        return mask_secrets(super().formatStack(stack_info))
