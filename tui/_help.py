"""The ``?`` help: the keys of the screen underneath, and the filter syntax."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

FILTER_HELP = """Filter (press / on the runs screen), e.g.  status:error,crashed team:swarm agent:planner model:gpt-4o refund
  status:  running ok error cancelled crashed, failures (a model or tool call failed); commas mean "or"
  team:    team type or run name contains
  agent:   a participant or an agent that called an LLM
  model:   a model an LLM call used
  words:   run id, name, task, stop reason, error or session contain them"""

GENERAL = [
    ("?", "this help"),
    ("q / ctrl+c", "quit"),
    ("ctrl+p", "command palette: change the theme, quit, …"),
    ("↑ ↓ j k, pgup pgdn, home end", "move; the mouse works too (click a header to sort)"),
    ("tab", "next pane"),
]


ALWAYS_SHOWN = [Binding("question_mark", "app.help", "Help"), Binding("q", "app.quit", "Quit")]
"""First in each screen's footer, so a narrow terminal that cuts the footer short still shows them."""


def _key_name(key: str) -> str:
    return {"slash": "/", "escape": "esc", "question_mark": "?"}.get(key, key)


class HelpScreen(ModalScreen[None]):
    """Keys of ``screen`` (the one help was asked on) plus the keys that work everywhere."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, screen: Screen[object]) -> None:
        super().__init__()
        self.under = screen

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        seen: set[str] = set()
        for binding in self.under.BINDINGS:
            if not isinstance(binding, Binding) or binding.description in seen or binding in ALWAYS_SHOWN:
                continue  # (those are among the keys that work everywhere, below)
            seen.add(binding.description)
            keys = " / ".join(_key_name(k.strip()) for k in binding.key.split(","))
            table.add_row(keys, binding.description)
        general = Table.grid(padding=(0, 2))
        general.add_column(style="bold", no_wrap=True)
        general.add_column()
        for key, text in GENERAL:
            general.add_row(key, text)
        with VerticalScroll(id="help-box"):
            yield Static(
                Text(
                    f"Keys on this screen ({type(self.under).__name__.removesuffix('Screen').lower()})",
                    style="bold",
                )
            )
            yield Static(table)
            yield Static(Text("Everywhere", style="bold"))
            yield Static(general)
            yield Static(Text(FILTER_HELP))
            yield Static(Text("esc closes this help", style="dim"))
