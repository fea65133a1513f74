"""Debian's Chromium driven by Playwright for Python (sync API), for the portal tests.

Never ``playwright install``: it downloads a browser and fails here. The flags are those of
/work/shared/PEERS.md ("Browser"). Tests skip, saying why, only when /usr/bin/chromium is missing
(``make test`` installs Debian's package ``chromium``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}  # a common phone's CSS viewport


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: `make test` installs Debian's package chromium")


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium for one test module."""
    require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Screenshots:
    """``step-01-<what>.png``, ``step-02-...``: one full-page screenshot per step, in ``directory``."""

    directory: Path
    taken: list[Path] = field(default_factory=list)

    def take(self, page: Page, what: str) -> Path:
        path = self.directory / f"step-{len(self.taken) + 1:02d}-{what}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


@dataclass
class Dialogs:
    """Every alert/confirm/prompt a page opens (dismissed at once): an XSS that ran shows up here."""

    seen: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> Page:
        page.on("dialog", self._record)
        return page

    def _record(self, dialog: Dialog) -> None:
        self.seen.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()


def overflows_horizontally(page: Page, width: int = PHONE["width"]) -> bool:
    """Whether the page's layout is wider than ``width`` CSS pixels (one that does not fit a phone)."""
    return bool(page.evaluate("w => document.documentElement.scrollWidth > w", width))
