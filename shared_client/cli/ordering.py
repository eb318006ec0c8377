"""The commands that change something at the service or in the ledger: ``order``,
``confirm-price``, ``cancel`` and ``recheck``."""

from __future__ import annotations

import signal
import sys
from argparse import Namespace
from typing import TextIO

from .. import protocol
from ..client import HappyFollowerClient
from ..errors import (
    HappyFollowerApiError,
    HappyFollowerInputError,
    HappyFollowerNotEnoughCreditError,
    HappyFollowerOrderOutcomeUnknownError,
    HappyFollowerSpendCapError,
    Refusal,
)
from ..guard import OrderQuote, PlacedOrder, SpendGuard
from ..validation import MAX_WHOLE_NUMBER, amount_text, display_text, positive_int
from .context import MAX_COUNT_ENV, CliError, Context, ExitCode
from .reads import ORDER_ID
from .render import environment_label, target_text
from .table import Command, Option

CONFIRMED_AT_PROMPT = "user at the CLI prompt"
CONFIRMED_BY_FLAG = "--yes"

SERVICE_ID = Option("service_id", "service id (see `services`)")
YES = Option(("--yes", "-y"), "do not ask for confirmation", flag=True)


async def order(ctx: Context, args: Namespace) -> ExitCode:
    async with ctx.client() as client:
        guard = await ctx.open_guard(client)
        try:
            quote = await guard.prepare_order(args.service_id, args.link, args.count)
        except HappyFollowerInputError as err:
            if err.field != "count":
                raise
            raise CliError(_count_refused(ctx, args.count), ExitCode.USAGE) from None
        except HappyFollowerSpendCapError as err:
            raise CliError(_with_price_hint(ctx, guard, err), ExitCode.CANCELLED) from None
        confirmed_by = await _confirmation(ctx, guard, quote, client)
        ctx.sending = True
        try:
            placed = await guard.place_order(
                quote,
                confirmed_by=confirmed_by,
                duplicate_confirmed=quote.possible_duplicate is not None,
            )
        except HappyFollowerOrderOutcomeUnknownError as err:
            raise CliError(f"{err} {_do_not_retry(ctx)}", ExitCode.OUTCOME_UNKNOWN) from None
        except HappyFollowerApiError as err:
            raise _order_refused(ctx, err) from None
        ctx.sending = False  # Ctrl-C from here on does not leave the outcome unknown
    if placed.anomaly is not None:
        ctx.warn(f"order {placed.order_id}: {placed.anomaly}")
    ctx.emit(_placed_data(placed), _placed_text(ctx, placed))
    return ExitCode.OK


def order_interrupted(ctx: Context, args: Namespace) -> ExitCode:
    """Ctrl-C while the order was on its way leaves its outcome unknown; before, nothing
    was sent."""
    if ctx.sending:
        print(
            f"error: interrupted while the order was being sent: it may have been placed. "
            f"{_do_not_retry(ctx)}",
            file=ctx.err,
        )
        return ExitCode.OUTCOME_UNKNOWN
    print("error: interrupted: no order was sent", file=ctx.err)
    return ExitCode.CANCELLED


def _placed_data(placed: PlacedOrder) -> dict[str, object]:
    return {
        "order_id": placed.order_id,
        "service_id": placed.service_id,
        "service_name": placed.service_name,
        "link": placed.link,
        "count": placed.count,
        "cost": placed.cost,
        "estimated_cost": placed.estimated_cost,
    }


def _placed_text(ctx: Context, placed: PlacedOrder) -> str:
    if placed.cost is not None:
        cost = f", cost {amount_text(placed.cost)}"
    elif placed.estimated_cost is not None:
        cost = (
            f", cost about {amount_text(placed.estimated_cost)} (from the credit before and after)"
        )
    else:
        cost = ""
    what = f"{placed.count} × {placed.service_name or placed.service_id}"
    return (
        f"Order {placed.order_id} placed ({what} for {target_text(placed.link)}){cost}. "
        f"Follow it with: {ctx.command_hint(f'status {placed.order_id} --watch')}"
    )


