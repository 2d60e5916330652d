"""The cost of an ``llm_call`` for span attributes and the cost metric.

Live, the price comes from a :class:`~teamtape.store.costs.PriceBook` with the same rules the store
applies when it folds a call (a call served from a cache cost nothing; a failed call with no tokens
cost nothing; an unknown model has no cost). Exporting from the store, the cost the store computed
is used as is, so spans, metrics, ``teamtape cost`` and Grafana agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from teamtape.store import Event, Store
from teamtape.store.costs import PriceBook, llm_call_cost

from ._translate import CostOf


def live_cost(prices: PriceBook | None = None) -> CostOf:
    """A ``cost_of`` function pricing calls with ``prices`` (default: genai-prices only)."""
    book = prices or PriceBook()

    def cost_of(event: Event) -> float | None:
        p = event.payload
        usage: dict[str, Any] = p.get("usage") if isinstance(p.get("usage"), dict) else {}
        try:
            cost, _source = llm_call_cost(
                book,
                p.get("model"),
                p.get("provider"),
                usage.get("input_tokens"),
                usage.get("output_tokens"),
                usage.get("cache_read_tokens"),
                cached=bool(p.get("cached")),
                failed=bool(p.get("error")),
            )
        except Exception:
            return None
        return cost

    return cost_of


def stored_cost(store: Store, run_ids: Iterable[str]) -> CostOf:
    """A ``cost_of`` function reading the costs the store computed for these runs."""
    ids = list(run_ids)
    costs: dict[str, float | None] = {}
    if ids:
        rows = store.query("SELECT event_id, cost_usd FROM llm_calls WHERE list_contains(?, run_id)", [ids])
        costs = {r["event_id"]: r["cost_usd"] for r in rows}

    def cost_of(event: Event) -> float | None:
        return costs.get(event.event_id)

    return cost_of
