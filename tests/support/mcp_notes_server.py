"""A tiny MCP server (stdio) with one tool whose side effect tests can watch.

``add_note`` appends its text to the file named by ``$TEAMTAPE_TEST_MCP_LOG``.
"""

from __future__ import annotations

import os

from mcp.server.fastmcp import FastMCP

server = FastMCP("notes")


@server.tool()
def add_note(text: str) -> str:
    """Save a note."""
    with open(os.environ["TEAMTAPE_TEST_MCP_LOG"], "a", encoding="utf-8") as f:
        f.write(text + "\n")
    return f"Saved: {text}"


if __name__ == "__main__":
    server.run()
