"""Mask credentials before a configuration, a path or a URL is logged or recorded (pure)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MASK = "***"
_SECRET_KEY = re.compile(
    r"(secret|password|passwd|token|credential|access[_.-]?key|api[_.-]?key)", re.I)
# scheme://user:password@host  or  scheme://token@host
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")
# key=value pairs inside URLs or connection strings (sc://host/;token=abc, ?password=x)
_INLINE_PAIR = re.compile(
    r"(?P<key>[;?&](?:token|password|secret|access_key|secret_key|api_key|sig)=)(?P<value>[^;&\s]+)",
    re.I,
)


def mask_secrets(text: str) -> str:
    """Return ``text`` with URL credentials and ``;token=``-style values replaced by ``***``."""
    text = _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)
    return _INLINE_PAIR.sub(lambda m: f"{m.group('key')}{MASK}", text)


def is_secret_key(key: str) -> bool:
    """True when a configuration key names a credential (``*password*``, ``*token*``, ...)."""
    return bool(_SECRET_KEY.search(key))


def mask_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Copy of ``config`` with secret-named keys masked and secrets inside string values masked."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if is_secret_key(key):
            out[key] = MASK
        elif isinstance(value, str):
            out[key] = mask_secrets(value)
        elif isinstance(value, Mapping):
            out[key] = mask_config(value)
        elif isinstance(value, list | tuple):
            out[key] = [mask_secrets(v) if isinstance(v, str) else v for v in value]
        else:
            out[key] = value
    return out
