"""Reading livestream comments as order intent: pure functions, no I/O."""

from parsers.grammar import Grammar, compile_grammar
from parsers.models import ParsedItem, ParseResult

__all__ = ["Grammar", "ParseResult", "ParsedItem", "compile_grammar"]
