"""Job parameters: defaults in ``conf/jobs/<job>.toml``, an optional override file, then flags.

The defaults file is the schema: every key a job accepts appears there with its default, and
the default's TOML type is the key's type. An override file (``--config``) or a command-line
flag (``--beta 0.8``; ``--key value`` for every key, dashes or underscores) may only set keys that
exist, with values of that type; anything else is a :class:`~mining.errors.ConfigError` naming
the key.
"""

from __future__ import annotations

import argparse
import difflib
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from mining.errors import EXIT_BAD_INPUT, ConfigError, error_line
from mining.runtime.session import conf_dir


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (``--help`` still shows the usage)."""

    def error(self, message: str) -> NoReturn:
        """Print ``<prog>: error: <message> (see --help)`` to stderr and exit with code 2."""
        self.exit(EXIT_BAD_INPUT, error_line(self.prog, f"{message} (see --help)") + "\n")


_TYPE_NAMES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list"}


def defaults_path(job: str) -> Path:
    """Path of a job's defaults file, ``<conf>/jobs/<job>.toml``."""
    return conf_dir() / "jobs" / f"{job}.toml"


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file; any problem with the file is one :class:`ConfigError` line."""
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"config file {p} is a directory, not a file")
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}")
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except UnicodeDecodeError as exc:  # tomllib decodes UTF-8 and raises this, not its own error
        raise ConfigError(f"{p}: not UTF-8 text (byte {exc.start}); TOML files are UTF-8"
                          ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {p}: {exc.strerror}") from None


def check_value(key: str, value: Any, default: Any, *, source: str) -> Any:
    """Return ``value`` if it has the type of ``default`` (ints are accepted for floats)."""
    want = type(default)
    if want is float and type(value) is int:
        return float(value)
    if type(value) is not want:
        raise ConfigError(
            f"{source}: key {key!r} must be a {_TYPE_NAMES.get(want, want.__name__)}, "
            f"got {value!r} ({_TYPE_NAMES.get(type(value), type(value).__name__)})"
        )
    return value


def merge(defaults: Mapping[str, Any], overrides: Mapping[str, Any], *, source: str
          ) -> dict[str, Any]:
    """Apply ``overrides`` to ``defaults``, rejecting unknown keys and wrong types."""
    merged = dict(defaults)
    for key, value in overrides.items():
        if key not in defaults:
            hint = difflib.get_close_matches(key, list(defaults), n=1)
            did_you_mean = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise ConfigError(f"{source}: unknown key {key!r}{did_you_mean}")
        merged[key] = check_value(key, value, defaults[key], source=source)
    return merged


def _parse_flag(key: str, default: Any) -> Any:
    def parse(text: str) -> Any:
        if isinstance(default, list):
            return [item.strip() for item in text.split(",") if item.strip()]
        if isinstance(default, float):
            try:
                return float(text)
            except ValueError:
                raise argparse.ArgumentTypeError(f"--{key} needs a number, got {text!r}") from None
        if isinstance(default, int):
            try:
                return int(text)
            except ValueError:
                raise argparse.ArgumentTypeError(
                    f"--{key} needs an integer, got {text!r}") from None
        return text

    return parse


def add_param_flags(parser: argparse.ArgumentParser, defaults: Mapping[str, Any]) -> None:
    """Add one ``--key`` flag per job parameter (booleans get ``--key``/``--no-key``).

    Raises
    ------
    ConfigError
        If a parameter is named like one of the runner's own flags (``--config``, ...).
    """
    group = parser.add_argument_group("job parameters (defaults from the job's TOML file)")
    taken = {opt for action in parser._actions for opt in action.option_strings}
    for key, default in defaults.items():
        if {f"--{key}", f"--{key.replace('_', '-')}"} & taken:
            raise ConfigError(f"job parameter {key!r} clashes with the runner's own --{key} flag; "
                              "rename it in the job's TOML file")
        flags = sorted({f"--{key}", f"--{key.replace('_', '-')}"})
        kwargs: dict[str, Any] = {"dest": f"param__{key}", "default": argparse.SUPPRESS}
        if isinstance(default, bool):
            group.add_argument(*flags, action=argparse.BooleanOptionalAction, **kwargs,
                               help=f"(default: {str(default).lower()})")
        else:
            group.add_argument(*flags, type=_parse_flag(key, default), metavar="VALUE", **kwargs,
                               help=f"(default: {default!r})")


def params_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The job parameters given as flags (only those actually passed)."""
    return {k.removeprefix("param__"): v for k, v in vars(args).items() if k.startswith("param__")}


def load_params(
    job: str,
    *,
    config_file: str | Path | None = None,
    flags: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Resolve a job's parameters: defaults file, then ``config_file``, then ``flags``.

    Raises
    ------
    ConfigError
        Missing defaults file, unknown key, or a value of the wrong type.
    """
    defaults = read_toml(defaults_path(job))
    params = dict(defaults)
    if config_file is not None:
        params = merge(params, read_toml(config_file), source=str(config_file))
    if flags:
        params = merge(params, flags, source="command line")
    return params


def job_names() -> Sequence[str]:
    """Jobs that have a defaults file in ``conf/jobs``."""
    return sorted(p.stem for p in (conf_dir() / "jobs").glob("*.toml"))
