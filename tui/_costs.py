"""The cost breakdown of a run (and its nested runs), by agent and by model, as bar charts."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.console import Console, ConsoleOptions, RenderResult
from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from teamtape.store import TeamtapeError

from . import _data
from ._format import fmt_cost, fmt_tokens, printable
from ._tables import AGENT_COLOURS
from .messages import CostsLoaded, LoadFailed

if TYPE_CHECKING:
    from .app import TeamtapeApp

EIGHTHS = " ▏▎▍▌▋▊▉█"


def bar(fraction: float, width: int) -> str:
    """A horizontal bar ``fraction`` (0..1) of ``width`` cells, in eighths of a cell.

    Example:
        >>> bar(0.5, 4), bar(1.0, 3), bar(0.0, 3)
        ('██  ', '███', '   ')
    """
    fraction = min(max(fraction, 0.0), 1.0)
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    text = "█" * full + (EIGHTHS[part] if part and full < width else "")
    return text.ljust(width)


class CostChart:
    """A Rich renderable: one bar per line, sized to the space it gets."""

    def __init__(self, title: str, lines: list[_data.CostLine]) -> None:
        self.title, self.lines = title, lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Text(self.title, style="bold")
        if not self.lines:
            yield Text("  no LLM calls", style="dim")
            return
        label_w = min(24, max(len(line.key) for line in self.lines))
        tail_w = 36
        bar_w = max(8, options.max_width - label_w - tail_w - 4)
        top = max((line.cost_usd or 0.0) for line in self.lines) or 1.0
        for i, line in enumerate(self.lines):
            colour = Style(color=AGENT_COLOURS[i % len(AGENT_COLOURS)])
            key = printable(line.key)
            label = key if len(key) <= label_w else key[: label_w - 1] + "…"
            cost = fmt_cost(line.cost_usd, unpriced=line.unpriced)
            calls = f"{line.calls} call" + ("" if line.calls == 1 else "s")
            tail = f"{cost:>11}  {calls:>9}  {fmt_tokens(line.input_tokens + line.output_tokens):>6} tok"
            chart = (
                bar((line.cost_usd or 0.0) / top, bar_w) if line.cost_usd is not None else "?".ljust(bar_w)
            )
            yield Text.assemble(f"  {label:<{label_w}} ", (chart, colour), " ", tail)
        no_usage = sum(line.no_usage for line in self.lines)
        unpriced = sum(line.unpriced for line in self.lines) - no_usage
        if unpriced:
            yield Text(
                f"  {unpriced} call(s) with no known price (shown as ?): add prices in prices.toml",
                style="dim italic",
            )
        if no_usage:
            yield Text(
                f"  {no_usage} streamed call(s) reported no token usage (shown as ?): "
                'ask for it with stream_options={"include_usage": True} on the client',
                style="dim italic",
            )


class CostScreen(Screen[None]):
    """Where the money went in one run, including its nested runs."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,backspace,c", "back", "Back")]

    def __init__(self, run: _data.RunRow) -> None:
        super().__init__()
        self.run = run

    @property
    def tt(self) -> TeamtapeApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        title = Text.assemble(("Costs", "bold"), f" · {printable(self.run.title)} · run {self.run.run_id}")
        yield Static(title, classes="title-bar", id="costs-title")
        with VerticalScroll(id="costs-body"):
            yield Static("loading…", id="costs-total")
            yield Static("", id="by-agent", classes="chart")
            yield Static("", id="by-model", classes="chart")
        yield Footer()

    def on_mount(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="costs")
    def _load(self) -> None:
        try:
            self.post_message(CostsLoaded(self.run, _data.fetch_costs(self.tt.store, self.run.run_id)))
        except TeamtapeError as e:
            self.post_message(LoadFailed("costs", str(e)))

    @on(CostsLoaded)
    def _show(self, message: CostsLoaded) -> None:
        c = message.costs
        run = message.run
        nested = f" across {c.runs} runs (this one and its nested runs)" if c.runs > 1 else ""
        # Tokens over the same runs as the cost (the run's own counts leave its nested runs out).
        tokens_in, tokens_out = (
            sum(m.input_tokens for m in c.by_model),
            sum(m.output_tokens for m in c.by_model),
        )
        total = Text.assemble(
            ("Total ", "bold"),
            (fmt_cost(run.cost_usd, unpriced=run.unpriced_calls), "bold"),
            f"{nested} · {fmt_tokens(tokens_in)} input · {fmt_tokens(tokens_out)} output tokens",
        )
        self.query_one("#costs-total", Static).update(total)
        self.query_one("#by-agent", Static).update(CostChart("By agent", c.by_agent))
        self.query_one("#by-model", Static).update(CostChart("By model", c.by_model))

    @on(LoadFailed)
    def _failed(self, message: LoadFailed) -> None:
        self.notify(message.error, title="Could not load costs", severity="error")

    def action_back(self) -> None:
        self.app.pop_screen()
