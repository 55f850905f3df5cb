"""One typed configuration for every stage: dataclass defaults < TOML file < ``section.key=value`` overrides.

The file is looked up in this order: ``--config FILE``, ``$LGMTSC_CONFIG``, ``~/.config/lgmtsc/config.toml``
(absent is fine: the embedded defaults run offline). ``lgmtsc config show`` prints the resolved result.
Each section belongs to one stage and names its backend; a stage reads only its own section.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .asr.config import AsrConfig, VadConfig
from .codec.config import CodecConfig
from .errors import ConfigError
from .evaluation.config import EvalConfig
from .kb.config import KbConfig
from .link.config import LinkConfig
from .llm.config import LlmConfig
from .publickb.config import PublicKbConfig
from .reconstruct.config import ReconstructConfig
from .textcoder.config import TextCoderConfig


@dataclass
class ModelsConfig:
    """The verified model cache (``lgmtsc models install`` fills it)."""

    cache_dir: str | None = None  # default $LGMTSC_MODELS or $LGMTSC_HOME/models


@dataclass
class Config:
    models: ModelsConfig = field(default_factory=ModelsConfig)
    vad: VadConfig = field(default_factory=VadConfig)
    asr: AsrConfig = field(default_factory=AsrConfig)
    llm: LlmConfig = field(default_factory=LlmConfig)
    kb: KbConfig = field(default_factory=KbConfig)
    codec: CodecConfig = field(default_factory=CodecConfig)
    link: LinkConfig = field(default_factory=LinkConfig)
    publickb: PublicKbConfig = field(default_factory=PublicKbConfig)
    reconstruct: ReconstructConfig = field(default_factory=ReconstructConfig)
    textcoder: TextCoderConfig = field(default_factory=TextCoderConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)


def default_config_path() -> Path:
    return Path(os.environ.get("LGMTSC_CONFIG") or Path.home() / ".config" / "lgmtsc" / "config.toml").expanduser()


def load_config(path: str | os.PathLike | None = None, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Resolve the configuration. ``path`` None means the default location, if it exists."""
    data: dict[str, Any] = {}
    explicit = path is not None
    p = Path(path).expanduser() if explicit else default_config_path()
    if explicit or p.exists():
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"configuration file not found: {p}") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{p}: not valid TOML: {e}") from None
    for item in overrides:
        section, key, value = _split_override(item)
        data.setdefault(section, {})[key] = _OverrideText(value)
    return _build(Config, data, "")


class _OverrideText(str):
    """A value from the command line: parsed according to the field's type."""


def _split_override(item: str) -> tuple[str, str, str]:
    name, sep, value = item.partition("=")
    section, dot, key = name.strip().partition(".")
    if not sep or not dot or not section or not key:
        raise ConfigError(f"bad override {item!r}", hint="use section.key=value, e.g. asr.language=en")
    return section, key, value.strip()


def _build(cls: type, data: Any, where: str):
    if not isinstance(data, dict):
        raise ConfigError(f"[{where}] must be a table")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        known = ", ".join(sorted(names))
        raise ConfigError(f"unknown setting {'.'.join(filter(None, [where, unknown[0]]))}", hint=f"known here: {known}")
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        key = f"{where}.{f.name}" if where else f.name
        tp = hints[f.name]
        kwargs[f.name] = (_build(tp, data[f.name], key) if dataclasses.is_dataclass(tp)
                          else _coerce(tp, data[f.name], key))
    return cls(**kwargs)


def _coerce(tp: Any, value: Any, key: str) -> Any:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    text = isinstance(value, _OverrideText)
    if origin in (typing.Union, types.UnionType):
        if value is None or (text and value.lower() in ("", "none", "null")):
            if type(None) in args:
                return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(inner[0], value, key)
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{key} = {value!r} is not one of {', '.join(map(repr, args))}")
        return str(value) if text else value
    if origin is list:
        items = [v.strip() for v in value.split(",") if v.strip()] if text else value
        if not isinstance(items, list):
            raise ConfigError(f"{key} must be a list")
        return [_coerce(args[0], _OverrideText(v) if text else v, key) for v in items]
    try:
        if tp is bool:
            if text:
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError
            if not isinstance(value, bool):
                raise ValueError
            return value
        if tp is int:
            if isinstance(value, bool) or (not text and not isinstance(value, int)):
                raise ValueError
            return int(value)
        if tp is float:
            if isinstance(value, bool) or (not text and not isinstance(value, (int, float))):
                raise ValueError
            return float(value)
        if tp is str:
            if not isinstance(value, str):
                raise ValueError
            return str(value)
    except ValueError:
        raise ConfigError(f"{key} = {value!r} is not a valid {tp.__name__}") from None
    raise ConfigError(f"{key}: unsupported setting type {tp!r}")


def to_toml(cfg: Config) -> str:
    """The resolved configuration as TOML (None values are written as comments)."""
    lines: list[str] = []
    for section in dataclasses.fields(cfg):
        obj = getattr(cfg, section.name)
        doc = (type(obj).__doc__ or "").strip().splitlines()[0]
        lines += ["", f"# {doc}", f"[{section.name}]"]
        for f in dataclasses.fields(obj):
            v = getattr(obj, f.name)
            lines.append(f"# {f.name} = (unset)" if v is None else f"{f.name} = {_toml_value(v)}")
    return "\n".join(lines).lstrip() + "\n"


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    s = str(v).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{s}"'
