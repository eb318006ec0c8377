"""The terminal part of ``happy-follower demo``: a guided run on the embedded simulator, in
English or Persian (``--language``).

In Persian, every web address and command stands on a line of its own: a terminal that
orders right-to-left text would otherwise carry its slashes and words into the sentence.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, TextIO

from ..client import HappyFollowerClient
from ..guard import DEFAULT_CAPS, SpendGuard
from ..ledger import Ledger
from ..models import OrderStatus
from ..protocol import STATUS_TITLES
from ..quotes import OrderQuote
from ..simulator import DEFAULT_SERVICES, Simulator
from ..validation import amount_text, display_text

DEMO_LINK = "https://www.instagram.com/happy.follower.demo"
DEMO_CREDIT = 250_000
DEMO_COUNT = 100
# The demo's orders leave the queue within 2 s (the catalogue's wait up to 10 s): a person
# watching Home Assistant's dashboard sees an order start moving at once.
DEMO_SERVICES = tuple(
    replace(service, start_delay=min(service.start_delay, 2.0)) for service in DEFAULT_SERVICES
)
BAR_WIDTH = 30

type TourLanguage = Literal["en", "fa"]
# Persian digits and separators, as Persian text writes numbers.
_PERSIAN_NUMBERS = str.maketrans("0123456789,.%", "۰۱۲۳۴۵۶۷۸۹٬٫٪")


def in_language(text: str, language: TourLanguage) -> str:
    """Numbers in ``text`` as the language writes them (Persian digits and separators)."""
    return text.translate(_PERSIAN_NUMBERS) if language == "fa" else text


@dataclass(frozen=True, slots=True)
class TourTexts:
    """The tour's words in one language (numbers are filled in as the language writes them)."""

    running: str
    credit: str
    services: str
    ordered: str
    confirm: str
    watching: str
    done: str
    unknown_cost: str
    next_step: str  # with --terminal-only: the command to try next
    clone_only: str  # installed without the repository: no Home Assistant part
    stopped: str


TOUR_TEXTS: dict[TourLanguage, TourTexts] = {
    "en": TourTexts(
        running="A simulated Happy Follower account is running at {url}\n\n",
        credit="1. Credit: {credit}\n",
        services="2. Active services:\n",
        ordered="3. Ordered {count} × '{service}' for {link}: order {order_id}\n",
        confirm="   through the spend guard, which shows this for you to confirm:\n",
        watching="4. Watching it (the simulator's clock runs fast here):\n",
        done="5. Done: cost {cost}, credit now {credit}\n\n",
        unknown_cost="None",
        next_step="Next: `{command}` runs the simulator for your experiments.\n",
        clone_only=(
            "Home Assistant and the MCP server start only from a clone of the repository\n"
            "(git clone the project, then `uv run {program} demo` in it); this\n"
            "installation has the terminal part only.\n"
        ),
        stopped="Stopped; nothing was left behind.\n",
    ),
    "fa": TourTexts(
        running="یک حساب شبیه‌سازی‌شدهٔ هپی فالوور در این نشانی در حال اجراست:\n   {url}\n\n",
        credit="۱. اعتبار: {credit}\n",
        services="۲. سرویس‌های فعال:\n",
        ordered=(
            "۳. سفارش {count} تایی «{service}» با شمارهٔ {order_id} برای این صفحه ثبت شد:\n"
            "   {link}\n"
        ),
        confirm="   از راه نگهبان هزینه، که این‌ها را برای تأیید به شما نشان می‌دهد:\n",
        watching="۴. پیگیری سفارش (ساعت شبیه‌ساز این‌جا تندتر می‌گذرد):\n",
        done="۵. انجام شد: هزینه {cost}، اعتبار اکنون {credit}\n\n",
        unknown_cost="نامعلوم",
        next_step="گام بعد: این فرمان شبیه‌ساز را برای آزمایش‌های شما اجرا می‌کند:\n   {command}\n",
        clone_only=(
            "Home Assistant و سرور MCP فقط از یک نسخهٔ کلون‌شدهٔ مخزن اجرا می‌شوند؛ "
            "این نصب فقط بخش ترمینال را دارد. پروژه را کلون کنید و در آن این فرمان را "
            "اجرا کنید:\n   uv run {program} demo\n"
        ),
        stopped="متوقف شد؛ چیزی برجا نماند.\n",
    ),
}


