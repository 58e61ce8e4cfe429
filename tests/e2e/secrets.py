"""External Secrets emulation: Password generators and the ExternalSecrets that read them.

Supported (docs/e2e.md): Password spec length/digits/symbols/symbolCharacters/noUpper/allowRepeat/
secretKeys/encoding; ExternalSecret dataFrom[].sourceRef.generatorRef to a Password, target.name,
target.template with engineVersion v2, mergePolicy Replace and `data` whose values are literal text
with `{{ .key }}` references. Anything else is refused with the object named.
"""

from __future__ import annotations

import base64
import re
import secrets as random
import string

from tests.e2e.objects import Key, Obj, RunError, key_of

_SYMBOLS = "~!@#$%^&*()_+`-={}|[]\\:\"<>?,./"
_REF = re.compile(r"{{\s*\.([A-Za-z_][A-Za-z0-9_]*)\s*}}")
_ANY_ACTION = re.compile(r"{{.*?}}", re.S)
_SPEC_KEYS = {"length", "digits", "symbols", "symbolCharacters", "noUpper", "allowRepeat", "secretKeys", "encoding"}
_TEMPLATE_KEYS = {"engineVersion", "mergePolicy", "data"}


def _pick(alphabet: str, count: int, used: set[str], allow_repeat: bool, where: Key) -> list[str]:
    """`count` characters of an alphabet, each unused so far unless repeats are allowed."""
    out: list[str] = []
    for _ in range(count):
        choices = alphabet if allow_repeat else "".join(c for c in alphabet if c not in used)
        if not choices:
            raise RunError(f"{where}: not enough distinct characters for a password without repeats")
        char = random.choice(choices)
        used.add(char)
        out.append(char)
    return out


def generate_password(spec: Obj, where: Key) -> str:
    """One password as sethvargo/go-password makes it for ESO: digits, symbols, letters, shuffled."""
    length = int(spec.get("length") or 24)
    digits = int(spec["digits"]) if spec.get("digits") is not None else int(length * 0.25)
    symbols = int(spec["symbols"]) if spec.get("symbols") is not None else int(length * 0.25)
    if digits + symbols > length:
        raise RunError(f"{where}: digits + symbols exceed the length")
    letters = string.ascii_lowercase + ("" if spec.get("noUpper") else string.ascii_uppercase)
    repeat = bool(spec.get("allowRepeat"))
    used: set[str] = set()
    chars = _pick(string.digits, digits, used, repeat, where)
    chars += _pick(str(spec.get("symbolCharacters") or _SYMBOLS), symbols, used, repeat, where)
    chars += _pick(letters, length - digits - symbols, used, repeat, where)
    random.SystemRandom().shuffle(chars)
    return "".join(chars)


def _encode(value: str, encoding: str, where: Key) -> str:
    raw = value.encode()
    encoders = {
        "raw": lambda: value,
        "base64": lambda: base64.b64encode(raw).decode(),
        "base64url": lambda: base64.urlsafe_b64encode(raw).decode(),
        "base32": lambda: base64.b32encode(raw).decode(),
        "hex": lambda: raw.hex(),
    }
    if encoding not in encoders:
        raise RunError(f"{where}: Password encoding {encoding!r} is not supported")
    return encoders[encoding]()


def run_generator(password: Obj) -> dict[str, str]:
    """The keys a Password generator yields: `password`, or one per secretKeys entry."""
    where = key_of(password)
    spec = password.get("spec") or {}
    unknown = set(spec) - _SPEC_KEYS
    if unknown:
        raise RunError(f"{where}: Password fields not supported by the runner: {sorted(unknown)}")
    keys = [str(k) for k in spec.get("secretKeys") or ["password"]]
    if len(set(keys)) != len(keys) or "" in keys:
        raise RunError(f"{where}: secretKeys must be non-empty and unique")
    encoding = str(spec.get("encoding") or "raw")
    return {k: _encode(generate_password(spec, where), encoding, where) for k in keys}


def render_template_value(text: str, values: dict[str, str], where: Key) -> str:
    """Substitute `{{ .key }}`; any other template action is refused loudly."""
    for action in _ANY_ACTION.findall(text):
        if not _REF.fullmatch(action):
            raise RunError(f"{where}: template action {action!r} is not supported by the runner "
                           "(only `{{ .key }}`)")
    missing = [m for m in _REF.findall(text) if m not in values]
    if missing:
        raise RunError(f"{where}: template references keys the generator does not yield: {missing}")
    return _REF.sub(lambda m: values[m.group(1)], text)


def _generator_ref(es: Obj, where: Key) -> str:
    data_from = (es.get("spec") or {}).get("dataFrom") or []
    if (es.get("spec") or {}).get("data") or len(data_from) != 1:
        raise RunError(f"{where}: only one dataFrom entry with a generatorRef is supported")
    ref = (data_from[0].get("sourceRef") or {}).get("generatorRef") or {}
    if ref.get("kind") != "Password" or set(data_from[0]) != {"sourceRef"}:
        raise RunError(f"{where}: only dataFrom[].sourceRef.generatorRef of kind Password is supported")
    return str(ref["name"])


def materialise(es: Obj, passwords: dict[Key, Obj]) -> tuple[str, dict[str, str]]:
    """The Secret an ExternalSecret creates: its name and string data."""
    where = key_of(es)
    gen_key = Key("Password", where.namespace, _generator_ref(es, where))
    if gen_key not in passwords:
        raise RunError(f"{where}: its generator {gen_key} is not applied")
    values = run_generator(passwords[gen_key])
    target = (es.get("spec") or {}).get("target") or {}
    template = target.get("template")
    if template is None:
        return str(target.get("name") or where.name), values
    unknown = set(template) - _TEMPLATE_KEYS
    if unknown or template.get("engineVersion", "v2") != "v2" or template.get("mergePolicy", "Replace") != "Replace":
        raise RunError(f"{where}: template features not supported by the runner: "
                       f"{sorted(unknown) or [template.get('engineVersion'), template.get('mergePolicy')]}")
    data = {str(k): render_template_value(str(v), values, where) for k, v in (template.get("data") or {}).items()}
    return str(target.get("name") or where.name), data