def _count_refused(ctx: Context, count: str) -> str:
    """A count that is not a whole number in range, with the range the cap in effect
    allows (the input policy alone knows only the API's largest number)."""
    cap = ctx.caps.max_count_per_order
    given = display_text(repr(count), 40)
    if cap is None:
        return (
            f"count must be a whole number from 1 to {MAX_WHOLE_NUMBER} (no cap on a "
            f"single order is set), written without separators; got {given}"
        )
    return (
        f"count must be a whole number from 1 to {cap} (the cap on a single order: "
        f"--max-count-per-order or ${MAX_COUNT_ENV}), written without separators; "
        f"got {given}"
    )


def _with_price_hint(ctx: Context, guard: SpendGuard, err: HappyFollowerSpendCapError) -> str:
    """A refusal for want of a price a person stands behind, with the command that
    confirms the price the service was seen to charge."""
    service_id = err.amounts.get("service_id")
    if err.cap not in (Refusal.COST_UNKNOWN, Refusal.PRICE_CHANGED) or not service_id:
        return str(err)
    offer = guard.price_offer(int(service_id))
    if offer is None:
        return str(err)
    command = ctx.command_hint(f"confirm-price {int(service_id)}", ledger=True)
    return (
        f"{err}. It was seen to charge {amount_text(offer[0])} per unit ({offer[1]}): `{command}`"
    )


def _do_not_retry(ctx: Context) -> str:
    return (
        f"Do not retry: check with {ctx.check_hint()} (then "
        f"`{ctx.command_hint('status ORDER_ID')}` once you know its id)."
    )


def _order_refused(ctx: Context, err: HappyFollowerApiError) -> CliError:
    """The service's refusal, with what is likely wrong when it names the parameters."""
    if isinstance(err, HappyFollowerNotEnoughCreditError) or not protocol.speaks_of_parameters(
        err.service_message
    ):
        return CliError(str(err), ExitCode.REFUSED)
    return CliError(
        f"{err}. Nothing was placed. Most likely the count is outside this service's "
        "minimum or maximum, or the link is not the kind the service expects (a post's "
        "link for likes and views, a profile's for followers; public, written in full "
        f"as https://www.instagram.com/...). The limits are on the service's page on "
        f"happy-follower.com; `{ctx.command_hint('services')}` lists the services.",
        ExitCode.REFUSED,
    )


async def _confirmation(
    ctx: Context, guard: SpendGuard, quote: OrderQuote, client: HappyFollowerClient
) -> str:
    """Who confirmed the order; a refusal to confirm is audited and raised."""
    try:
        return _confirm(ctx, quote, client)
    except CliError as err:
        wanted = quote.order
        await guard.record_refusal(wanted.service_id, wanted.link, wanted.count, reason=str(err))
        raise


def _confirm(ctx: Context, quote: OrderQuote, client: HappyFollowerClient) -> str:
    duplicate = quote.possible_duplicate is not None
    if ctx.args.yes and not duplicate:
        return CONFIRMED_BY_FLAG
    if not sys.stdin.isatty():
        code = ExitCode.CANCELLED if duplicate else ExitCode.USAGE
        raise CliError(_cannot_ask(ctx, duplicate), code)
    for line in quote.confirmation_lines(environment_label(client), ctx.settings.credit_unit):
        print(line, file=ctx.screen)
    if duplicate:
        question = "It may be a duplicate. Place it anyway? [y/N] "
    elif client.sandbox:
        question = "This spends sandbox credit. [y/N] "
    else:
        question = "This spends credit. [y/N] "
    if not _yes(question, ctx.screen):
        raise CliError("order not placed: not confirmed", ExitCode.CANCELLED)
    return CONFIRMED_AT_PROMPT


def _cannot_ask(ctx: Context, duplicate: bool) -> str:
    if not duplicate:
        return "refusing to order without confirmation: no terminal to ask; pass --yes"
    return (
        "the same order was sent recently and its outcome is unknown: it may have been "
        f"placed. Check with {ctx.check_hint()}; to place it again anyway, run this "
        "command on a terminal and confirm the duplicate warning (--yes alone does not)"
    )


