"""Prices for LLM calls: genai-prices, plus the user's own overrides.

An override file (``<store>/prices.toml``, or any path passed to :class:`PriceBook`) adds or
replaces prices::

    [[model]]
    match = "my-finetune-*"      # shell-style pattern on the model name
    provider = "openai"          # optional: only for this provider
    input_mtok = 0.30            # USD per million input tokens (cache reads included in input)
    output_mtok = 1.20
    cache_read_mtok = 0.03       # optional; defaults to input_mtok

A model no source knows gets a NULL cost and is counted as unpriced: never a silent 0.
"""

from __future__ import annotations

import fnmatch
import tomllib
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import StoreError

# How autogen's client classes map to genai-prices provider ids.
PROVIDER_IDS = {
    "openai": "openai",
    "azure": "azure",
    "anthropic": "anthropic",
    "ollama": None,
    "gemini": "google",
    "google": "google",
    "mistral": "mistral",
    "groq": "groq",
    "deepseek": "deepseek",
}


@dataclass(frozen=True)
class PriceOverride:
    match: str
    input_mtok: float
    output_mtok: float
    cache_read_mtok: float | None = None
    provider: str | None = None

    def applies(self, model: str, provider: str | None) -> bool:
        """Whether this price is for ``model`` from ``provider``: ``provider = "openai"`` covers
        OpenAI-compatible endpoints too (a proxy, vLLM, LiteLLM: recorded as ``openai-compatible``)."""
        if self.provider and provider and provider not in (self.provider, f"{self.provider}-compatible"):
            return False
        return fnmatch.fnmatchcase(model, self.match)

    def cost(self, input_tokens: int, output_tokens: int, cache_read_tokens: int) -> float:
        cache_rate = self.input_mtok if self.cache_read_mtok is None else self.cache_read_mtok
        fresh = max(input_tokens - cache_read_tokens, 0)
        return (
            fresh * self.input_mtok + cache_read_tokens * cache_rate + output_tokens * self.output_mtok
        ) / 1e6


def load_overrides(path: Path) -> list[PriceOverride]:
    """Read a prices file; a broken file is an error that names the file and the entry."""
    if not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise StoreError(f"{path} is not valid TOML: {e}") from None
    out = []
    for i, entry in enumerate(data.get("model", []), start=1):
        try:
            out.append(
                PriceOverride(
                    match=str(entry["match"]),
                    input_mtok=float(entry["input_mtok"]),
                    output_mtok=float(entry["output_mtok"]),
                    cache_read_mtok=None
                    if "cache_read_mtok" not in entry
                    else float(entry["cache_read_mtok"]),
                    provider=entry.get("provider"),
                )
            )
        except (KeyError, TypeError, ValueError) as e:
            raise StoreError(
                f"{path}: [[model]] entry {i} needs match, input_mtok and output_mtok (numbers): {e}"
            ) from None
    return out


@lru_cache(maxsize=4096)
def _library_price(
    model: str, provider: str | None, input_tokens: int, output_tokens: int, cache_read_tokens: int
) -> float | None:
    from genai_prices import Usage, calc_price

    usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens, cache_read_tokens=cache_read_tokens)
    provider_id = PROVIDER_IDS.get(provider or "", provider)
    attempts = [provider_id, None] if provider_id else [None]
    for pid in attempts:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return float(calc_price(usage, model, provider_id=pid).total_price)
        except (LookupError, ValueError):
            continue
    return None


class PriceBook:
    """Prices LLM calls: user overrides first, then genai-prices."""

    def __init__(self, overrides_path: Path | None = None) -> None:
        self.overrides = load_overrides(overrides_path) if overrides_path else []

    def price(
        self,
        model: str | None,
        provider: str | None,
        input_tokens: int | None,
        output_tokens: int | None,
        cache_read_tokens: int | None = 0,
    ) -> tuple[float | None, str | None]:
        """The cost in USD and where the price came from, or ``(None, None)`` when unknown."""
        if not model or (input_tokens is None and output_tokens is None):
            return None, None
        i, o, c = int(input_tokens or 0), int(output_tokens or 0), int(cache_read_tokens or 0)
        for override in self.overrides:
            if override.applies(model, provider):
                return override.cost(i, o, c), "override"
        cost = _library_price(model, provider, i, o, c)
        return (cost, "genai-prices") if cost is not None else (None, None)


def llm_call_cost(
    prices: PriceBook,
    model: str | None,
    provider: str | None,
    input_tokens: int | None,
    output_tokens: int | None,
    cache_read_tokens: int | None,
    *,
    cached: bool = False,
    failed: bool = False,
) -> tuple[float | None, str | None]:
    """The cost of one recorded LLM call and where its price came from.

    A call served from a cache cost nothing; a failed call that reported no tokens cost nothing; a call
    whose token usage was not reported (a stream without ``include_usage``) has an unknown cost
    whatever its price (``(None, "no-usage")``); anything else is priced by ``prices`` (``(None, None)``
    when the model's price is unknown).
    """
    if cached:
        return 0.0, "cache"
    if failed and not (input_tokens or output_tokens):
        return 0.0, "failed"
    if input_tokens is None and output_tokens is None:
        return None, NO_USAGE
    return prices.price(model, provider, input_tokens, output_tokens, cache_read_tokens)


NO_USAGE = "no-usage"
"""``llm_calls.price_source`` of a call whose token usage the provider did not report."""