def _number(value: float, language: TourLanguage) -> str:
    """Grouped in thousands; a whole amount without decimals."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return in_language(f"{value:,}", language)


def progress_bar(
    status: OrderStatus, *, with_cost: bool = False, language: TourLanguage = "en"
) -> str:
    """One line such as ``[#######-------] 50.0%  50/100 delivered  in_progress``; with
    ``with_cost``, the cost the service gives (or that it gives none) before the status, so
    that the vendor's title (often Persian) ends the line. In Persian: the bar, then the
    figures and the status in Persian (the vendor's words for it)."""
    filled = round(status.progress / 100 * BAR_WIDTH)
    bar = "#" * filled + "-" * (BAR_WIDTH - filled)
    if language == "fa":
        title = STATUS_TITLES.get(status.status) or display_text(status.status_title or "")
        figures = f"{status.progress:5.1f}%  {status.delivered} از {status.count} تحویل شده"
        return f"[{bar}] {in_language(figures, 'fa')}  {title or 'نامعلوم'}"
    title = f" ({display_text(status.status_title)})" if status.status_title else ""
    cost = ""
    if with_cost:
        cost = "cost not given  " if status.cost is None else f"cost {amount_text(status.cost)}  "
    return (
        f"[{bar}] {status.progress:5.1f}%  {status.delivered}/{status.count} delivered  "
        f"{cost}{display_text(status.status)}{title}"
    )


def _confirmation_fa(quote: OrderQuote) -> list[str]:
    """What a person confirms (``OrderQuote.confirmation_lines``), in Persian; the link on
    a line of its own."""
    order = quote.order
    if quote.cost_bound is None:
        cost = "تا ثبت سفارش معلوم نیست (قیمتی برای این سرویس شناخته نیست)"
    else:
        cost = f"حداکثر {_number(quote.cost_bound, 'fa')}"
    lines = [
        "این سفارش هپی فالوور ثبت شود؟ (شبیه‌ساز)",
        f"سرویس: {in_language(str(order.service_id), 'fa')} - {quote.service_name}",
        "پیوند:",
        f"  {order.link}",
        f"تعداد: {_number(order.count, 'fa')}",
        f"هزینه: {cost}",
    ]
    if quote.possible_duplicate is not None:
        lines.append(
            "هشدار: همین سفارش پیش‌تر فرستاده شده و نتیجه‌اش معلوم نیست؛ شاید ثبت شده باشد. "
            "فقط اگر وضعیت سفارش و اعتبار را بررسی کرده‌اید، تأیید کنید."
        )
    return lines


async def _order_through_the_guard(
    client: HappyFollowerClient, service_id: int, language: TourLanguage
) -> tuple[int, list[str]]:
    """The order as ``happy-follower order`` places it (checked, confirmed, written to a
    ledger before it is sent): its id and the lines a person would have confirmed."""
    with tempfile.TemporaryDirectory(prefix="happy-follower-tour-") as scratch:
        ledger = Ledger(Path(scratch) / "ledger.jsonl")
        guard = SpendGuard(client, ledger, DEFAULT_CAPS, source="demo")
        await guard.open()
        quote = await guard.prepare_order(service_id, DEMO_LINK, DEMO_COUNT)
        placed = await guard.place_order(quote, confirmed_by="the demo (no person asked)")
    if language == "fa":
        return placed.order_id, _confirmation_fa(quote)
    return placed.order_id, quote.confirmation_lines("the simulator")


async def guided_tour(
    sim: Simulator, api_key: str, out: TextIO, *, tick: float, language: TourLanguage = "en"
) -> None:
    """Credit, services, one order placed and watched to completion, in the terminal."""
    say = out.write
    words = TOUR_TEXTS[language]

    def number(value: float) -> str:
        return _number(value, language)

    say(words.running.format(url=sim.base_url))
    async with HappyFollowerClient(api_key, base_url=sim.base_url) as client:
        say(words.credit.format(credit=number(await client.get_credit())))
        services = await client.get_services()
        say(words.services)
        for service in services:
            service_id = in_language(f"{service.service_id:>4}", language)
            say(f"   {service_id}  {display_text(service.name)}\n")
        service = services[0]
        order_id, confirmation = await _order_through_the_guard(
            client, service.service_id, language
        )
        say(
            words.ordered.format(
                count=number(DEMO_COUNT),
                service=display_text(service.name),
                link=DEMO_LINK,
                order_id=in_language(str(order_id), language),
            )
        )
        say(words.confirm)
        for line in confirmation:
            say(f"     {line}\n")
        say(words.watching)
        status = await client.get_order_status(order_id)
        say(f"   {progress_bar(status, language=language)}\n")
        while not status.is_final:
            await asyncio.sleep(tick)
            sim.advance(5)
            status = await client.get_order_status(order_id)
            say(f"   {progress_bar(status, language=language)}\n")
            out.flush()
        cost = words.unknown_cost if status.cost is None else number(status.cost)
        say(words.done.format(cost=cost, credit=number(await client.get_credit())))
    out.flush()
