"""A tiny stdio MCP server for the recorder tests (run as a script by McpWorkbench).

Tools: ``add_numbers`` (adds two integers), ``shout`` (upper-cases text) and ``explode`` (always
fails, so a failed MCP tool call can be recorded).
"""

from __future__ import annotations

from mcp.server.fastmcp import FastMCP

server = FastMCP("teamtape-calc")


@server.tool()
def add_numbers(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def shout(text: str) -> str:
    """Return the text in upper case."""
    return text.upper()


@server.tool()
def explode() -> str:
    """Always fails."""
    raise ValueError("the explode tool always fails")


if __name__ == "__main__":
    server.run()
