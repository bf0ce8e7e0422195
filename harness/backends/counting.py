"""Graph-size counts that need no framework: text of compiled modules."""

from __future__ import annotations

import re

# An HLO instruction: "  %name = type op(...)" or "  ROOT %name = ...", in any computation.
_HLO_INSTRUCTION = re.compile(r"^\s+(ROOT\s+)?%?[\w.\-]+ = ", re.MULTILINE)


def hlo_instructions(hlo_text: str) -> int:
    """Instructions in an HLO module's text, over all its computations (fusions included);
    the metadata after them (FileNames, FunctionNames, ...) is not counted."""
    return len(_HLO_INSTRUCTION.findall(hlo_text))
