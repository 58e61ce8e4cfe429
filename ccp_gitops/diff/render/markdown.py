"""Markdown output of a diff for a pull-request comment, split into numbered parts under a byte limit."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from ccp_gitops.diff.impact import image_change_text
from ccp_gitops.diff.model import DiffReport, FieldChange, FileChange, OptionChange, ResourceChange, Restart
from ccp_gitops.diff.render.text import endpoint_label, env_counts, fmt_value, rollout, rollout_step, shown_fields, text_diff, wave_label

DEFAULT_MAX_BYTES = 65000
MIN_MAX_BYTES = 2000
MARKER = "<!-- ccp-gitops-diff part {i}/{n} -->\n"
PART_TITLE = "**ccp-gitops diff, part {i} of {n}**\n\n"
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~])")
_FENCE_LINE = re.compile(r"^(`{3,}|~{3,})")


@dataclass(frozen=True)
class Block:
    """An unsplittable unit of markdown (a paragraph, a list item, a fenced code block).

    ``section`` is the ``<summary>`` of the ``<details>`` the block sits in (None: top level);
    ``fence`` is set for code blocks, which may be split into several complete code blocks.
    """

    text: str
    section: str | None = None
    fence: str = ""
    info: str = ""
    lead: str = ""


def esc(text: str) -> str:
    """Plain text safe in markdown (no accidental emphasis, links, tables or HTML)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def code(text: str) -> str:
    """Inline code that survives backticks inside ``text``."""
    run = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * (run + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def fence_for(lines: list[str]) -> str:
    """A backtick fence longer than any fence-like run inside the code."""
    longest = max((len(m.group(1)) for line in lines if (m := _FENCE_LINE.match(line.lstrip()))), default=0)
    return "`" * max(3, longest + 1)


def code_block(lines: list[str], info: str, section: str | None, lead: str = "") -> Block:
    """A fenced code block; ``lead`` (e.g. the object it belongs to) stays in the same part when it fits."""
    fence = fence_for(lines)
    code = f"{fence}{info}\n" + "".join(line + "\n" for line in lines) + f"{fence}\n\n"
    return Block(lead + code, section, fence, info, lead)


def _value_lines(sign: str, head: str, value: object) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [f"{sign} {head}{fmt_value(v) if not isinstance(v, str) else v}" for v in values]


def field_diff(item: FieldChange) -> list[str]:
    """One changed field as ``diff`` lines (``-`` old, ``+`` new, ``#`` for redacted values)."""
    if item.redacted and item.old is None and item.new is None:
        return [f"# {item.path}: {dict(add='added', remove='removed').get(item.op, 'changed')} (secret, redacted)"]
    multiline = any(isinstance(v, str) and "\n" in v for v in (item.old, item.new))
    if multiline:
        return [f"@@ {item.path} @@"] + text_diff(item.old, item.new)
    out = []
    if item.op != "add":
        out.append(f"- {item.path}: {fmt_value(item.old)}")
    if item.op != "remove":
        out.append(f"+ {item.path}: {fmt_value(item.new)}")
    return out + (["# (credentials masked)"] if item.redacted else [])


def option_diff(item: OptionChange) -> list[str]:
    head = f"[{item.section}] {item.option} = "
    if item.redacted and item.old is None and item.new is None:
        return [f"# [{item.section}] {item.option}: {dict(add='added', remove='removed').get(item.op, 'changed')} (secret, redacted)"]
    out = []
    if item.op != "add":
        out += _value_lines("-", head, item.old)
    if item.op != "remove":
        out += _value_lines("+", head, item.new)
    return out


def file_diff(item: FileChange) -> list[str]:
    verb = {"add": "added", "remove": "removed", "change": "changed"}[item.op]
    if item.format == "binary":
        return [f"# {item.name}: binary data {verb}"]
    head = [f"@@ {item.name} ({verb}) @@"]
    if item.format == "ini":
        return head + [line for option in item.options for line in option_diff(option)]
    return head + [line for line in item.unified.splitlines()[2:]]


def _resource_blocks(item: ResourceChange, section: str) -> list[Block]:
    sign = {"added": "➕ added", "removed": "➖ removed", "changed": "✏️ changed"}[item.change]
    head = f"{sign} {code(str(item.id))}\n\n"
    lines = [line for f in shown_fields(item) for line in field_diff(f)]
    lines += [line for f in item.files for line in file_diff(f)]
    return [code_block(lines, "diff", section, head)] if lines else [Block(head, section)]


def _summary_table(report: DiffReport, env: str) -> str:
    rows = ["| component | wave | added | changed | removed | restarts | job runs | risks |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for comp, wave in report.components(env):
        counts = [report.count(c, env, comp) for c in ("added", "changed", "removed")]
        restarts = sum(1 for r in report.restarts if r.env == env and r.component == comp)
        reruns = sum(1 for r in report.reruns if r.env == env and r.component == comp)
        risks = sum(1 for r in report.risks if r.env == env and r.component == comp)
        cells = [esc(comp or "(env root)"), "?" if wave is None else str(wave), *map(str, counts), str(restarts), str(reruns), str(risks)]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n\n"


def env_blocks(report: DiffReport, env: str, old: str, new: str) -> list[Block]:
    """The blocks of one environment: heading, summary table, risks, upgrades, rollout, then per-component details."""
    blocks = [Block(f"## ccp-gitops diff: {code('env/' + env)}\n\n{code(old)} → {code(new)}\n\n")]
    comps = report.components(env)
    releases = [r for r in report.releases if r.env == env]
    if not comps and not releases:
        return blocks + [Block("No changes.\n\n")]
    blocks.append(Block(f"**{esc(env_counts(report, env))}**\n\n"))
    blocks.append(Block(_summary_table(report, env)))
    risks = [r for r in report.risks if r.env == env]
    if risks:
        blocks.append(Block("### ⚠️ Risks\n\n"))
        for risk in risks:
            subject = code(str(risk.id)) if risk.id else f"component {code(risk.component)}"
            blocks.append(Block(f"- **{risk.severity.upper()}** {subject} ({esc(risk.rule)}): {risk.message}\n"))
        blocks.append(Block("\n"))
    upgrades = [u for u in report.upgrades if u.env == env]
    if releases or upgrades:
        blocks.append(Block("### Upgrades\n\n"))
        for rel in releases:
            blocks.append(Block(f"- OpenStack release {code(rel.old)} → {code(rel.new)}\n"))
        for up in upgrades:
            version = f" {code(str(up.old_version))} → {code(str(up.new_version))}" if up.old_version != up.new_version else ""
            images = "".join(f"\n  - {code(i.name)}: {code(image_change_text(i.old, i.new))}" for i in up.images)
            blocks.append(Block(f"- **{esc(up.component)}** ({wave_label(up.wave)}){version}{images}\n"))
        blocks.append(Block("\n"))
    phases = [p for p in report.phases if p.env == env]
    if phases:
        blocks.append(Block("### Upgrade phases (one commit each: `ccp-gitops upgrade`)\n\n"))
        for phase in phases:
            lines = [*phase.steps, *(f"risk {r}" for r in phase.risks)]
            blocks.append(Block(f"{phase.number}. **{esc(phase.name)}**: {esc(phase.summary)}\n"))
            blocks.append(code_block(lines or ["nothing restarts, no Job runs"], "text", None, "\n"))
        blocks.append(Block("\n"))
    steps = rollout(report, env)
    if steps:
        blocks.append(Block("### Rollout (in sync-wave order)\n\n"))
        for step in steps:
            action, name, remark = rollout_step(step)
            causes = "".join(f"\n  - {esc(c.cause)}: {code(c.detail)}" for c in step.causes)
            note = f"\n  - note: {esc(step.note)}" if isinstance(step, Restart) and step.note else ""
            remark = f" ({esc(remark)})" if remark else ""
            blocks.append(Block(f"- {wave_label(step.wave)}: **{action}** {code(name)}{remark}{note}{causes}\n"))
        blocks.append(Block("\n"))
    for comp, wave in comps:
        items = [r for r in report.resources if r.env == env and r.component == comp]
        if not items:
            continue
        counts = ", ".join(f"{report.count(c, env, comp)} {c}" for c in ("added", "changed", "removed") if report.count(c, env, comp))
        section = f"<b>{html.escape(comp or '(env root)')}</b> · {wave_label(wave)} · {html.escape(counts)}"
        for item in items:
            blocks.extend(_resource_blocks(item, section))
    return blocks


def report_blocks(report: DiffReport) -> list[Block]:
    blocks: list[Block] = []
    for info in report.environments:
        blocks.extend(env_blocks(report, info.name, endpoint_label(info.old), endpoint_label(info.new)))
    return blocks


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _open(section: str, continued: bool) -> str:
    return f"<details>\n<summary>{section}{' (continued)' if continued else ''}</summary>\n\n"


CLOSE = "</details>\n\n"


def _split_text(text: str, budget: int) -> list[str]:
    """Cut text into pieces of at most ``budget`` bytes, at line ends when possible, never inside a character."""
    pieces: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while _size(line) > budget:
            cut = budget
            raw = line.encode("utf-8")
            while cut > 0 and (raw[cut] & 0xC0) == 0x80:
                cut -= 1
            head, line = raw[:cut].decode("utf-8"), raw[cut:].decode("utf-8")
            if current:
                pieces.append(current)
                current = ""
            pieces.append(head + "\n")
        if current and _size(current + line) > budget:
            pieces.append(current)
            current = ""
        current += line
    if current:
        pieces.append(current)
    return pieces


def _fit(block: Block, budget: int) -> list[Block]:
    """Split a block that alone exceeds ``budget``; a code block becomes several complete code blocks."""
    if _size(block.text) <= budget:
        return [block]
    if not block.fence:
        return [Block(piece, block.section) for piece in _split_text(block.text, budget)]
    lead = _fit(Block(block.lead, block.section), budget) if block.lead else []
    wrapper = _size(f"{block.fence}{block.info}\n{block.fence}\n\n")
    body = block.text[len(block.lead) :].split("\n", 1)[1].rsplit(block.fence, 1)[0]
    return lead + [
        Block(f"{block.fence}{block.info}\n{piece}{block.fence}\n\n", block.section, block.fence, block.info)
        for piece in _split_text(body, budget - wrapper)
    ]


def split_parts(blocks: list[Block], max_bytes: int) -> list[str]:
    """Pack blocks into parts of at most ``max_bytes`` bytes each; open ``<details>`` are closed and reopened."""
    reserve = _size(MARKER.format(i=99999, n=99999) + PART_TITLE.format(i=99999, n=99999))
    longest = max((_size(_open(b.section, True)) for b in blocks if b.section), default=0)
    budget = max_bytes - reserve - longest - _size(CLOSE)
    if budget < 200:
        raise ValueError(f"--max-bytes {max_bytes} is too small (at least {MIN_MAX_BYTES})")
    bodies: list[str] = []
    current, size, open_section = "", 0, None
    for piece in (p for block in blocks for p in _fit(block, budget)):
        prefix = ""
        if piece.section != open_section:
            prefix = (CLOSE if open_section else "") + (_open(piece.section, False) if piece.section else "")
        close = _size(CLOSE) if piece.section else 0
        if current and size + _size(prefix + piece.text) + close > max_bytes - reserve:
            bodies.append(current + (CLOSE if open_section else ""))
            current, size = "", 0
            prefix = _open(piece.section, piece.section == open_section) if piece.section else ""
        current += prefix + piece.text
        size += _size(prefix + piece.text)
        open_section = piece.section
    bodies.append(current + (CLOSE if open_section else ""))
    total = len(bodies)
    parts = []
    for index, body in enumerate(bodies, 1):
        title = PART_TITLE.format(i=index, n=total) if total > 1 else ""
        parts.append(MARKER.format(i=index, n=total) + title + body.rstrip("\n") + "\n")
    return parts


def render_markdown(report: DiffReport, max_bytes: int = DEFAULT_MAX_BYTES) -> list[str]:
    """The pull-request comment as one or more parts, each at most ``max_bytes`` UTF-8 bytes."""
    return split_parts(report_blocks(report), max_bytes)
