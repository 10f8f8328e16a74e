"""Line breaking for badge text: Chinese and Latin on their own lines, then greedy at spaces."""

from __future__ import annotations

from reportlab.pdfbase import pdfmetrics

from anbao.accreditation.badges.fonts import SANS


def _has_cjk(word: str) -> bool:
    return any("\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" for ch in word)


def _greedy(words: list[str], width: float, size: float) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if current and pdfmetrics.stringWidth(candidate, SANS, size) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    lines.append(current)
    return lines


def wrap(text: str, width: float, size: float, max_lines: int) -> list[str]:
    """Break at spaces into at most ``max_lines`` lines (the last one takes the rest).

    A bilingual text breaks first where the Chinese ends and the Latin begins, so each
    language gets its own line; a run of Chinese has no spaces and stays whole.
    """
    words = text.split(" ")
    split = next(
        (i for i in range(1, len(words)) if _has_cjk(words[i - 1]) != _has_cjk(words[i])),
        None,
    )
    if split is not None:
        lines = _greedy(words[:split], width, size) + _greedy(words[split:], width, size)
    else:
        lines = _greedy(words, width, size)
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], " ".join(lines[max_lines - 1 :])]
    return lines