async def confirm_price(ctx: Context, args: Namespace) -> ExitCode:
    """A person stands behind a service's price per unit: it bounds its orders under a
    spend cap (shared by the MCP server, through the ledger) and lifts a hold."""
    async with ctx.client() as client:
        guard = await ctx.open_guard(client)
        service_id = positive_int(args.service_id, "service_id")
        price: object = args.unit_price
        seen = ""
        if price is None:
            offer = guard.price_offer(service_id)
            if offer is None:
                raise CliError(
                    f"no price was seen for service {service_id} in this environment: "
                    f"give the price per unit, e.g. "
                    f"`{ctx.command_hint(f'confirm-price {service_id} 2.5', ledger=True)}`",
                    ExitCode.USAGE,
                )
            price, seen = offer[0], f" ({offer[1]})"
        question = (
            f"Bound the orders of service {service_id} at {price} per unit{seen}? An order "
            "then reserves its count times this price against the spend cap. [y/N] "
        )
        confirmed_by = _price_confirmed_by(ctx, question)
        confirmed = await guard.confirm_price(service_id, price, confirmed_by=confirmed_by)
    ctx.emit(
        {"service_id": service_id, "unit_price": confirmed},
        f"Service {service_id}: orders are now bounded at {amount_text(confirmed)} per unit.",
    )
    return ExitCode.OK


def _price_confirmed_by(ctx: Context, question: str) -> str:
    """Who stands behind the price: ``--yes``, or the person asked at the terminal."""
    if ctx.args.yes:
        return CONFIRMED_BY_FLAG
    if not sys.stdin.isatty():
        raise CliError(
            "refusing to confirm a price without a person: no terminal to ask; pass --yes",
            ExitCode.CANCELLED,
        )
    if not _yes(question, ctx.screen):
        raise CliError("price not confirmed", ExitCode.CANCELLED)
    return CONFIRMED_AT_PROMPT


def _yes(question: str, screen: TextIO) -> bool:
    """Ask on ``screen`` and read an answer; only y or yes is yes. Ctrl-C or end of input
    is no. asyncio's own Ctrl-C handling would only cancel the command once the answer
    came, so Python's is back while asking."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        print(question, end="", file=screen, flush=True)
        answer = sys.stdin.readline()
    except KeyboardInterrupt:
        answer = ""
    finally:
        signal.signal(signal.SIGINT, previous)
    if not answer.endswith("\n"):  # no answer: end the question's line
        print(file=screen)
    return answer.strip().lower() in ("y", "yes")


async def cancel(ctx: Context, args: Namespace) -> ExitCode:
    order_id = positive_int(args.order_id, "order_id")
    async with ctx.client() as client:
        await client.cancel_order(order_id)
    ctx.emit({"order_id": order_id, "canceled": True}, f"Order {order_id} canceled.")
    return ExitCode.OK


async def recheck(ctx: Context, args: Namespace) -> ExitCode:
    order_id = positive_int(args.order_id, "order_id")
    async with ctx.client() as client:
        await client.recheck_order(order_id)
    ctx.emit({"order_id": order_id, "rechecked": True}, f"Order {order_id} sent to recheck.")
    return ExitCode.OK


ORDER = Command(
    "order",
    "place an order (spends credit)",
    order,
    options=(
        SERVICE_ID,
        Option("link", "the Instagram page or post, e.g. https://www.instagram.com/x"),
        Option("count", "how many (likes, followers, views...)"),
        YES,
    ),
    guard_options=True,
    interrupted=order_interrupted,
)
CONFIRM_PRICE = Command(
    "confirm-price",
    "stand behind a service's price per unit: it bounds its orders under a spend cap",
    confirm_price,
    options=(
        SERVICE_ID,
        Option(
            "unit_price",
            "price per unit in the account's currency (default: the price the service was "
            "seen to charge, shown before you confirm)",
            optional=True,
        ),
        YES,
    ),
    guard_options=True,
)
CANCEL = Command("cancel", "cancel an order (not in the sandbox)", cancel, options=(ORDER_ID,))
RECHECK = Command(
    "recheck", "ask to re-check an order (not in the sandbox)", recheck, options=(ORDER_ID,)
)
